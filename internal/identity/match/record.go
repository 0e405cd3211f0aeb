package match

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Record is one profile as the matcher sees it: person or contact data, every
// field optional. The caller fills it from normalised profiles (or ReadCSV);
// the matcher lower-cases, strips accents and punctuation itself, so raw
// values are fine.
type Record struct {
	// ID identifies the record in the caller's world (profile id, CSV row id).
	// It is carried through, never compared.
	ID string

	GivenName string
	Surname   string
	// FullName is used when the source has a single name field (an
	// organisation's site name, "Jane Q. Doe"). When GivenName or Surname is
	// set, FullName is ignored for the split-name comparisons and only used
	// against records that have no split name.
	FullName string

	BirthDate Date

	StreetNumber string
	// AddressLines are the street lines (street name, building, lieu-dit).
	// A leading house number in the first line is split into StreetNumber
	// when StreetNumber is empty.
	AddressLines []string
	Locality     string // suburb, city, commune
	PostalCode   string
	Region       string // state, region, département

	// Phone is an E.164 string ("+61412345678") when known, otherwise any
	// national form: only its digits are compared.
	Phone string
	// Email is the e-mail key (already lower-cased and canonicalised by the
	// caller when it can).
	Email string
	// ExternalID is an optional customer, loyalty or account number issued by
	// the business. Two different values weigh against a match only as much
	// as EM finds they should; a missing one is neutral.
	ExternalID string
}

// Date is a possibly partial calendar date: a zero part is unknown. No
// validation is done (a typo may give month 13) because the comparison works
// on the digits.
type Date struct {
	Year, Month, Day int
}

// IsZero reports whether nothing of the date is known.
func (d Date) IsZero() bool { return d.Year == 0 && d.Month == 0 && d.Day == 0 }

// ParseDate reads YYYYMMDD, YYYY-MM-DD, YYYY/MM/DD, YYYY-MM or YYYY. It
// returns the zero Date for anything else (an unknown date is neutral).
func ParseDate(s string) Date {
	s = strings.TrimSpace(s)
	var digits []byte
	seps := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == '-' || c == '/' || c == '.':
			seps++
		default:
			return Date{}
		}
	}
	atoi := func(b []byte) int {
		n := 0
		for _, c := range b {
			n = n*10 + int(c-'0')
		}
		return n
	}
	if seps > 0 {
		parts := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '/' || r == '.' })
		if len(parts) == 0 || len(parts[0]) != 4 {
			return Date{}
		}
		var d Date
		d.Year = atoi([]byte(parts[0]))
		if len(parts) > 1 && len(parts[1]) <= 2 {
			d.Month = atoi([]byte(parts[1]))
		}
		if len(parts) > 2 && len(parts[2]) <= 2 {
			d.Day = atoi([]byte(parts[2]))
		}
		return d
	}
	switch len(digits) {
	case 8:
		return Date{Year: atoi(digits[:4]), Month: atoi(digits[4:6]), Day: atoi(digits[6:])}
	case 6:
		return Date{Year: atoi(digits[:4]), Month: atoi(digits[4:])}
	case 4:
		return Date{Year: atoi(digits)}
	}
	return Date{}
}

// token is a vocabulary id with its inverse-document-frequency weight.
type token struct {
	id uint32
	w  float32
}

// prepared is a Record normalised once for comparison. Token slices hold
// sorted, distinct vocabulary ids so that overlap is a merge, not a map.
type prepared struct {
	given, surname string
	nick           uint64 // nickname groups of given
	full           string // own full name, or given+surname when split
	split          bool   // has a given name or a surname
	// bGiven and bSurname are what the name blocking keys read: the split
	// names, or else the first and last words of the full name, so that a
	// source with one name field still meets the name rules.
	bGiven, bSurname string
	fullTok          []token
	fullW            float32 // sum of fullTok weights

	dob    Date
	dobKey [8]byte // YYYYMMDD digits, '0' for unknown parts
	hasDOB bool

	streetNo     string
	addr1, addr2 string
	addrKey      string // all lines joined: the exact-level key
	addrTok      []token
	addrW        float32

	locality, postcode, region string

	phone  string // digits only
	email  string
	extID  string
	tfFull float32 // term frequencies, filled by the vocabulary pass
	tfGiv  float32
	tfSur  float32
	tfLoc  float32
	tfAddr float32
}

// normText lower-cases, strips accents, drops apostrophes and turns every
// other non-alphanumeric rune into one space, so "O'Brien-Smith " and
// "obrien smith" compare equal.
func normText(s string) string {
	if s == "" {
		return ""
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		s = norm.NFKD.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == '\'' || r == '’' || r == '`':
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
		default:
			space = true
		}
	}
	return b.String()
}

