package match

import (
	"math"
	"testing"
)

// prep normalises records the way Run does, vocabulary included.
func prep(recs ...Record) []prepared {
	return prepareAll(recs, 1)
}

func level(t *testing.T, name string, a, b Record) int {
	t.Helper()
	ps := prep(a, b)
	for _, c := range Comparisons() {
		if c.Name == name {
			return int(c.level(&ps[0], &ps[1]))
		}
	}
	t.Fatalf("no comparison %s", name)
	return -1
}

// The Jaro-Winkler values the name bands rest on, computed by hand:
// martha/marhta: 6 matches, 1 transposition, Jaro (1+1+5/6)/3 = 0.9444,
// prefix 3, JW 0.9444 + 0.3*0.0556 = 0.9611.
// dwayne/duane: 4 matches, Jaro (4/6+4/5+1)/3 = 0.8222, prefix 1, JW 0.84.
// dixon/dicksonx: 4 matches, Jaro (4/5+4/8+1)/3 = 0.7667, prefix 2, JW 0.8133.
func TestJaroWinklerHandValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"martha", "marhta", 0.9611},
		{"dwayne", "duane", 0.84},
		{"dixon", "dicksonx", 0.8133},
	} {
		if got := float64(jw(tc.a, tc.b, 0)); math.Abs(got-tc.want) > 1e-3 {
			t.Errorf("jw(%s,%s) = %.4f, want %.4f", tc.a, tc.b, got, tc.want)
		}
		if ub := float64(jwUpperBound(tc.a, tc.b)); ub < tc.want-1e-6 {
			t.Errorf("upper bound %.4f below jw %.4f for %s/%s", ub, tc.want, tc.a, tc.b)
		}
	}
	// The bound must let no pair through the floor test wrongly.
	if got := jw("sarah", "jacob", 0.8); got != 0 {
		t.Errorf("sarah/jacob above the floor: %v", got)
	}
}

func TestGivenNameLevels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b Record
		want int
	}{
		{Record{GivenName: "Martha"}, Record{GivenName: "martha "}, 1},
		{Record{GivenName: "martha"}, Record{GivenName: "marhta"}, 2},                                     // 0.9611
		{Record{GivenName: "dwayne"}, Record{GivenName: "duane"}, 3},                                      // 0.84
		{Record{GivenName: "bob"}, Record{GivenName: "robert"}, 3},                                        // nickname
		{Record{GivenName: "j"}, Record{GivenName: "john"}, 3},                                            // initial
		{Record{GivenName: "john"}, Record{GivenName: "mary"}, 4},                                         // different
		{Record{GivenName: "jane", Surname: "doe"}, Record{GivenName: "doe", Surname: "jane"}, 2},         // swapped
		{Record{}, Record{GivenName: "john"}, 0},                                                          // missing is neutral
		{Record{GivenName: "José"}, Record{GivenName: "jose"}, 1},                                         // accents
		{Record{GivenName: "Anne-Marie"}, Record{GivenName: "anne marie"}, 1},                             // punctuation
		{Record{GivenName: "o'neil", Surname: "x"}, Record{GivenName: "oneil", Surname: "y"}, 1},          // apostrophe
		{Record{GivenName: "elizabeth", Surname: "x"}, Record{GivenName: "beth", Surname: "x"}, 3},        // nickname again
		{Record{GivenName: "zachary", Surname: "smith"}, Record{GivenName: "smith", Surname: "jones"}, 4}, // half a swap is not a swap
	} {
		if got := level(t, CmpGivenName, tc.a, tc.b); got != tc.want {
			t.Errorf("%q vs %q: level %d, want %d", tc.a.GivenName, tc.b.GivenName, got, tc.want)
		}
	}
}

