package quality

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Phone reason codes.
const (
	ReasonPhoneNotNumber    = "not_a_number"    // letters or no digits
	ReasonPhoneTooShort     = "too_short"       // fewer digits than any number of the region
	ReasonPhoneTooLongNum   = "too_long_number" // more digits than any number of the region
	ReasonPhoneUnknownCode  = "unknown_country_code"
	ReasonPhoneInvalid      = "invalid_number"     // right length, unallocated range
	ReasonPhoneRehomed      = "overseas_rehomed"   // +33 / 0 number moved to its overseas country code
	ReasonPhoneTrunkRemoved = "trunk_zero_removed" // "+33 (0)6…" or "+33 06…"
	ReasonPhoneMissingZero  = "missing_trunk_zero" // 9-digit French number typed without its 0
	ReasonPhoneMissingPlus  = "missing_plus"       // "33612345678"
	ReasonPhoneExtension    = "extension"          // "poste 214" stored in Extension
	ReasonPhoneMultiple     = "multiple_numbers"   // only the first was kept
	ReasonPhonePlaceholder  = "placeholder"        // 06 00 00 00 00 and the like
	ReasonPhoneLabel        = "unwrapped"          // "Tél. :" and similar removed
)

// PhoneResult is Phone's output. Value and Key are both the E.164 form.
type PhoneResult struct {
	Result
	Type      string `json:"type,omitempty"`      // see the Phone* type constants
	Region    string `json:"region,omitempty"`    // ISO 3166-1 region of the number (FR, GP, RE…)
	National  string `json:"national,omitempty"`  // national display form, "06 12 34 56 78"
	Extension string `json:"extension,omitempty"` // digits after "poste", "ext", "#"…
	Possible  bool   `json:"possible"`            // the length fits the region
}

// DefaultRegion is the workspace default used when neither the number nor
// the caller says which country a national number belongs to.
const DefaultRegion = "FR"

// maxPhoneDigits bounds the digits looked at (E.164 allows 15; extensions
// and two numbers typed together stay below this).
const maxPhoneDigits = 40

