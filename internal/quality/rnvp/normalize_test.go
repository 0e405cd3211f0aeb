package rnvp

import (
	"slices"
	"strings"
	"testing"

	"github.com/atrium-cdp/atrium/internal/quality"
)

// lines builds the expected 7 lines from "Ln text" items.
func lines(items ...string) (out [7]string) {
	for _, it := range items {
		out[it[1]-'1'] = it[3:]
	}
	return out
}

// TestNormalizeRules covers the rules of rnvp.md beyond the worked cases:
// the §3.8 error table, Paris/Lyon/Marseille, CEDEX, DROM, foreign layouts.
// Expected lines are written from the rules and La Poste's base by hand.
func TestNormalizeRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		in      string
		want    [7]string
		status  quality.Status
		reasons []string
	}{
		{"swapped town and code", "12 rue du Port | Nice | 06000",
			lines("L4 12 RUE DU PORT", "L6 06000 NICE"), quality.StatusValid, nil},
		{"INSEE code of an arrondissement", "12 rue de la Paix | 75115 PARIS",
			lines("L4 12 RUE DE LA PAIX", "L6 75015 PARIS"), quality.StatusCorrected, []string{ReasonPostcodeFromINSEE}},
		{"INSEE code of Paris: arrondissement unknown", "12 rue de la Paix | 75056 Paris",
			lines("L4 12 RUE DE LA PAIX", "L6 PARIS"), quality.StatusSuspect, []string{ReasonPostcodeAmbiguous}},
		{"general code 75000", "12 rue de la Paix | 75000 Paris",
			lines("L4 12 RUE DE LA PAIX", "L6 75000 PARIS"), quality.StatusSuspect, []string{ReasonPostcodeGeneral}},
		{"general code with arrondissement", "12 rue de la Paix | 75000 Paris 2e",
			lines("L4 12 RUE DE LA PAIX", "L6 75002 PARIS"), quality.StatusCorrected, []string{ReasonArrondissement}},
		{"Paris 15e", "3 rue X | Paris 15e", lines("L4 3 RUE X", "L6 75015 PARIS"), quality.StatusCorrected, nil},
		{"PARIS 15", "3 rue X | PARIS 15", lines("L4 3 RUE X", "L6 75015 PARIS"), quality.StatusCorrected, nil},
		{"Paris 16e is ambiguous", "3 rue X | Paris 16e", lines("L4 3 RUE X", "L6 75016 PARIS"),
			quality.StatusSuspect, []string{ReasonPostcodeAmbiguous}},
		{"Marseille 1er", "3 rue X | Marseille 1er", lines("L4 3 RUE X", "L6 13001 MARSEILLE"), quality.StatusCorrected, nil},
		{"CEDEX typed in lower case after the town", "Libourne cedex 33506",
			lines("L6 33506 LIBOURNE CEDEX"), quality.StatusValid, []string{ReasonCedex}},
		{"CEDEX of Lyon: two-digit number", "Société X | 10 rue Y | 69361 Lyon Cedex 7",
			lines("L1 SOCIETE X", "L4 10 RUE Y", "L6 69361 LYON CEDEX 07"), quality.StatusValid, nil},
		{"apartment and building in the street field", "12 rue Victor Hugo bât B appt 3 | 33000 Bordeaux",
			lines("L2 APPARTEMENT 3", "L3 BATIMENT B", "L4 12 RUE VICTOR HUGO", "L6 33000 BORDEAUX"),
			quality.StatusValid, []string{ReasonComplementMoved}},
		{"BP on the street line", "BP 25 12 rue du Port | 56100 Lorient",
			lines("L4 12 RUE DU PORT", "L5 BP 25", "L6 56100 LORIENT"), quality.StatusValid, []string{ReasonComplementMoved}},
		{"commune déléguée only", "St-Bois 01300", lines("L5 ST BOIS", "L6 01300 ARBOYS EN BUGEY"), quality.StatusValid, nil},
		{"N° and bis", "N° 7 bis rue Victor Hugo | 69002 Lyon",
			lines("L4 7 B RUE VICTOR HUGO", "L6 69002 LYON"), quality.StatusValid, nil},
		{"ter glued", "7ter rue Victor Hugo | 69002 Lyon",
			lines("L4 7 T RUE VICTOR HUGO", "L6 69002 LYON"), quality.StatusValid, nil},
		{"range with a dash", "15-17 avenue Jean Jaurès | 69007 Lyon",
			lines("L4 15 AVENUE JEAN JAURES", "L6 69007 LYON"), quality.StatusCorrected, []string{ReasonNumberRange}},
		{"house number 0 dropped", "0 rue Gambetta | 59000 Lille",
			lines("L4 RUE GAMBETTA", "L6 59000 LILLE"), quality.StatusSuspect, []string{ReasonNumberInvalid}},
		{"numbers inside the name", "8 rue du 8 Mai 1945 | 75010 Paris",
			lines("L4 8 RUE DU 8 MAI 1945", "L6 75010 PARIS"), quality.StatusValid, nil},
		{"DROM with its name typed", "12 rue Schoelcher | 97110 POINTE A PITRE GUADELOUPE",
			lines("L4 12 RUE SCHOELCHER", "L6 97110 POINTE A PITRE"), quality.StatusValid, []string{ReasonCountryDropped}},
		{"France typed for domestic mail", "Jean Dupont | 12 rue de la Paix | 75002 Paris | France",
			lines("L1 JEAN DUPONT", "L4 12 RUE DE LA PAIX", "L6 75002 PARIS"), quality.StatusValid, []string{ReasonCountryDropped}},
		{"Monaco is domestic", "M. et Mme Dupont | 3 avenue Princesse Grace | 98000 Monaco",
			lines("L1 MONSIEUR ET MADAME DUPONT", "L4 3 AVENUE PRINCESSE GRACE", "L6 98000 MONACO"), quality.StatusValid, nil},
		{"St Malo", "12 rue Nationale | St Malo | 35400", lines("L4 12 RUE NATIONALE", "L6 35400 ST MALO"), quality.StatusValid, nil},
		{"misspelt town", "3 rue des Lilas | 34000 Montpelier",
			lines("L4 3 RUE DES LILAS", "L6 34000 MONTPELLIER"), quality.StatusCorrected, []string{ReasonCommuneCorrected}},
		{"town with several codes, no code", "3 rue des Lilas | Montpellier",
			lines("L4 3 RUE DES LILAS", "L6 MONTPELLIER"), quality.StatusSuspect, []string{ReasonPostcodeAmbiguous}},
		{"town with one code filled", "12 avenue de Paris | Versailles",
			lines("L4 12 AVENUE DE PARIS", "L6 78000 VERSAILLES"), quality.StatusCorrected, []string{ReasonPostcodeFilled}},
		{"town not at this code", "12 rue X | 33000 Lyon",
			lines("L4 12 RUE X", "L6 33000 LYON"), quality.StatusSuspect, []string{ReasonCommuneMismatch}},
		{"unknown code", "12 rue X | 99999 Nulle Part",
			lines("L4 12 RUE X", "L6 99999 NULLE PART"), quality.StatusSuspect, []string{ReasonPostcodeUnknown}},
		{"code only: town filled", "12 rue de la Paix 75015", lines("L4 12 RUE DE LA PAIX", "L6 75015 PARIS"),
			quality.StatusCorrected, []string{ReasonLocalityFilled}},
		{"spaced code", "12 rue X | 06 000 Nice", lines("L4 12 RUE X", "L6 06000 NICE"), quality.StatusValid, nil},
		{"care of", "c/o M. Durand | 4 place Bellecour | 69002 Lyon",
			lines("L2 CHEZ M DURAND", "L4 4 PLACE BELLECOUR", "L6 69002 LYON"), quality.StatusValid, nil},
		{"floor", "Mme Claire Martin | 12 rue de la Paix | 3e étage | 75002 Paris",
			lines("L1 MADAME CLAIRE MARTIN", "L2 3E ETAGE", "L4 12 RUE DE LA PAIX", "L6 75002 PARIS"), quality.StatusValid, nil},
		{"residence, building, staircase", "Madame Claire Martin | Résidence Les Pins | Bât C | Esc 2 | 12 av. du Gal Leclerc | 33000 Bordeaux",
			lines("L1 MADAME CLAIRE MARTIN", "L2 ESCALIER 2", "L3 RESIDENCE LES PINS BATIMENT C",
				"L4 12 AVENUE DU GENERAL LECLERC", "L6 33000 BORDEAUX"), quality.StatusValid, nil},
		{"ZI abbreviation expanded on L3", "ZI des Fleurs | 12 rue X | 33000 Bordeaux",
			lines("L3 ZONE INDUSTRIELLE DES FLEURS", "L4 12 RUE X", "L6 33000 BORDEAUX"), quality.StatusValid, nil},
		{"lieu-dit without streets", "Le Bourg | 24200 Sarlat la Caneda",
			lines("L4 LE BOURG", "L6 24200 SARLAT LA CANEDA"), quality.StatusValid, nil},
		{"town typed short", "12 chemin des Vignes | 13100 Aix", lines("L4 12 CHEMIN DES VIGNES", "L6 13100 AIX EN PROVENCE"),
			quality.StatusCorrected, []string{ReasonCommuneCorrected}},
		{"town that starts with a street type", "12 rue Bourgmayer | 01000 | Bourg en Bresse",
			lines("L4 12 RUE BOURGMAYER", "L6 01000 BOURG EN BRESSE"), quality.StatusValid, nil},
		{"TSA and Paris CEDEX", "TSA 10001 | 75094 Paris Cedex 20",
			lines("L5 TSA 10001", "L6 75094 PARIS CEDEX 20"), quality.StatusValid, nil},
		// International (rnvp.md §6.2).
		{"Germany", "Hauptstraße 5 | 10115 Berlin | Allemagne",
			lines("L4 HAUPTSTRASSE 5", "L6 10115 BERLIN", "L7 ALLEMAGNE"), quality.StatusValid, []string{ReasonForeign}},
		{"Switzerland drops CH-", "Rue du Rhône 12 | CH-1204 Genève | Suisse",
			lines("L4 RUE DU RHONE 12", "L6 1204 GENEVE", "L7 SUISSE"), quality.StatusValid, nil},
		{"United Kingdom", "10 Downing Street | London | SW1A 2AA | Royaume-Uni",
			lines("L4 10 DOWNING STREET", "L5 LONDON", "L6 SW1A 2AA", "L7 ROYAUME UNI"), quality.StatusValid, nil},
		{"United States", "1600 Pennsylvania Ave NW | Washington DC 20500 | USA",
			lines("L4 1600 PENNSYLVANIA AVE NW", "L6 WASHINGTON DC 20500", "L7 ETATS UNIS"), quality.StatusValid, nil},
		{"foreign code in the wrong format", "Rue de la Loi 16 | 100 Bruxelles | Belgique",
			lines("L4 RUE DE LA LOI 16", "L6 100 BRUXELLES", "L7 BELGIQUE"), quality.StatusSuspect, []string{ReasonForeignPostcode}},
		// Failures.
		{"empty", "", lines(), quality.StatusInvalid, []string{ReasonEmpty}},
		{"only separators", " | , ; | ", lines(), quality.StatusInvalid, []string{ReasonEmpty}},
		{"no town", "12 rue de Paris", lines("L4 12 RUE DE PARIS"), quality.StatusInvalid, []string{ReasonLocalityMissing}},
		{"emoji and control characters dropped", "12 rue 😀 X\x00 | 75002 Paris",
			lines("L4 12 RUE X", "L6 75002 PARIS"), quality.StatusValid, []string{ReasonControlChars}},
		{"letters with no Latin spelling", "Иван | 12 rue X | 75002 Paris",
			lines("L4 12 RUE X", "L6 75002 PARIS"), quality.StatusSuspect, []string{ReasonCharsDropped}},
	}
	for _, c := range cases {
		got := Normalize(strings.Split(c.in, "|"))
		if got.Lines != c.want || got.Status != c.status {
			t.Errorf("%s: %q\n got %q %s %v\nwant %q %s", c.name, c.in, got.Lines, got.Status, got.Reasons, c.want, c.status)
			continue
		}
		for _, r := range c.reasons {
			if !slices.Contains(got.Reasons, r) {
				t.Errorf("%s: reasons %v lack %q", c.name, got.Reasons, r)
			}
		}
	}
}

