package match

import (
	"strings"

	"github.com/hbollon/go-edlib"
)

// Comparison turns one aspect of a pair of records into a level: 0 when a
// value is missing on either side (neutral), 1 for the strongest agreement,
// len(Levels) for disagreement. The built-in comparisons are listed by
// Comparisons; a Config selects them by name.
type Comparison struct {
	// Name is the stable identifier used in configuration and explanations
	// ("surname", "birth_date").
	Name string
	// Levels names levels 1..n, strongest first; level 0 is always "missing".
	Levels []string
	// TF is true when the exact level is adjusted by the frequency of the
	// shared value (a shared "martin" says less than a shared "zylberstein").
	TF bool

	level func(a, b *prepared) uint8
	tf    func(p *prepared) float32
}

// Level names shared by several comparisons.
const (
	lvExact = "exact"
	lvElse  = "different"
)

// Comparison names of the default person configuration.
const (
	CmpGivenName    = "given_name"
	CmpSurname      = "surname"
	CmpFullName     = "full_name"
	CmpBirthDate    = "birth_date"
	CmpStreetNumber = "street_number"
	CmpAddress      = "address"
	CmpLocality     = "locality"
	CmpPostalCode   = "postal_code"
	CmpRegion       = "region"
	CmpPhone        = "phone"
	CmpEmail        = "email"
	CmpExternalID   = "external_id"
)

// maxLevels bounds the levels of a comparison (including level 0) so that a
// comparison vector packs into 4 bits per comparison of a uint64.
const maxLevels = 16

// maxComparisons is how many 4-bit levels fit in a pattern.
const maxComparisons = 16

// Comparisons returns every built-in comparison, in the default order.
func Comparisons() []Comparison {
	return []Comparison{
		{Name: CmpGivenName, TF: true, level: cmpGiven, tf: func(p *prepared) float32 { return p.tfGiv },
			Levels: []string{lvExact, "jaro-winkler >= 0.92 or swapped with surname", "jaro-winkler >= 0.80, initial or nickname", lvElse}},
		{Name: CmpSurname, TF: true, level: cmpSurname, tf: func(p *prepared) float32 { return p.tfSur },
			Levels: []string{lvExact, "jaro-winkler >= 0.92 or swapped with given name", "jaro-winkler >= 0.80", lvElse}},
		{Name: CmpFullName, TF: true, level: cmpFull, tf: func(p *prepared) float32 { return p.tfFull },
			Levels: []string{lvExact, "jaro-winkler >= 0.92 or token overlap >= 0.9", "token overlap >= 0.6", "token overlap >= 0.3 or jaro-winkler >= 0.80", lvElse}},
		{Name: CmpBirthDate, level: cmpDOB,
			Levels: []string{lvExact, "one digit off or day and month swapped", "same year", lvElse}},
		{Name: CmpStreetNumber, level: cmpEditID,
			Levels: []string{lvExact, "one edit apart", lvElse}},
		{Name: CmpAddress, TF: true, level: cmpAddress, tf: func(p *prepared) float32 { return p.tfAddr },
			Levels: []string{lvExact, "a line with jaro-winkler >= 0.92", "token overlap >= 0.5 or jaro-winkler >= 0.80", lvElse}},
		{Name: CmpLocality, TF: true, level: cmpLocality, tf: func(p *prepared) float32 { return p.tfLoc },
			Levels: []string{lvExact, "jaro-winkler >= 0.90", lvElse}},
		{Name: CmpPostalCode, level: cmpPostcode,
			Levels: []string{lvExact, "one edit apart", lvElse}},
		{Name: CmpRegion, level: cmpRegion,
			Levels: []string{lvExact, lvElse}},
		{Name: CmpPhone, level: cmpPhone,
			Levels: []string{lvExact, "same last 7 digits", "one edit apart", lvElse}},
		{Name: CmpEmail, level: cmpEmail,
			Levels: []string{lvExact, "same local part or jaro-winkler >= 0.92", lvElse}},
		{Name: CmpExternalID, level: cmpExtID,
			Levels: []string{lvExact, "one edit apart", lvElse}},
	}
}

