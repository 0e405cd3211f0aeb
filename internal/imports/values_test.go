package imports

import (
	"strings"
	"testing"
	"time"
)

func TestParseNumber(t *testing.T) {
	for in, want := range map[string]float64{"12,50": 12.5, "12.50": 12.5, "1 234,56": 1234.56, "1\u00a0234,56 €": 1234.56, "1.234,56": 1234.56,
		"1,234.56": 1234.56, "1,234,567": 1234567, "1.234.567": 1234567, "-3": -3, "3-": -3, "$ 4.5": 4.5, "1e3": 1000, "0": 0, "+7": 7} {
		got, err := ParseNumber(in)
		if err != nil || got != want {
			t.Errorf("ParseNumber(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "12a", "NaN", "--"} {
		if _, err := ParseNumber(in); err == nil {
			t.Errorf("ParseNumber(%q) accepted", in)
		}
	}
}

func TestParseBool(t *testing.T) {
	for in, want := range map[string]bool{"oui": true, "Non": false, "yes": true, "no": false, "1": true, "0": false, "vrai": true, "FAUX": false, "true": true, "false": false, "O": true, "N": false} {
		got, err := ParseBool(in)
		if err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseBool("peut-être"); err == nil {
		t.Error("ParseBool accepted peut-être")
	}
}

func TestParseDate(t *testing.T) {
	d := func(y, m, dd, h, mi, s int) time.Time { return time.Date(y, time.Month(m), dd, h, mi, s, 0, time.UTC) }
	cases := []struct {
		in    string
		order DateOrder
		want  time.Time
		proof DateOrder
	}{
		{"15/04/1991", DateUnknown, d(1991, 4, 15, 0, 0, 0), DayFirst},
		{"04/15/1991", DateUnknown, d(1991, 4, 15, 0, 0, 0), MonthFirst},
		{"03/04/1991", DayFirst, d(1991, 4, 3, 0, 0, 0), DateUnknown},
		{"03/04/1991", MonthFirst, d(1991, 3, 4, 0, 0, 0), DateUnknown},
		{"07/07/1990", DateUnknown, d(1990, 7, 7, 0, 0, 0), DateUnknown},
		{"15.04.91", DateUnknown, d(1991, 4, 15, 0, 0, 0), DayFirst},
		{"15/04/1991 14h30", DateUnknown, d(1991, 4, 15, 14, 30, 0), DayFirst},
		{"1991-04-15", DateUnknown, d(1991, 4, 15, 0, 0, 0), DateUnknown},
		{"1991-04-15 08:34:00", DateUnknown, d(1991, 4, 15, 8, 34, 0), DateUnknown},
		{"1991-04-15T10:00:00+02:00", DateUnknown, d(1991, 4, 15, 8, 0, 0), DateUnknown},
		{"1991-04-15T08:00:00Z", DateUnknown, d(1991, 4, 15, 8, 0, 0), DateUnknown},
		{"19910415", DateUnknown, d(1991, 4, 15, 0, 0, 0), DateUnknown},
		{"33348", DateUnknown, d(1991, 4, 20, 0, 0, 0), DateUnknown},
		{"33348.5", DateUnknown, d(1991, 4, 20, 12, 0, 0), DateUnknown},
		{"15 avril 1991", DateUnknown, d(1991, 4, 15, 0, 0, 0), DateUnknown},
		{"1er mai 2020", DateUnknown, d(2020, 5, 1, 0, 0, 0), DateUnknown},
	}
	for _, c := range cases {
		got, proof, err := ParseDate(c.in, c.order)
		if err != nil || !got.Equal(c.want) || proof != c.proof {
			t.Errorf("ParseDate(%q, %v) = %v, %v, %v; want %v, %v", c.in, c.order, got, proof, err, c.want, c.proof)
		}
	}
	if _, _, err := ParseDate("03/04/1991", DateUnknown); err != ErrAmbiguousDate {
		t.Errorf("03/04/1991 without an order: %v", err)
	}
	for _, bad := range []string{"31/02/1991", "15/04/1991 25:00", "hier", "", "99999999"} {
		if _, _, err := ParseDate(bad, DayFirst); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
	if o, err := InferDateOrder([]string{"03/04/1991", "", "15/04/1991"}); o != DayFirst || err != nil {
		t.Errorf("InferDateOrder = %v, %v", o, err)
	}
	if _, err := InferDateOrder([]string{"13/04/1991", "04/13/1991"}); err == nil {
		t.Error("mixed orders accepted")
	}
}

func TestSniffAndHeader(t *testing.T) {
	for text, want := range map[string]rune{"a,b,c\n1,2,3\n": ',', "a;b;c\n1;2,5;3\n": ';', "a\tb\n1\t2\n": '\t', "a|b\n1|2\n": '|',
		"\"x;y\",b,c\n1,2,3\n": ',', "nom;adresse\n\"Dupont\";\"1, rue A\nBat B\"\n": ';'} {
		if got := SniffDelimiter(text); got != want {
			t.Errorf("SniffDelimiter(%q) = %q, want %q", text, got, want)
		}
	}
	tb, err := Read([]byte("jean@example.fr,15/04/1991\nmarie@example.fr,16/04/1991\n"), "x.csv", ReadOptions{})
	if err != nil || len(tb.Rows) != 2 || tb.Header[0] != "column_1" {
		t.Errorf("headerless file: %+v, %v", tb, err)
	}
	tb, err = Read([]byte("a,b\n1,2,3\n4\n"), "x.csv", ReadOptions{})
	if err != nil || len(tb.Rows) != 1 || len(tb.Rejects) != 1 || tb.Rejects[0].Row != 2 {
		t.Errorf("ragged rows: %+v, %v", tb, err)
	}
}

func TestDecode(t *testing.T) {
	for in, want := range map[string][2]string{
		"\xef\xbb\xbfH\xc3\xa9": {"Hé", "utf-8-bom"},
		"H\xc3\xa9":             {"Hé", "utf-8"},
		"H\xe9l\xe8ne \x80":     {"Hélène €", "windows-1252"},
		"\xff\xfeH\x00\xe9\x00": {"Hé", "utf-16le"},
		"\xfe\xff\x00H\x00\xe9": {"Hé", "utf-16be"},
	} {
		got, enc, err := Decode([]byte(in), "")
		if err != nil || got != want[0] || enc != want[1] {
			t.Errorf("Decode(%q) = %q, %s, %v", in, got, enc, err)
		}
	}
	if got, enc, _ := Decode([]byte("\xa4"), "iso-8859-15"); got != "€" || enc != "iso-8859-15" {
		t.Errorf("iso-8859-15: %q %s", got, enc)
	}
}

func TestInferMapping(t *testing.T) {
	m := Infer(KindContacts, []string{"Civilité", "Prénom", "NOM", "E-mail", "Téléphone", "Portable", "Adresse", "Code Postal", "Ville", "Pays", "Date de naissance", "Fidélité"})
	want := []string{"title", "first_name", "last_name", "email", "phone", "mobile", "address", "postal_code", "city", "country", "birthdate", "fidelite"}
	for i, f := range m.Fields {
		if f.Field != want[i] {
			t.Errorf("column %q -> %q, want %q", f.Column, f.Field, want[i])
		}
	}
	back, err := ParseMapping([]byte(m.YAML()))
	if err != nil || len(back.Fields) != len(m.Fields) {
		t.Errorf("printed mapping does not parse back: %v\n%s", err, m.YAML())
	}
	if _, err := ParseMapping([]byte("fields:\n  - {field: x, column: a, case: weird}\n")); err == nil || !strings.Contains(err.Error(), "case") {
		t.Errorf("bad case accepted: %v", err)
	}
	if _, err := ParseMapping([]byte("fields:\n  - {field: x, colum: a}\n")); err == nil {
		t.Error("unknown key accepted")
	}
}

func TestSplitNameAndMask(t *testing.T) {
	for in, want := range map[string][2]string{"DUPONT Jean-Marie": {"Jean-Marie", "DUPONT"}, "Jean DUPONT": {"Jean", "DUPONT"},
		"Martin Jean": {"Jean", "Martin"}} {
		f, l := splitName(in, "last_first")
		if f != want[0] || l != want[1] {
			t.Errorf("splitName(%q) = %q, %q", in, f, l)
		}
	}
	if f, l := splitName("Jean de la Fontaine", "first_last"); f != "Jean" || l != "de la Fontaine" {
		t.Errorf("first_last: %q %q", f, l)
	}
	if got := Mask("hélène@ex.fr"); got != "hxxxxx@xx.xx" {
		t.Errorf("Mask = %q", got)
	}
}

func TestMatchNumericDateAgreesWithRegexp(t *testing.T) {
	for _, in := range []string{"15/04/1991", "1/4/91", "15.04.1991 14h30", "15-04-1991T10:00:00", "15/04/1991  10:00", "15/04/199", "15/04/1991 10",
		"15/04/1991 10:0", "15/04/1991 10:00:0", "123/04/1991", "15/04/19911", "15/04", "a5/04/1991", "15/04/1991 10:00:00Z", "1/1/11 1:11"} {
		a, b := matchNumericDate(in), numericDate.FindStringSubmatch(in)
		if strings.Join(a, "|") != strings.Join(b, "|") || (a == nil) != (b == nil) {
			t.Errorf("%q: %q, regexp %q", in, a, b)
		}
	}
}
