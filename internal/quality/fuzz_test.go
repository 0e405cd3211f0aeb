package quality

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// checkResult asserts the invariants every normaliser keeps.
func checkResult(t *testing.T, in string, r Result) {
	t.Helper()
	switch r.Status {
	case StatusValid, StatusCorrected, StatusSuspect:
		if r.Value == "" {
			t.Fatalf("%q: status %s with an empty value", in, r.Status)
		}
	case StatusInvalid:
		if r.Value != "" || len(r.Reasons) == 0 {
			t.Fatalf("%q: invalid must have no value and a reason: %+v", in, r)
		}
	default:
		t.Fatalf("%q: status %q outside the set", in, r.Status)
	}
	for _, s := range []string{r.Value, r.Key, r.Suggestion} {
		if !utf8.ValidString(s) {
			t.Fatalf("%q: output not UTF-8: %q", in, s)
		}
	}
	if r.Status != StatusValid && r.Status != StatusInvalid && len(r.Reasons) == 0 {
		t.Fatalf("%q: %s without a reason", in, r.Status)
	}
}

var fuzzSeeds = []string{"", "jean@gmail.com", "06 12 34 56 78", "M. Jean DUPONT", "\xff\xfe", "a\x00b",
	"😀😀@😀.fr", strings.Repeat("a", 5000), "+33 (0)6 12", "Jean.Dupont+promo@googlemail.com", "0590 12 34 56",
	"jean@münchen.de", "DE LA FONTAINE Jean-Pierre", "Madame, Monsieur"}

func FuzzEmail(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := Email(in)
		checkResult(t, in, r)
		if r.Raw != in {
			t.Fatalf("raw changed")
		}
		if r.Value != "" && (strings.Count(r.Value, "@") != 1 || len(r.Value) > maxEmail) {
			t.Fatalf("%q: bad value %q", in, r.Value)
		}
	})
}

func FuzzPhone(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "FR")
	}
	f.Add("030 123456", "DE")
	f.Fuzz(func(t *testing.T, in, region string) {
		r := Phone(in, region)
		checkResult(t, in, r.Result)
		if r.Value != "" {
			if r.Key != r.Value || r.Value[0] != '+' || strings.Trim(r.Value[1:], "0123456789") != "" || len(r.Value) > 17 {
				t.Fatalf("%q: bad E.164 %q", in, r.Value)
			}
		}
	})
}

func FuzzFullName(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := FullName(in)
		checkResult(t, in, r.Result)
		for _, s := range []string{r.First, r.Last, r.LooseKey} {
			if !utf8.ValidString(s) {
				t.Fatalf("%q: not UTF-8", in)
			}
		}
		n := Name(in, in)
		checkResult(t, in, n.Result)
	})
}

func FuzzCivility(f *testing.F) {
	for _, s := range append(fuzzSeeds, "M. et Mme", "Mr & Mme", "Me") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := Civility(in)
		checkResult(t, in, r.Result)
		if r.Value != "" && civilities[r.Value].full == "" {
			t.Fatalf("%q: unknown code %q", in, r.Value)
		}
	})
}

func FuzzCountry(f *testing.F) {
	for _, s := range append(fuzzSeeds, "Allemagne", "UK", "Royaume-Uni") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := Country(in)
		checkResult(t, in, r)
		if r.Value != "" && len(r.Value) != 2 {
			t.Fatalf("%q: value %q is not alpha-2", in, r.Value)
		}
	})
}

func FuzzPostalCode(f *testing.F) {
	for _, s := range append(fuzzSeeds, "SW1A 2AA", "75001", "1012ab") {
		f.Add("GB", s)
		f.Add("FR", s)
	}
	f.Fuzz(func(t *testing.T, country, in string) {
		checkResult(t, in, PostalCode(country, in))
	})
}

func FuzzParseBirthDate(f *testing.F) {
	for _, s := range append(fuzzSeeds, "15/04/1991", "19910415", "1991-04-15") {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, in string) {
		r := ParseBirthDate(in, now)
		checkResult(t, in, r)
		if r.Value != "" {
			if _, err := time.Parse("2006-01-02", r.Value); err != nil {
				t.Fatalf("%q: value %q", in, r.Value)
			}
		}
	})
}