// streetWords maps street types and directions to one spelling, so that
// "1845 East 79th Street" and "1845 E. 79th St." agree exactly. Types are
// English and French because those are the markets we ship for first.
var streetWords = map[string]string{
	"street": "st", "str": "st", "avenue": "ave", "av": "ave", "road": "rd",
	"boulevard": "blvd", "bd": "blvd", "boul": "blvd", "drive": "dr",
	"place": "pl", "court": "ct", "crescent": "cres", "cr": "cres",
	"lane": "ln", "parkway": "pkwy", "highway": "hwy", "terrace": "tce",
	"circuit": "cct", "close": "cl", "square": "sq", "mount": "mt",
	"east": "e", "west": "w", "north": "n", "south": "s",
	"saint": "st", "chemin": "ch", "route": "rte", "allee": "all",
	"impasse": "imp", "faubourg": "fbg",
}

// streetNoise are tokens that say little about which street it is: they are
// left out of the token overlap (but kept for the exact and Jaro-Winkler
// levels).
var streetNoise = map[string]bool{
	"st": true, "ave": true, "rd": true, "blvd": true, "dr": true, "pl": true,
	"ct": true, "cres": true, "ln": true, "pkwy": true, "hwy": true, "tce": true,
	"cct": true, "cl": true, "sq": true, "e": true, "w": true, "n": true,
	"s": true, "rue": true, "ch": true, "rte": true, "all": true, "imp": true,
	"de": true, "la": true, "du": true, "des": true, "le": true, "the": true,
}

func normAddress(s string) string {
	s = normText(s)
	if s == "" {
		return ""
	}
	f := strings.Fields(s)
	for i, w := range f {
		if c, ok := streetWords[w]; ok {
			f[i] = c
		}
	}
	return strings.Join(f, " ")
}

// splitHouseNumber takes a leading house number ("27", "12b", "4-6") off an
// address line.
func splitHouseNumber(line string) (num, rest string) {
	i := strings.IndexByte(line, ' ')
	if i <= 0 {
		return "", line
	}
	w := line[:i]
	if w[0] < '0' || w[0] > '9' || len(w) > 6 {
		return "", line
	}
	return w, line[i+1:]
}

func digitsOnly(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

func compact(s string) string { return strings.ReplaceAll(normText(s), " ", "") }

// prepare normalises one record. Token ids and term frequencies are filled
// later by the vocabulary pass, which needs the whole batch.
func prepare(r *Record) prepared {
	var p prepared
	p.given = normText(r.GivenName)
	p.surname = normText(r.Surname)
	p.nick = nicknameMask(p.given)
	p.split = p.given != "" || p.surname != ""
	if p.split {
		p.full = strings.TrimSpace(p.given + " " + p.surname)
	} else {
		p.full = normText(r.FullName)
	}

	p.bGiven, p.bSurname = p.given, p.surname
	if !p.split {
		if f := strings.Fields(p.full); len(f) > 0 {
			p.bGiven = f[0]
			if len(f) > 1 {
				p.bSurname = f[len(f)-1]
			}
		}
	}

	d := r.BirthDate
	if !d.IsZero() {
		p.dob = d
		p.hasDOB = d.Year > 0
		putDigits(p.dobKey[:4], d.Year)
		putDigits(p.dobKey[4:6], d.Month)
		putDigits(p.dobKey[6:], d.Day)
	}

	p.streetNo = compact(r.StreetNumber)
	var lines []string
	for _, l := range r.AddressLines {
		if n := normAddress(l); n != "" {
			lines = append(lines, n)
		}
	}
	if len(lines) > 0 && p.streetNo == "" {
		num, rest := splitHouseNumber(lines[0])
		if num != "" {
			p.streetNo = num
			lines[0] = rest
		}
	}
	if len(lines) > 0 {
		p.addr1 = lines[0]
	}
	if len(lines) > 1 {
		p.addr2 = strings.Join(lines[1:], " ")
	}
	p.addrKey = strings.Join(lines, " | ")

	p.locality = normText(r.Locality)
	p.postcode = compact(r.PostalCode)
	p.region = normText(r.Region)
	p.phone = digitsOnly(r.Phone)
	if len(p.phone) < 7 {
		p.phone = "" // too short to be a phone number: a spreadsheet artefact
	}
	p.email = strings.ToLower(strings.TrimSpace(r.Email))
	p.extID = compact(r.ExternalID)
	return p
}

func putDigits(dst []byte, v int) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}