func TestSurnameLevels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"dixon", "dixon", 1},
		{"dunstone", "dunst ohe", 2},
		{"dixon", "dicksonx", 3}, // 0.8133
		{"dixon", "green", 4},
		{"", "green", 0},
	} {
		if got := level(t, CmpSurname, Record{Surname: tc.a}, Record{Surname: tc.b}); got != tc.want {
			t.Errorf("%q vs %q: level %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestFullNameLevels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b Record
		want int
	}{
		{Record{FullName: "Salvation Army Red Shield"}, Record{FullName: "SALVATION ARMY - RED SHIELD"}, 1},
		// "linne" is all of the shorter name: overlap 1.
		{Record{FullName: "Linne"}, Record{FullName: "Chicago Public Schools Linne, Carl Von"}, 2},
		{Record{FullName: "Salvation Army Red Shield"}, Record{FullName: "Bethel New Life"}, 5},
		// Split names on both sides: the split comparisons carry the evidence.
		{Record{GivenName: "jane", Surname: "doe"}, Record{GivenName: "jane", Surname: "doe"}, 0},
		// A split name against a single name compares the joined name.
		{Record{GivenName: "jane", Surname: "doe"}, Record{FullName: "Jane Doe"}, 1},
		{Record{FullName: "x"}, Record{}, 0},
	} {
		if got := level(t, CmpFullName, tc.a, tc.b); got != tc.want {
			t.Errorf("%+v vs %+v: level %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestOverlap(t *testing.T) {
	t.Parallel()
	a := []token{{1, 1}, {2, 3}, {5, 2}}
	b := []token{{2, 3}, {5, 2}, {9, 4}}
	// shared weight 3+2 = 5, lighter side 6: 5/6.
	if got := overlap(a, b, 6, 9); math.Abs(float64(got)-5.0/6) > 1e-6 {
		t.Errorf("overlap = %v, want 5/6", got)
	}
	if got := overlap(nil, b, 0, 9); got != 0 {
		t.Errorf("overlap with empty = %v", got)
	}
}

func TestBirthDateLevels(t *testing.T) {
	t.Parallel()
	d := func(y, m, dd int) Record { return Record{BirthDate: Date{y, m, dd}} }
	for _, tc := range []struct {
		a, b Record
		want int
	}{
		{d(1980, 5, 12), d(1980, 5, 12), 1},
		{d(1980, 5, 12), d(1980, 12, 5), 2}, // day and month swapped
		{d(1980, 5, 12), d(1980, 5, 13), 2}, // one digit
		{d(1980, 5, 12), d(1908, 5, 12), 2}, // adjacent transposition in the year
		{d(1980, 5, 12), d(1980, 7, 30), 3}, // same year
		{d(1980, 5, 12), d(1975, 7, 30), 4},
		{d(1980, 0, 0), d(1980, 5, 12), 3}, // year only: agrees on what both know
		{d(1980, 6, 0), d(1980, 5, 12), 4}, // known months differ
		{Record{}, d(1980, 5, 12), 0},
	} {
		if got := level(t, CmpBirthDate, tc.a, tc.b); got != tc.want {
			t.Errorf("%v vs %v: level %d, want %d", tc.a.BirthDate, tc.b.BirthDate, got, tc.want)
		}
	}
}

func TestEditLevels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmp  string
		a, b Record
		want int
	}{
		{CmpPostalCode, Record{PostalCode: "3190"}, Record{PostalCode: "3190"}, 1},
		{CmpPostalCode, Record{PostalCode: "3190"}, Record{PostalCode: "3910"}, 2}, // transposition
		{CmpPostalCode, Record{PostalCode: "SW1A 1AA"}, Record{PostalCode: "sw1a1aa"}, 1},
		{CmpPostalCode, Record{PostalCode: "2000"}, Record{PostalCode: "3190"}, 3},
		{CmpStreetNumber, Record{StreetNumber: "42"}, Record{StreetNumber: "24"}, 2},
		{CmpStreetNumber, Record{StreetNumber: "42"}, Record{StreetNumber: "117"}, 3},
		{CmpExternalID, Record{ExternalID: "7461019"}, Record{ExternalID: "7461091"}, 2},
		{CmpExternalID, Record{ExternalID: "7461019"}, Record{}, 0},
	} {
		if got := level(t, tc.cmp, tc.a, tc.b); got != tc.want {
			t.Errorf("%s %+v vs %+v: level %d, want %d", tc.cmp, tc.a, tc.b, got, tc.want)
		}
	}
}

func TestWithinOneEdit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"abc", "abc", true}, {"abc", "abd", true}, {"abc", "acb", true}, {"abc", "ab", true},
		{"abc", "xabc", true}, {"abc", "cba", false}, {"abcd", "ab", false}, {"19800512", "19801205", false},
	} {
		if got := withinOneEdit(tc.a, tc.b); got != tc.want {
			t.Errorf("withinOneEdit(%q,%q) = %v", tc.a, tc.b, got)
		}
	}
}

func TestAddressLevels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b Record
		want int
	}{
		// Same address once abbreviations and the house number are normalised.
		{Record{AddressLines: []string{"1845 East 79th Street"}}, Record{AddressLines: []string{"1845 E. 79th St."}}, 1},
		// Lines swapped: the best pairing of lines agrees.
		{Record{AddressLines: []string{"willow lodge", "hopegood place"}}, Record{AddressLines: []string{"hopegood place", "willow lodge"}}, 2},
		{Record{AddressLines: []string{"clarkson street"}}, Record{AddressLines: []string{"clarkso nstreet"}}, 2},
		// Street type missing: "kedzie" is the whole significant content.
		{Record{AddressLines: []string{"6535 S KEDZIE AVE"}}, Record{AddressLines: []string{"6535 S. Kedzie"}}, 2},
		{Record{AddressLines: []string{"badham street"}}, Record{AddressLines: []string{"oliver street"}}, 4},
		{Record{}, Record{AddressLines: []string{"oliver street"}}, 0},
	} {
		if got := level(t, CmpAddress, tc.a, tc.b); got != tc.want {
			t.Errorf("%v vs %v: level %d, want %d", tc.a.AddressLines, tc.b.AddressLines, got, tc.want)
		}
	}
}

