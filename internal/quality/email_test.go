package quality

import (
	"slices"
	"strings"
	"testing"
)

func TestEmail(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, value, key, suggestion string
		status                     Status
		reasons                    []string // must all be present
	}{
		// rnvp.md §5.1: local part kept, domain lower-cased, Gmail folding in the key only.
		{"Jean.Dupont+promo@googlemail.com", "Jean.Dupont+promo@googlemail.com", "jeandupont@gmail.com", "", StatusValid, []string{"free_mail"}},
		{"Jean.Dupont@Gmail.COM", "Jean.Dupont@gmail.com", "jeandupont@gmail.com", "", StatusValid, nil},
		{"J.Dupont@Orange.fr", "J.Dupont@orange.fr", "j.dupont@orange.fr", "", StatusValid, []string{"free_mail"}},
		{"jean+news@outlook.fr", "jean+news@outlook.fr", "jean@outlook.fr", "", StatusValid, nil},
		// Yahoo's -aliases and corporate dots are not folded.
		{"jean-promo@yahoo.fr", "jean-promo@yahoo.fr", "", "", StatusValid, nil},
		{"j.dupont@societe.fr", "j.dupont@societe.fr", "", "", StatusValid, nil},
		// §5.2: typos get a suggestion, never a silent fix.
		{"jean@gmial.com", "jean@gmial.com", "", "jean@gmail.com", StatusSuspect, []string{"domain_typo"}},
		{"jean@hotmial.fr", "jean@hotmial.fr", "", "jean@hotmail.fr", StatusSuspect, []string{"domain_typo"}},
		{"jean@wanadoo.com", "jean@wanadoo.com", "", "jean@wanadoo.fr", StatusSuspect, []string{"domain_typo"}},
		{"jean@gmail.fr", "jean@gmail.fr", "", "jean@gmail.com", StatusSuspect, []string{"domain_typo"}},
		{"jean@orange.fe", "jean@orange.fe", "", "jean@orange.fr", StatusSuspect, []string{"domain_typo"}},
		{"jean@lapost.net", "jean@lapost.net", "", "jean@laposte.net", StatusSuspect, []string{"domain_typo"}},
		{"jean@gmaill.co", "jean@gmaill.co", "", "jean@gmail.com", StatusSuspect, []string{"domain_typo"}},
		{"jean@entreprise.con", "jean@entreprise.con", "", "jean@entreprise.com", StatusSuspect, []string{"domain_typo"}},
		// Real domains that look like typos are left alone (§5.2 traps).
		{"jean@laposte.fr", "jean@laposte.fr", "", "", StatusValid, nil},
		{"jean@mail.com", "jean@mail.com", "", "", StatusValid, nil},
		{"jean@msn.fr", "jean@msn.fr", "", "", StatusValid, nil},
		// §5.3 and §5.4: flags, not rejections.
		{"contact@textiles-lyon.fr", "contact@textiles-lyon.fr", "", "", StatusValid, []string{"role_account"}},
		{"no-reply@societe.fr", "no-reply@societe.fr", "", "", StatusValid, []string{"role_account"}},
		{"x@yopmail.com", "x@yopmail.com", "", "", StatusSuspect, []string{"disposable"}},
		{"x@mailinator.com", "x@mailinator.com", "", "", StatusSuspect, []string{"disposable"}},
		{"x@abc.33mail.com", "x@abc.33mail.com", "", "", StatusSuspect, []string{"disposable"}},
		// Unwrapping.
		{"mailto:jean@exemple.fr", "jean@exemple.fr", "", "", StatusCorrected, []string{"unwrapped"}},
		{"Jean Dupont <jean@exemple.fr>", "jean@exemple.fr", "", "", StatusCorrected, []string{"unwrapped"}},
		{"  jean@exemple.fr.  ", "jean@exemple.fr", "", "", StatusCorrected, []string{"unwrapped"}},
		// IDN domains are stored as A-labels (RFC 3492 sample: bücher → xn--bcher-kva).
		{"jean@bücher.de", "jean@xn--bcher-kva.de", "", "", StatusValid, []string{"idn_domain"}},
		{"jean@BÜCHER.de", "jean@xn--bcher-kva.de", "", "", StatusValid, []string{"idn_domain"}},
		// Failures: every one invalid, with a reason.
		{"", "", "", "", StatusInvalid, []string{"empty"}},
		{"jean.dupont", "", "", "", StatusInvalid, []string{"no_at"}},
		{"jean@@gmail.com", "", "", "jean@gmail.com", StatusInvalid, []string{"multiple_at"}},
		{"jean dupont@gmail.com", "", "", "jeandupont@gmail.com", StatusInvalid, []string{"internal_space"}},
		{"jean@gmail,com", "", "", "jean@gmail.com", StatusInvalid, nil},
		{"jean@localhost", "", "", "", StatusInvalid, []string{"domain_no_dot"}},
		{"jean@[192.0.2.1]", "", "", "", StatusInvalid, []string{"domain_literal"}},
		{".jean@x.fr", "", "", "", StatusInvalid, nil},
		{"jean..d@x.fr", "", "", "", StatusInvalid, []string{"syntax"}},
		{"jean@-x.fr", "", "", "", StatusInvalid, []string{"domain_invalid"}},
		{"jean@x.123", "", "", "", StatusInvalid, []string{"domain_invalid"}},
		{strings.Repeat("a", 65) + "@x.fr", "", "", "", StatusInvalid, []string{"local_too_long"}},
		{"jean@" + strings.Repeat("a", 250) + ".fr", "", "", "", StatusInvalid, nil},
		{"jéan@x.fr", "jéan@x.fr", "", "", StatusSuspect, []string{"utf8_local_part"}},
		{"jean😀@x.fr", "", "", "", StatusInvalid, []string{"syntax"}},
		{"je\x00an@x.fr", "", "", "jean@x.fr", StatusInvalid, []string{"control_chars", "internal_space"}},
	}
	for _, c := range cases {
		got := Email(c.in)
		if got.Value != c.value || got.Key != c.key || got.Status != c.status || got.Suggestion != c.suggestion {
			t.Errorf("Email(%q) = value %q key %q status %s suggestion %q %v; want %q %q %s %q",
				c.in, got.Value, got.Key, got.Status, got.Suggestion, got.Reasons, c.value, c.key, c.status, c.suggestion)
		}
		for _, r := range c.reasons {
			if !slices.Contains(got.Reasons, r) {
				t.Errorf("Email(%q) reasons %v lack %q", c.in, got.Reasons, r)
			}
		}
		if got.Raw != c.in {
			t.Errorf("Email(%q) changed Raw to %q", c.in, got.Raw)
		}
	}
}

// TestPunycode checks the encoder against RFC 3492 §7.1 samples.
func TestPunycode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"bücher":    "bcher-kva",
		"münchen":   "mnchen-3ya",
		"ελληνικά":  "hxargifdar",
		"他们为什么不说中文": "ihqwcrb4cv8a8dqg056pqjye",
	} {
		got, err := punycodeLabel(in)
		if err != nil || got != want {
			t.Errorf("punycodeLabel(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a, b string
		max  int
		want int
	}{
		{"gmail.com", "gmail.com", 2, 0},
		{"gmial.com", "gmail.com", 2, 1}, // transposition
		{"gmal.com", "gmail.com", 2, 1},
		{"hotmail.fr", "hotmal.fr", 2, 1},
		{"abc", "xyz", 2, 3}, // over max: max+1
		{"", "ab", 3, 2},
		{"kitten", "sitting", 5, 3},
	} {
		if got := EditDistance(c.a, c.b, c.max); got != c.want {
			t.Errorf("EditDistance(%q, %q, %d) = %d; want %d", c.a, c.b, c.max, got, c.want)
		}
	}
}