// Phone normalises a phone number to E.164. region is the default region
// for national numbers: the profile's country when known, else "" for the
// workspace default (FR). French overseas numbers typed in the 10-digit
// national form (0590…, 0262…, 0692…) and those wrongly typed as +33 are
// re-homed to their own country codes (+590, +262, +596, +594, +508).
//
// Status: valid when libphonenumber's metadata validates the number;
// corrected when the input had to be repaired (re-homed, trunk zero removed,
// "+" missing); suspect when the length is right but the range unallocated,
// or the input is doubtful (9 digits without the 0, a placeholder, two
// numbers in one field); invalid otherwise.
func Phone(raw, region string) PhoneResult {
	res := PhoneResult{Result: Result{Raw: raw, Status: StatusValid}}
	s, reasons := Sanitize(raw, 128)
	for _, r := range reasons {
		res.addReason(r)
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	if region == "" || len(region) != 2 {
		region = DefaultRegion
	}
	if s == "" {
		res.Result = invalid(res.Result, ReasonEmpty)
		return res
	}
	p, ok := scanPhone(s)
	if !ok {
		// Letters that are not an extension: vanity numbers and the like.
		// The library knows the keypad mapping; let it try.
		return libraryPhone(res, s, region, "")
	}
	if p.label {
		res.addReason(ReasonPhoneLabel)
	}
	if p.multiple {
		res.addReason(ReasonPhoneMultiple)
		res.raise(StatusSuspect)
	}
	if p.ext != "" {
		res.Extension = p.ext
		res.addReason(ReasonPhoneExtension)
	}
	d := p.digits
	if d == "" {
		res.Result = invalid(res.Result, ReasonPhoneNotNumber)
		return res
	}
	if len(d) > maxPhoneDigits {
		res.Result = invalid(res.Result, ReasonPhoneTooLongNum)
		return res
	}
	intl := p.plus
	if !intl && strings.HasPrefix(d, "00") {
		intl, d = true, d[2:]
	}
	if intl {
		cc, nsn := splitCountryCode(d)
		if cc == 0 {
			res.Result = invalid(res.Result, ReasonPhoneUnknownCode)
			return res
		}
		if !frenchFamilyCodes[cc] {
			return libraryPhone(res, "+"+d, region, p.ext)
		}
		return familyPhone(res, cc, nsn, true)
	}
	if !frenchFamily[region] {
		return libraryPhone(res, d, region, p.ext)
	}
	switch {
	case len(d) == 11 && strings.HasPrefix(d, "33"):
		res.addReason(ReasonPhoneMissingPlus)
		res.raise(StatusCorrected)
		return familyPhone(res, 33, d[2:], true)
	case len(d) == 9 && d[0] != '0':
		res.addReason(ReasonPhoneMissingZero)
		res.raise(StatusSuspect)
		d = "0" + d
	}
	if d[0] != '0' {
		if len(d) < 9 {
			res.Result = invalid(res.Result, ReasonPhoneTooShort)
		} else {
			res.Result = invalid(res.Result, ReasonPhoneTooLongNum)
		}
		return res
	}
	nsn := d[1:]
	cc := phonenumbers.GetCountryCodeForRegion(region)
	if target, tnsn := overseasTarget(nsn); target != 0 {
		cc, nsn = target, tnsn
	} else if cc != 33 {
		// An overseas profile with a metropolitan number.
		if m, t := familyRegion(cc, nsn); m == nil || t == PhoneUnknown {
			if fr := phoneMeta("FR"); fr.typeOf(nsn) != PhoneUnknown {
				cc = 33
			}
		}
	}
	return familyPhone(res, cc, nsn, false)
}

// scanned is a phone string reduced to its digits.
type scanned struct {
	digits   string
	ext      string
	plus     bool
	label    bool // a leading "Tél :" was dropped
	multiple bool // a second number was dropped
}

// scanPhone keeps the digits, a leading "+", and splits off an extension
// ("poste 214", "p. 214", "ext. 214", "x214", "#214"). "(0)" after a country
// code is dropped, as the national trunk prefix never belongs in an
// international number. It fails when letters remain that are not an
// extension marker.
func scanPhone(s string) (scanned, bool) {
	var p scanned
	f, _ := Fold(s)
	// A leading label ("TEL", "PORTABLE :", "MOB.") is common in CRM exports.
	i := 0
	for i < len(f) && !(f[i] >= '0' && f[i] <= '9') && f[i] != '+' && f[i] != '(' {
		i++
	}
	if i > 0 {
		head := strings.Trim(f[:i], " .:-/")
		if head != "" {
			if !isPhoneLabel(head) {
				return p, false
			}
			p.label = true
		}
		f = f[i:]
	}
	f = strings.ReplaceAll(f, "(0)", "")
	var b strings.Builder
	b.Grow(len(f))
	groupDigits := 0
	for j := 0; j < len(f); j++ {
		c := f[j]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
			groupDigits++
		case c == '+':
			if b.Len() == 0 && !p.plus {
				p.plus = true
			} else if b.Len() >= 9 {
				// "+33 6… / +33 1…": a second number.
				p.multiple = true
				p.digits = b.String()
				return p, true
			}
		case c == ' ' || c == '.' || c == '-' || c == '(' || c == ')' || c == '\'':
		case c == '/' || c == ';' || c == ',' || c == '|':
			// A separator after a complete number starts a second one.
			if b.Len() >= 9 && hasDigitAfter(f[j+1:], 6) {
				p.multiple = true
				p.digits = b.String()
				return p, true
			}
		default:
			ext, ok := extensionOf(f[j:])
			if !ok {
				// "06 12 34 56 78 OU 01 …"
				if b.Len() >= 9 && strings.HasPrefix(strings.TrimSpace(f[j:]), "OU ") {
					p.multiple = true
					p.digits = b.String()
					return p, true
				}
				return p, false
			}
			p.ext = ext
			p.digits = b.String()
			return p, true
		}
	}
	p.digits = b.String()
	return p, true
}