// TestNormalizeParts checks the structured parts kept beside the lines.
func TestNormalizeParts(t *testing.T) {
	t.Parallel()
	r := Normalize([]string{"5 bis, av. des Fleurs", "06000 Nice"})
	if r.Number != 5 || r.Index != "BIS" || r.StreetType != "AVENUE" || r.Street != "AVENUE DES FLEURS" ||
		r.PostalCode != "06000" || r.Locality != "NICE" || r.INSEE != "06088" || r.Country != "FR" || !r.Validated {
		t.Errorf("parts: %+v", r)
	}
	r = Normalize([]string{"12 rue Schoelcher", "97110 Pointe-à-Pitre"})
	if r.Territory != "GP" || r.Country != "FR" || r.Lines[6] != "" {
		t.Errorf("DROM: %+v", r)
	}
	r = Normalize([]string{"Rue de la Loi 16", "1000 Bruxelles", "Belgique"})
	if r.Country != "BE" || r.PostalCode != "1000" || r.Validated {
		t.Errorf("foreign: %+v", r)
	}
}

// TestReferenceBase checks the embedded base against the counts its README
// states (39,192 rows, 6,328 postal codes, 35,007 INSEE codes before the
// three Paris/Lyon/Marseille commune codes are added).
func TestReferenceBase(t *testing.T) {
	t.Parallel()
	r := base()
	if len(r.places) != 39192 || len(r.byCP) != 6328 || len(r.byINSEE) != 35007+3 {
		t.Errorf("base: %d rows, %d codes, %d INSEE", len(r.places), len(r.byCP), len(r.byINSEE))
	}
	if len(Towns()) != 39192 {
		t.Errorf("Towns")
	}
}

func TestTownKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Saint-Étienne": "ST ETIENNE", "ABERGEMENT-DE-VAREY (L )": "L ABERGEMENT DE VAREY",
		"Havre (Le)": "LE HAVRE", "L'Haÿ-les-Roses": "L HAY LES ROSES", "Montpellier Cedex 5": "MONTPELLIER",
		"Sainte-Foy-lès-Lyon": "STE FOY LES LYON",
	} {
		if got := townKey(in); got != want {
			t.Errorf("townKey(%q) = %q; want %q", in, got, want)
		}
	}
}