func TestLocalityRegionLevels(t *testing.T) {
	t.Parallel()
	if got := level(t, CmpLocality, Record{Locality: "Macquarie Fields"}, Record{Locality: "macquarie fields"}); got != 1 {
		t.Errorf("same locality: %d", got)
	}
	if got := level(t, CmpLocality, Record{Locality: "macquarie fields"}, Record{Locality: "macquarid fields"}); got != 2 {
		t.Errorf("typo locality: %d", got)
	}
	if got := level(t, CmpLocality, Record{Locality: "penola"}, Record{Locality: "mill park"}); got != 3 {
		t.Errorf("other locality: %d", got)
	}
	if got := level(t, CmpRegion, Record{Region: "NSW"}, Record{Region: "vic"}); got != 2 {
		t.Errorf("other region: %d", got)
	}
}

func TestPhoneLevels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"+14155550123", "+1 415 555 0123", 1},
		{"+14155550123", "4155550123", 2}, // country code dropped
		{"5550123", "(415) 555-0123", 2},  // area code dropped
		{"+14155550123", "+14155550124", 3},
		{"+14155550123", "+33612345678", 4},
		{"7.73E+016", "+14155550123", 0}, // spreadsheet artefact: too short to be a number
	} {
		if got := level(t, CmpPhone, Record{Phone: tc.a}, Record{Phone: tc.b}); got != tc.want {
			t.Errorf("%q vs %q: level %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestEmailLevels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"jane.doe@gmail.com", "Jane.Doe@gmail.com", 1},
		{"jane.doe@gmail.com", "jane.doe@yahoo.com", 2},
		{"jane.doe@gmail.com", "bob@example.org", 3},
		{"", "bob@example.org", 0},
	} {
		if got := level(t, CmpEmail, Record{Email: tc.a}, Record{Email: tc.b}); got != tc.want {
			t.Errorf("%q vs %q: level %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// A record with nothing in common with another but nothing missing either
// is all disagreement; a record with nothing is all neutral.
func TestMissingIsNeutral(t *testing.T) {
	t.Parallel()
	full := Record{GivenName: "jane", Surname: "doe", BirthDate: Date{1980, 5, 12}, StreetNumber: "3",
		AddressLines: []string{"high st"}, Locality: "x", PostalCode: "1000", Region: "r", Phone: "+15555550123",
		Email: "j@d.com", ExternalID: "123"}
	ps := prep(full, Record{})
	if pat := compareAll(Comparisons(), &ps[0], &ps[1]); pat != 0 {
		t.Errorf("empty record has pattern %x, want all missing", pat)
	}
}

func TestSoundex(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"robert": "r163", "rupert": "r163", "ashcraft": "a261", "tymczak": "t522", "pfister": "p236", "lee": "l000",
		"van dyke": "v500",
	} {
		got, ok := soundex(in)
		if !ok || string(got[:]) != want {
			t.Errorf("soundex(%s) = %s, want %s", in, got[:], want)
		}
	}
	if _, ok := soundex("123"); ok {
		t.Error("soundex of digits")
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Date{
		"19800512": {1980, 5, 12}, "1980-05-12": {1980, 5, 12}, "1980/5/2": {1980, 5, 2}, "1980-05": {1980, 5, 0},
		"1980": {1980, 0, 0}, "": {}, "12/05/1980": {}, "abc": {}, "198005": {1980, 5, 0},
	} {
		if got := ParseDate(in); got != want {
			t.Errorf("ParseDate(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestNormalisation(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"  O'Brien-Smith ": "obrien smith", "ÉLODIE": "elodie", "Chicago Commons\nAssociation": "chicago commons association",
		"": "",
	} {
		if got := normText(in); got != want {
			t.Errorf("normText(%q) = %q, want %q", in, got, want)
		}
	}
	if got := normAddress("1845 East 79th Street"); got != "1845 e 79th st" {
		t.Errorf("normAddress = %q", got)
	}
	n, rest := splitHouseNumber("27 washington")
	if n != "27" || rest != "washington" {
		t.Errorf("splitHouseNumber = %q %q", n, rest)
	}
}