func hasDigitAfter(s string, n int) bool {
	c := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			c++
		}
	}
	return c >= n
}

var phoneLabels = map[string]bool{
	"TEL": true, "TEL.": true, "TELEPHONE": true, "PHONE": true, "MOBILE": true, "MOB": true,
	"MOB.": true, "PORTABLE": true, "PORT": true, "PORT.": true, "GSM": true, "FIXE": true,
	"DOMICILE": true, "BUREAU": true, "PRO": true, "PERSO": true, "CELL": true, "FAX": true,
	"TEL PORTABLE": true, "TEL FIXE": true, "TEL MOBILE": true, "TEL.PORTABLE": true,
}

func isPhoneLabel(head string) bool {
	head = strings.Join(strings.Fields(strings.ReplaceAll(head, ":", " ")), " ")
	return phoneLabels[head] || phoneLabels[strings.TrimSuffix(head, ".")]
}

// extensionOf parses "POSTE 214", "P. 214", "P214", "EXT 214", "EXT. 214",
// "EXTENSION 214", "X214", "#214", ";EXT=214".
func extensionOf(s string) (string, bool) {
	s = strings.TrimLeft(s, " ;,")
	for _, m := range []string{"EXTENSION", "POSTE", "EXT=", "EXT", "P", "X", "#"} {
		if strings.HasPrefix(s, m) {
			rest := strings.TrimLeft(s[len(m):], " .:=")
			if rest == "" || len(rest) > 8 {
				return "", false
			}
			for i := 0; i < len(rest); i++ {
				if rest[i] < '0' || rest[i] > '9' {
					return "", false
				}
			}
			return rest, true
		}
	}
	return "", false
}

// splitCountryCode takes the 1–3 digit calling code off an international
// number, using the codes the library supports.
func splitCountryCode(d string) (int, string) {
	codes := phonenumbers.GetSupportedCallingCodes()
	for l := 1; l <= 3 && l < len(d); l++ {
		cc, err := strconv.Atoi(d[:l])
		if err != nil || d[0] == '0' {
			return 0, ""
		}
		if codes[cc] {
			return cc, d[l:]
		}
	}
	return 0, ""
}

// overseasTarget maps a French national significant number with an
// overseas prefix (rnvp.md §4.1) to its country code. Saint-Pierre-et-
// Miquelon's 0508 prefix carries a 6-digit national number.
func overseasTarget(nsn string) (int, string) {
	if len(nsn) != 9 {
		return 0, ""
	}
	switch nsn[:3] {
	case "590", "690", "691":
		return 590, nsn
	case "594", "694":
		return 594, nsn
	case "596", "696", "697":
		return 596, nsn
	case "262", "263", "692", "693", "269", "639":
		return 262, nsn
	case "508":
		return 508, nsn[3:]
	}
	return 0, ""
}

// familyRegion picks the region of a family calling code that validates
// nsn (with the number's type), or its main region and PhoneUnknown.
func familyRegion(cc int, nsn string) (*regionMeta, string) {
	regions := phonenumbers.GetRegionCodesForCountryCode(cc)
	var first *regionMeta
	for _, r := range regions {
		m := phoneMeta(r)
		if m == nil {
			continue
		}
		if first == nil {
			first = m
		}
		if t := m.typeOf(nsn); t != PhoneUnknown {
			return m, t
		}
	}
	return first, PhoneUnknown
}