// jw is the Jaro-Winkler similarity of a and b, or 0 when it is provably
// below floor. The proof is a cheap bound: Jaro counts at most the letters
// the strings share, so (s/|a| + s/|b| + 1)/3 with s the size of the
// multiset intersection bounds it, and Winkler's prefix bonus is then added
// to that bound. Most pairs in a block differ at once, and the bound spares
// them the library call and its allocations.
func jw(a, b string, floor float32) float32 {
	if jwUpperBound(a, b) < floor {
		return 0
	}
	return edlib.JaroWinklerSimilarity(a, b)
}

func jwUpperBound(a, b string) float32 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	// Characters are counted modulo 32: letters keep their own slot and a
	// collision can only overcount what is shared, which keeps the bound.
	var counts [32]uint16
	for i := 0; i < len(a); i++ {
		if a[i] >= 128 {
			return 1 // not ASCII: lengths are not rune counts; no bound
		}
		counts[a[i]&31]++
	}
	shared := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 128 {
			return 1
		}
		if counts[c&31] > 0 {
			counts[c&31]--
			shared++
		}
	}
	s := float32(shared)
	j := (s/float32(len(a)) + s/float32(len(b)) + 1) / 3
	prefix := 0
	for prefix < 4 && prefix < len(a) && prefix < len(b) && a[prefix] == b[prefix] {
		prefix++
	}
	return j + 0.1*float32(prefix)*(1-j)
}

// withinOneEdit reports an optimal-string-alignment distance of at most 1
// (one insertion, deletion, substitution or adjacent transposition). One
// edit leaves at most two characters of each string outside their common
// prefix and suffix, so anything else is refused before the library call.
func withinOneEdit(a, b string) bool {
	d := len(a) - len(b)
	if d < -1 || d > 1 {
		return false
	}
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	ea, eb := len(a), len(b)
	for ea > p && eb > p && a[ea-1] == b[eb-1] {
		ea--
		eb--
	}
	if ea-p > 2 || eb-p > 2 {
		return false
	}
	return edlib.OSADamerauLevenshteinDistance(a, b) <= 1
}

func isInitialOf(a, b string) bool {
	return len(a) == 1 && len(b) > 1 && b[0] == a[0]
}

func cmpGiven(a, b *prepared) uint8 {
	if a.given == "" || b.given == "" {
		return 0
	}
	if a.given == b.given {
		return 1
	}
	if a.surname != "" && a.given == b.surname && a.surname == b.given {
		return 2
	}
	s := jw(a.given, b.given, 0.80)
	switch {
	case s >= 0.92:
		return 2
	case s >= 0.80 || isInitialOf(a.given, b.given) || isInitialOf(b.given, a.given) || a.nick&b.nick != 0:
		return 3
	}
	return 4
}

func cmpSurname(a, b *prepared) uint8 {
	if a.surname == "" || b.surname == "" {
		return 0
	}
	if a.surname == b.surname {
		return 1
	}
	if a.given != "" && a.given == b.surname && a.surname == b.given {
		return 2
	}
	s := jw(a.surname, b.surname, 0.80)
	switch {
	case s >= 0.92:
		return 2
	case s >= 0.80:
		return 3
	}
	return 4
}

// cmpFull compares single-field names. It stays neutral when both records
// have a split name: the given-name and surname comparisons already carry
// that evidence, and counting it twice would break the independence the
// model assumes.
func cmpFull(a, b *prepared) uint8 {
	if a.full == "" || b.full == "" || (a.split && b.split) {
		return 0
	}
	if a.full == b.full {
		return 1
	}
	ov := overlap(a.fullTok, b.fullTok, a.fullW, b.fullW)
	if ov >= 0.9 {
		return 2
	}
	s := jw(a.full, b.full, 0.80)
	switch {
	case s >= 0.92:
		return 2
	case ov >= 0.6:
		return 3
	case ov >= 0.3 || s >= 0.80:
		return 4
	}
	return 5
}

// overlap is the weighted overlap coefficient: the weight of the shared
// tokens over the weight of the lighter token set. It is 1 when one name is
// contained in the other ("linne" in "chicago public schools linne carl"),
// and the inverse-document-frequency weights make a shared "school" count for
// little.
func overlap(a, b []token, wa, wb float32) float32 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	var shared float32
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i].id == b[j].id:
			shared += a[i].w
			i++
			j++
		case a[i].id < b[j].id:
			i++
		default:
			j++
		}
	}
	den := min(wa, wb)
	if den <= 0 {
		return 0
	}
	return shared / den
}

