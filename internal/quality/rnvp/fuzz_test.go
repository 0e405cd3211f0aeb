package rnvp

import (
	"strings"
	"testing"

	"github.com/atrium-cdp/atrium/internal/quality"
)

// strictLine reports whether l is in the strict postal rendition: at most
// 38 characters of A–Z, 0–9 and single inner spaces.
func strictLine(l string) bool {
	if len(l) > 38 || strings.HasPrefix(l, " ") || strings.HasSuffix(l, " ") || strings.Contains(l, "  ") {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ') {
			return false
		}
	}
	return true
}

func FuzzAddress(f *testing.F) {
	for _, c := range readGolden(f, "testdata/golden.txt") {
		f.Add(c.input)
	}
	for _, s := range []string{"", "|||", "\xff\xfe|\x00", strings.Repeat("12 rue X | ", 200), "😀 | 75001",
		"BP | CEDEX | 12/ | N° | ( L )", "12 rue de la Paix Paris 15", "75 015 Paris", "0 rue 99999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := Normalize(strings.Split(in, "|"))
		for i, l := range r.Lines {
			if !strictLine(l) {
				t.Fatalf("%q: line %d %q breaks the strict rendition", in, i+1, l)
			}
		}
		switch r.Status {
		case quality.StatusValid, quality.StatusCorrected, quality.StatusSuspect:
			if r.Lines[5] == "" {
				t.Fatalf("%q: %s without line 6", in, r.Status)
			}
		case quality.StatusInvalid:
			if len(r.Reasons) == 0 {
				t.Fatalf("%q: invalid without reason", in)
			}
		default:
			t.Fatalf("%q: status %q", in, r.Status)
		}
		if r.Number < 0 || r.Number > 9999 {
			t.Fatalf("%q: number %d", in, r.Number)
		}
	})
}

func FuzzAbbreviate(f *testing.F) {
	f.Add("BOULEVARD DU MARECHAL JEAN MARIE DE LATTRE DE TASSIGNY", 32)
	f.Add("RUE", 2)
	f.Add("A B C D E F G H I J K L M N O P Q R S T U V W X Y Z", 10)
	f.Fuzz(func(t *testing.T, label string, max int) {
		if max < 1 || max > 64 {
			return
		}
		label = quality.PostalText(label)
		out := Abbreviate(label, max)
		if len(label) <= max && out != label {
			t.Fatalf("%q fits %d but became %q", label, max, out)
		}
		if !strictLine(out) && len(out) <= 38 {
			t.Fatalf("%q: output %q not strict", label, out)
		}
		if len(out) > len(label) {
			t.Fatalf("%q: abbreviation %q is longer", label, out)
		}
	})
}