// familyPhone finishes a French-family number given its calling code and
// national significant number.
func familyPhone(res PhoneResult, cc int, nsn string, intl bool) PhoneResult {
	if intl {
		// "+33 06…" or "+33 (0)6…" (the "(0)" is gone already).
		if len(nsn) == 10 && nsn[0] == '0' {
			nsn = nsn[1:]
			res.addReason(ReasonPhoneTrunkRemoved)
			res.raise(StatusCorrected)
		}
		if cc == 33 {
			if target, tnsn := overseasTarget(nsn); target != 0 {
				cc, nsn = target, tnsn
				res.addReason(ReasonPhoneRehomed)
				res.raise(StatusCorrected)
			}
		}
	}
	m, typ := familyRegion(cc, nsn)
	if m == nil {
		res.Result = invalid(res.Result, ReasonPhoneUnknownCode)
		return res
	}
	res.Region = m.id
	res.Possible = m.possible(nsn)
	if !res.Possible {
		min := 99
		for _, l := range m.general.lengths {
			min = minInt(min, int(l))
		}
		if len(nsn) < min {
			res.Result = invalid(res.Result, ReasonPhoneTooShort)
		} else {
			res.Result = invalid(res.Result, ReasonPhoneTooLongNum)
		}
		res.Region = ""
		return res
	}
	res.Type = typ
	e164 := "+" + strconv.Itoa(cc) + nsn
	res.Value, res.Key = e164, e164
	res.National = frenchNational(cc, nsn)
	if res.Type == PhoneUnknown {
		res.addReason(ReasonPhoneInvalid)
		res.raise(StatusSuspect)
	}
	if placeholder(nsn) {
		res.addReason(ReasonPhonePlaceholder)
		res.raise(StatusSuspect)
	}
	return res
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// frenchNational renders the domestic form: pairs for metropolitan numbers
// ("06 12 34 56 78"), 4-2-2-2 for overseas ones ("0690 12 34 56").
func frenchNational(cc int, nsn string) string {
	n := "0" + nsn
	if cc == 508 {
		n = "0508" + nsn
	}
	if len(n) != 10 {
		return n
	}
	if cc == 33 {
		return n[0:2] + " " + n[2:4] + " " + n[4:6] + " " + n[6:8] + " " + n[8:10]
	}
	return n[0:4] + " " + n[4:6] + " " + n[6:8] + " " + n[8:10]
}

// placeholder spots numbers made of one repeated digit after the prefix
// (06 00 00 00 00, 01 11 11 11 11).
func placeholder(nsn string) bool {
	if len(nsn) < 6 {
		return false
	}
	tail := nsn[1:]
	for i := 1; i < len(tail); i++ {
		if tail[i] != tail[0] {
			return false
		}
	}
	return true
}

// libraryPhone handles everything outside the French family through
// nyaruka/phonenumbers (slower, complete).
func libraryPhone(res PhoneResult, s, region, ext string) PhoneResult {
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		reason := ReasonPhoneNotNumber
		switch err {
		case phonenumbers.ErrInvalidCountryCode:
			reason = ReasonPhoneUnknownCode
		case phonenumbers.ErrTooShortNSN, phonenumbers.ErrTooShortAfterIDD:
			reason = ReasonPhoneTooShort
		case phonenumbers.ErrNumTooLong:
			reason = ReasonPhoneTooLongNum
		}
		res.Result = invalid(res.Result, reason)
		return res
	}
	if e := num.GetExtension(); e != "" && ext == "" {
		res.Extension = e
		res.addReason(ReasonPhoneExtension)
	}
	num.Extension = nil
	if !phonenumbers.IsPossibleNumber(num) {
		reason := ReasonPhoneTooShort
		if phonenumbers.IsPossibleNumberWithReason(num) == phonenumbers.TOO_LONG {
			reason = ReasonPhoneTooLongNum
		}
		res.Result = invalid(res.Result, reason)
		return res
	}
	res.Possible = true
	res.Region = phonenumbers.GetRegionCodeForNumber(num)
	res.Type = libType(phonenumbers.GetNumberType(num))
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	res.Value, res.Key = e164, e164
	res.National = phonenumbers.Format(num, phonenumbers.NATIONAL)
	if !phonenumbers.IsValidNumber(num) {
		res.Type = PhoneUnknown
		res.addReason(ReasonPhoneInvalid)
		res.raise(StatusSuspect)
	}
	if placeholder(phonenumbers.GetNationalSignificantNumber(num)) {
		res.addReason(ReasonPhonePlaceholder)
		res.raise(StatusSuspect)
	}
	return res
}
