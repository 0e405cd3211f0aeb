package quality

import (
	"slices"
	"testing"
	"time"
)

func TestCountry(t *testing.T) {
	t.Parallel()
	// rnvp.md §6.3 aliases, ISO names in French and English, codes.
	cases := map[string]string{
		"France": "FR", "FR": "FR", "fra": "FR", "ALLEMAGNE": "DE", "Deutschland": "DE", "Germany": "DE",
		"DEU": "DE", "Royaume-Uni": "GB", "UK": "GB", "U.K.": "GB", "Angleterre": "GB", "Grande-Bretagne": "GB",
		"Écosse": "GB", "Pays de Galles": "GB", "États-Unis": "US", "USA": "US", "Etats-Unis d'Amérique": "US",
		"United States": "US", "Pays-Bas": "NL", "Hollande": "NL", "Netherlands": "NL", "Suisse": "CH",
		"Schweiz": "CH", "Svizzera": "CH", "Belgique": "BE", "België": "BE", "Belgium": "BE", "Espagne": "ES",
		"España": "ES", "Italie": "IT", "Italia": "IT", "Grèce": "GR", "EL": "GR", "Kosovo": "XK",
		"Corée du Sud": "KR", "Côte d'Ivoire": "CI", "Guadeloupe": "GP", "La Réunion": "RE", "Monaco": "MC",
		"Luxembourg": "LU", "Maroc": "MA",
	}
	for in, want := range cases {
		if got := Country(in); got.Value != want || got.Status != StatusValid {
			t.Errorf("Country(%q) = %q %s %v; want %q", in, got.Value, got.Status, got.Reasons, want)
		}
	}
	if got := Country("Allemange"); got.Value != "DE" || got.Status != StatusSuspect {
		t.Errorf("typo: %+v", got)
	}
	for _, bad := range []string{"", "Atlantide", "ZZ", "12345"} {
		if got := Country(bad); got.Status != StatusInvalid || got.Value != "" {
			t.Errorf("Country(%q) = %+v; want invalid", bad, got)
		}
	}
	for code, want := range map[string]string{"DE": "ALLEMAGNE", "GB": "ROYAUME UNI", "US": "ETATS UNIS", "BE": "BELGIQUE", "KR": "COREE DU SUD", "CH": "SUISSE"} {
		if got := CountryLine(code); got != want {
			t.Errorf("CountryLine(%s) = %q; want %q", code, got, want)
		}
	}
}

func TestBirthDate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	d := func(y, m, dd int) time.Time { return time.Date(y, time.Month(m), dd, 0, 0, 0, 0, time.UTC) }
	cases := []struct {
		t      time.Time
		status Status
		reason string
	}{
		{d(1991, 4, 15), StatusValid, ""},
		{d(2030, 1, 1), StatusInvalid, ReasonDateFuture},
		{d(2026, 6, 16), StatusInvalid, ReasonDateFuture},
		{d(1890, 1, 1), StatusInvalid, ReasonDateTooOld},
		{d(1906, 6, 15), StatusValid, ""}, // exactly 120
		{d(1905, 6, 14), StatusInvalid, ReasonDateTooOld},
		{d(1900, 1, 1), StatusInvalid, ReasonDateTooOld},
		{d(1970, 1, 1), StatusSuspect, ReasonDatePlaceholder},
		{d(2015, 1, 2), StatusSuspect, ReasonDateMinor},
		{time.Time{}, StatusInvalid, ReasonEmpty},
	}
	for _, c := range cases {
		got := BirthDate(c.t, now)
		if got.Status != c.status || (c.reason != "" && !slices.Contains(got.Reasons, c.reason)) {
			t.Errorf("BirthDate(%s) = %s %v; want %s %s", c.t.Format("2006-01-02"), got.Status, got.Reasons, c.status, c.reason)
		}
	}
	parsed := map[string]string{
		"15/04/1991": "1991-04-15", "15-04-1991": "1991-04-15", "15.04.1991": "1991-04-15",
		"1991-04-15": "1991-04-15", "19910415": "1991-04-15", "15/04/91": "1991-04-15",
		"01/02/05": "2005-02-01", "04/15/1991": "1991-04-15", "1991-04-15T00:00:00Z": "1991-04-15",
	}
	for in, want := range parsed {
		if got := ParseBirthDate(in, now); got.Value != want {
			t.Errorf("ParseBirthDate(%q) = %q %v; want %q", in, got.Value, got.Reasons, want)
		}
	}
	for _, bad := range []string{"", "31/02/1990", "hier", "1990", "15/13/1990/2"} {
		if got := ParseBirthDate(bad, now); got.Status != StatusInvalid {
			t.Errorf("ParseBirthDate(%q) = %+v; want invalid", bad, got)
		}
	}
}

