package rnvp

import (
	"encoding/csv"
	"os"
	"strings"
	"testing"

	"github.com/atrium-cdp/atrium/internal/quality"
)

// TestAbbreviateNormadresse runs the 41 published normadresse cases
// (testdata/normadresse_nfz10011_tests.csv, copied from shared/data).
func TestAbbreviateNormadresse(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/normadresse_nfz10011_tests.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 42 {
		t.Fatalf("want 41 cases, got %d", len(rows)-1)
	}
	for _, row := range rows[1:] {
		in, want := row[0], strings.ToUpper(row[1])
		got := Abbreviate(quality.PostalText(in), 32)
		if got != want {
			t.Errorf("Abbreviate(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}