func cmpDOB(a, b *prepared) uint8 {
	if !a.hasDOB || !b.hasDOB {
		return 0
	}
	x, y := a.dob, b.dob
	full := x.Month > 0 && x.Day > 0 && y.Month > 0 && y.Day > 0
	if !full {
		// Partial dates only agree on what both know.
		if x.Year != y.Year {
			return 4
		}
		if x.Month > 0 && y.Month > 0 && x.Month != y.Month {
			return 4
		}
		if x.Day > 0 && y.Day > 0 && x.Day != y.Day {
			return 4
		}
		return 3
	}
	if x == y {
		return 1
	}
	if x.Year == y.Year && x.Month == y.Day && x.Day == y.Month {
		return 2
	}
	if withinOneEdit(string(a.dobKey[:]), string(b.dobKey[:])) {
		return 2
	}
	if x.Year == y.Year {
		return 3
	}
	return 4
}

func cmpEditID(a, b *prepared) uint8 { return editLevels(a.streetNo, b.streetNo) }

func cmpExtID(a, b *prepared) uint8 { return editLevels(a.extID, b.extID) }

func cmpPostcode(a, b *prepared) uint8 { return editLevels(a.postcode, b.postcode) }

// editLevels is exact / one edit apart / different.
func editLevels(x, y string) uint8 {
	switch {
	case x == "" || y == "":
		return 0
	case x == y:
		return 1
	case withinOneEdit(x, y):
		return 2
	}
	return 3
}

func cmpAddress(a, b *prepared) uint8 {
	if a.addrKey == "" || b.addrKey == "" {
		return 0
	}
	if a.addrKey == b.addrKey {
		return 1
	}
	// Lines may be swapped (street in line 2, building in line 1), so the
	// best pairing of lines counts.
	best := lineSim(a.addr1, b.addr1)
	if best < 0.92 {
		best = max(best, lineSim(a.addr1, b.addr2), lineSim(a.addr2, b.addr1))
	}
	if best >= 0.92 {
		return 2
	}
	if best >= 0.80 || overlap(a.addrTok, b.addrTok, a.addrW, b.addrW) >= 0.5 {
		return 3
	}
	return 4
}

func lineSim(x, y string) float32 {
	if x == "" || y == "" {
		return 0
	}
	if x == y {
		return 1
	}
	return jw(x, y, 0.80)
}

func cmpLocality(a, b *prepared) uint8 {
	switch {
	case a.locality == "" || b.locality == "":
		return 0
	case a.locality == b.locality:
		return 1
	case jw(a.locality, b.locality, 0.90) >= 0.90:
		return 2
	}
	return 3
}

func cmpRegion(a, b *prepared) uint8 {
	switch {
	case a.region == "" || b.region == "":
		return 0
	case a.region == b.region:
		return 1
	}
	return 2
}

// cmpPhone compares digits. The same last seven digits with different
// prefixes is its own level because sources drop the country or area code.
func cmpPhone(a, b *prepared) uint8 {
	x, y := a.phone, b.phone
	switch {
	case x == "" || y == "":
		return 0
	case x == y:
		return 1
	case len(x) >= 7 && len(y) >= 7 && x[len(x)-7:] == y[len(y)-7:]:
		return 2
	case withinOneEdit(x, y):
		return 3
	}
	return 4
}

func cmpEmail(a, b *prepared) uint8 {
	x, y := a.email, b.email
	switch {
	case x == "" || y == "":
		return 0
	case x == y:
		return 1
	}
	lx, _, okx := strings.Cut(x, "@")
	ly, _, oky := strings.Cut(y, "@")
	if (okx && oky && lx == ly) || jw(x, y, 0.92) >= 0.92 {
		return 2
	}
	return 3
}

// compareAll packs the levels of every comparison into a pattern, 4 bits per
// comparison, comparison k at bits 4k..4k+3.
func compareAll(cmps []Comparison, a, b *prepared) uint64 {
	var pat uint64
	for k := range cmps {
		pat |= uint64(cmps[k].level(a, b)) << (4 * uint(k))
	}
	return pat
}

// levelOf extracts comparison k's level from a pattern.
func levelOf(pat uint64, k int) int { return int(pat>>(4*uint(k))) & 0xF }