func TestPostalCode(t *testing.T) {
	t.Parallel()
	cases := []struct{ country, in, want string }{
		{"FR", "75001", "75001"}, {"FR", "75 001", "75001"}, {"MC", "98000", "98000"},
		{"BE", "1000", "1000"}, {"CH", "CH-1204", "1204"}, {"LU", "L-1234", "1234"},
		{"DE", "10115", "10115"}, {"DE", "D-10115", "10115"}, {"NL", "1012ab", "1012 AB"},
		{"PT", "1000001", "1000-001"}, {"PT", "1000-001", "1000-001"}, {"PL", "00950", "00-950"},
		{"SE", "11455", "114 55"}, {"CZ", "110 00", "110 00"}, {"GB", "sw1a2aa", "SW1A 2AA"},
		{"GB", "SW1A 2AA", "SW1A 2AA"}, {"GB", "EC1A 1BB", "EC1A 1BB"}, {"GB", "M1 1AE", "M1 1AE"},
		{"UK", "GIR 0AA", "GIR 0AA"}, {"US", "20500", "20500"}, {"US", "20500-0003", "20500-0003"},
		{"CA", "h3z2y7", "H3Z 2Y7"}, {"IE", "D02 X285", "D02 X285"}, {"Allemagne", "10115", "10115"},
		{"MT", "VLT1117", "VLT 1117"}, {"LV", "1010", "LV-1010"},
	}
	for _, c := range cases {
		if got := PostalCode(c.country, c.in); got.Value != c.want || got.Status != StatusValid {
			t.Errorf("PostalCode(%s, %q) = %q %s %v; want %q", c.country, c.in, got.Value, got.Status, got.Reasons, c.want)
		}
	}
	bad := []struct{ country, in string }{
		{"FR", "7500"}, {"FR", "750011"}, {"BE", "10000"}, {"CH", "12345"}, {"NL", "1012"},
		{"GB", "12345"}, {"US", "2050"}, {"CA", "D3Z 2Y7"}, {"DE", ""}, {"Atlantide", "123"},
	}
	for _, c := range bad {
		if got := PostalCode(c.country, c.in); got.Status != StatusInvalid {
			t.Errorf("PostalCode(%s, %q) = %+v; want invalid", c.country, c.in, got)
		}
	}
	if got := PostalCode("FR", "1000"); got.Suggestion != "01000" || !slices.Contains(got.Reasons, ReasonPostLeadingZero) {
		t.Errorf("4-digit French code: %+v", got)
	}
	if got := PostalCode("JP", "100-0001"); got.Status != StatusSuspect {
		t.Errorf("unknown format: %+v", got)
	}
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      string
		max     int
		want    string
		reasons []string
	}{
		{"  abc  ", 64, "abc", nil},
		{"a\x00b", 64, "a b", []string{ReasonControlChars}},
		{"a\xffb", 64, "a b", []string{ReasonInvalidUTF8}},
		{"a\u200bb", 64, "ab", []string{ReasonControlChars}},
		{"abcdef", 3, "abc", []string{ReasonTooLong}},
		{"ééé", 3, "é", []string{ReasonTooLong}}, // cut at a rune boundary
	}
	for _, c := range cases {
		got, reasons := Sanitize(c.in, c.max)
		if got != c.want || !slices.Equal(reasons, c.reasons) {
			t.Errorf("Sanitize(%q) = %q %v; want %q %v", c.in, got, reasons, c.want, c.reasons)
		}
	}
	if f, _ := Fold("Œuvre Ærø Straße ÿ"); f != "OEUVRE AERO STRASSE Y" {
		t.Errorf("Fold = %q", f)
	}
	if p := PostalText("L'Haÿ-les-Roses, 12è"); p != "L HAY LES ROSES 12E" {
		t.Errorf("PostalText = %q", p)
	}
}
