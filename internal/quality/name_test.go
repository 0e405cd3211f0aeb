package quality

import (
	"slices"
	"testing"
)

func TestName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		first, last         string
		wantFirst, wantLast string
		status              Status
	}{
		// The example and rnvp.md §4.3.
		{"JEAN-PIERRE", "DE LA FONTAINE", "Jean-Pierre", "de La Fontaine", StatusCorrected},
		{"jean-pierre", "de la fontaine", "Jean-Pierre", "de La Fontaine", StatusCorrected},
		{"MARIE-THÉRÈSE", "DUPONT", "Marie-Thérèse", "Dupont", StatusCorrected},
		{"VALÉRY", "GISCARD D'ESTAING", "Valéry", "Giscard d'Estaing", StatusCorrected},
		{"CHARLES", "DE GAULLE", "Charles", "de Gaulle", StatusCorrected},
		{"JOACHIM", "DU BELLAY", "Joachim", "Du Bellay", StatusCorrected},
		{"", "D'ARTAGNAN", "", "d'Artagnan", StatusCorrected},
		{"RONALD", "MCDONALD", "Ronald", "McDonald", StatusCorrected},
		{"SEAN", "O'NEILL", "Sean", "O'Neill", StatusCorrected},
		{"LUDWIG", "VAN BEETHOVEN", "Ludwig", "van Beethoven", StatusCorrected},
		{"ANNE", "LE GOFF", "Anne", "Le Goff", StatusCorrected},
		// Mixed case is intended: kept.
		{"Jean", "DiCaprio", "Jean", "DiCaprio", StatusValid},
		{"Jean", "de la Fontaine", "Jean", "de la Fontaine", StatusValid},
		// Failures.
		{"", "", "", "", StatusInvalid},
		{"123", "", "", "", StatusInvalid},
		{"Jean", "Dupont2", "Jean", "Dupont2", StatusSuspect},
	}
	for _, c := range cases {
		got := Name(c.first, c.last)
		if got.First != c.wantFirst || got.Last != c.wantLast || got.Status != c.status {
			t.Errorf("Name(%q, %q) = %q %q %s %v; want %q %q %s", c.first, c.last, got.First, got.Last,
				got.Status, got.Reasons, c.wantFirst, c.wantLast, c.status)
		}
	}
}

func TestNameKeys(t *testing.T) {
	t.Parallel()
	a := Name("Jean-Pierre", "de La Fontaine")
	b := FullName("DE LA FONTAINE Jean Pierre")
	if a.Key != "DE FONTAINE JEAN LA PIERRE" || a.Key != b.Key {
		t.Errorf("keys %q and %q should both be %q", a.Key, b.Key, "DE FONTAINE JEAN LA PIERRE")
	}
	if a.LooseKey != "FONTAINE JEAN PIERRE" {
		t.Errorf("loose key %q", a.LooseKey)
	}
	if Name("Élodie", "Lemaître").Key != "ELODIE LEMAITRE" {
		t.Errorf("accents must fold in the key")
	}
}

func TestFullName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, first, last, civility string
		reason                    string
	}{
		{"M. Jean DUPONT", "Jean", "Dupont", CivM, "civility_found"},
		{"DUPONT Jean", "Jean", "Dupont", "", "last_name_first"},
		{"Mme Marie-Thérèse DE LA FONTAINE", "Marie-Thérèse", "de La Fontaine", CivMme, ""},
		{"Jean de la Fontaine", "Jean", "de la Fontaine", "", ""},
		{"dupont jean-pierre", "Jean-Pierre", "Dupont", "", "last_name_first"},
		{"jean dupont", "Jean", "Dupont", "", ""},
		{"Dupont, Jean", "Jean", "Dupont", "", "last_name_first"},
		{"M. et Mme Martin", "", "Martin", CivMEtMme, "single_word"},
		{"DUPONT", "", "Dupont", "", "single_word"},
		{"Xavi Ygrek", "Xavi", "Ygrek", "", "order_uncertain"},
	}
	for _, c := range cases {
		got := FullName(c.in)
		if got.First != c.first || got.Last != c.last || got.Civility != c.civility {
			t.Errorf("FullName(%q) = %q / %q / %q %v; want %q / %q / %q", c.in, got.First, got.Last,
				got.Civility, got.Reasons, c.first, c.last, c.civility)
		}
		if c.reason != "" && !slices.Contains(got.Reasons, c.reason) {
			t.Errorf("FullName(%q) reasons %v lack %q", c.in, got.Reasons, c.reason)
		}
	}
	if FullName("   ").Status != StatusInvalid || FullName("M.").Status != StatusInvalid {
		t.Errorf("a civility alone or blanks are not a name")
	}
}

func TestCivility(t *testing.T) {
	t.Parallel()
	// rnvp.md §4.2 table.
	cases := map[string]string{
		"M": CivM, "M.": CivM, "Mr": CivM, "Mr.": CivM, "MR": CivM, "Monsieur": CivM, "MONSIEUR": CivM, "Mister": CivM,
		"Mme": CivMme, "Mme.": CivMme, "MME": CivMme, "Madame": CivMme, "Mad.": CivMme, "Mrs": CivMme, "Ms": CivMme,
		"Mlle": CivMlle, "Melle": CivMlle, "Mlle.": CivMlle, "Mademoiselle": CivMlle, "Miss": CivMlle,
		"M. et Mme": CivMEtMme, "M et Mme": CivMEtMme, "Mr et Mme": CivMEtMme, "Mr & Mme": CivMEtMme,
		"M. & Mme": CivMEtMme, "Monsieur et Madame": CivMEtMme, "Mme et M.": CivMEtMme,
		"MM.": CivMM, "Messieurs": CivMM, "Mmes": CivMmes, "Mesdames": CivMmes,
		"Dr": CivDr, "Dr.": CivDr, "Docteur": CivDr, "Me": CivMe, "Maître": CivMe,
		"Pr": CivPr, "Pr.": CivPr, "Professeur": CivPr, "Mgr": CivMgr, "Monseigneur": CivMgr,
	}
	for in, want := range cases {
		if got := Civility(in); got.Value != want || got.Status != StatusValid {
			t.Errorf("Civility(%q) = %q %s; want %q", in, got.Value, got.Status, want)
		}
	}
	if c := Civility("Me"); c.Value == CivMme {
		t.Errorf("Me (Maître) must not become Mme")
	}
	if c := Civility("Madame, Monsieur"); c.Status != StatusInvalid || !slices.Contains(c.Reasons, ReasonCivGeneric) {
		t.Errorf("generic salutation: %+v", c)
	}
	for _, bad := range []string{"", "Sir Lord", "Jean", "😀"} {
		if c := Civility(bad); c.Status != StatusInvalid {
			t.Errorf("Civility(%q) = %+v; want invalid", bad, c)
		}
	}
	if c := Civility("M."); c.Gender != "male" || c.Full != "Monsieur" || c.Short != "M." || c.Postal != "M" {
		t.Errorf("renderings of M.: %+v", c)
	}
	if c := Civility("Mlle"); !slices.Contains(c.Reasons, ReasonCivMlle) || c.Gender != "female" {
		t.Errorf("Mlle: %+v", c)
	}
}
