package imports

import (
	"testing"
	"unicode/utf8"
)

// FuzzCSV: any bytes are read without panicking, every row has the header's
// width, and every cell is valid UTF-8.
func FuzzCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "\xef\xbb\xbfemail;nom\nx@y.fr;H\xe9l\xe8ne\n", "\"a\nb\",c\n\"1\"\"\",2\n", "\xff\xfea\x00,\x00b\x00", "a|b\n|\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := Read(data, "f.csv", ReadOptions{})
		if err != nil {
			return
		}
		for _, r := range tb.Rows {
			if len(r.Cells) != len(tb.Header) {
				t.Fatalf("row %d has %d cells, header %d", r.Line, len(r.Cells), len(tb.Header))
			}
			for _, c := range r.Cells {
				if !utf8.ValidString(c) {
					t.Fatalf("invalid UTF-8 cell %q", c)
				}
			}
		}
		m := Infer(KindOrders, tb.Header)
		if p, err := bind(KindOrders, m, tb, ""); err == nil {
			for _, r := range tb.Rows {
				_, _ = p.rowValues(r)
			}
		}
	})
}

// FuzzDates: parsing never panics, and a value parsed with an order parses
// to the same time again when its proof agrees.
func FuzzDates(f *testing.F) {
	for _, s := range []string{"15/04/1991", "03/04/1991", "33348", "1991-04-15T10:00:00+02:00", "19910415", "1er mai 2020", "31/02/2020"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, o := range []DateOrder{DateUnknown, DayFirst, MonthFirst} {
			tm, proof, err := ParseDate(s, o)
			if err != nil {
				continue
			}
			if proof != DateUnknown {
				again, _, err := ParseDate(s, proof)
				if err != nil || !again.Equal(tm) {
					t.Fatalf("%q: %v then %v (%v)", s, tm, again, err)
				}
			}
		}
		_, _ = ParseNumber(s)
		_, _ = ParseBool(s)
	})
}
