package geo

import (
	"slices"
	"strings"
	"testing"
)

func ref(t testing.TB) *Reference {
	t.Helper()
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Hand-checked against shared/data/fr_admin (communes.csv, departements.csv,
// regions.csv) and fr_postal_codes/laposte_hexasmal.csv.
func TestResolve(t *testing.T) {
	t.Parallel()
	r := ref(t)
	lyon := Place{Status: StatusCommune, INSEE: "69123", Commune: "Lyon", Departement: "69", DepartementName: "Rhône",
		Region: "84", RegionName: "Auvergne-Rhône-Alpes"}
	with := func(p Place, f func(*Place)) Place { f(&p); return p }
	cases := []struct {
		name string
		in   Input
		want Place
	}{
		// Paris, Lyon and Marseille: the commune, and the arrondissement
		// municipal the postal code belongs to.
		{"lyon 3e", Input{PostalCode: "69003"}, with(lyon, func(p *Place) {
			p.PostalCode, p.ArrondissementINSEE, p.Arrondissement = "69003", "69383", "Lyon 3e Arrondissement"
		})},
		{"paris 1er", Input{PostalCode: "75001", City: "Paris"}, Place{Status: StatusCommune, PostalCode: "75001", INSEE: "75056", Commune: "Paris",
			ArrondissementINSEE: "75101", Arrondissement: "Paris 1er Arrondissement", Departement: "75", DepartementName: "Paris", Region: "11", RegionName: "Île-de-France"}},
		{"marseille 1er", Input{PostalCode: "13001"}, Place{Status: StatusCommune, PostalCode: "13001", INSEE: "13055", Commune: "Marseille",
			ArrondissementINSEE: "13201", Arrondissement: "Marseille 1er Arrondissement", Departement: "13", DepartementName: "Bouches-du-Rhône",
			Region: "93", RegionName: "Provence-Alpes-Côte d'Azur"}},
		// Corsica: 2A and 2B are kept as text.
		{"ajaccio", Input{PostalCode: "20000"}, Place{Status: StatusCommune, PostalCode: "20000", INSEE: "2A004", Commune: "Ajaccio",
			Departement: "2A", DepartementName: "Corse-du-Sud", Region: "94", RegionName: "Corse"}},
		{"20200 shared, no city", Input{PostalCode: "20200"}, Place{Status: StatusAmbiguous, PostalCode: "20200",
			Departement: "2B", DepartementName: "Haute-Corse", Region: "94", RegionName: "Corse",
			Candidates: []string{"2B033", "2B305", "2B309", "2B353"}}},
		{"20200 Bastia", Input{PostalCode: "20200", City: "BASTIA"}, Place{Status: StatusCommune, PostalCode: "20200", INSEE: "2B033", Commune: "Bastia",
			Departement: "2B", DepartementName: "Haute-Corse", Region: "94", RegionName: "Corse"}},
		// A lieu-dit (La Poste line 5) picks its commune.
		{"20200 Pietranera", Input{PostalCode: "20200", City: "Pietranera"}, Place{Status: StatusCommune, PostalCode: "20200", INSEE: "2B305",
			Commune: "San-Martino-di-Lota", Departement: "2B", DepartementName: "Haute-Corse", Region: "94", RegionName: "Corse"}},
		// Overseas: three-digit départements, the région of the same name.
		{"basse-terre", Input{PostalCode: "97100"}, Place{Status: StatusCommune, PostalCode: "97100", INSEE: "97105", Commune: "Basse-Terre",
			Departement: "971", DepartementName: "Guadeloupe", Region: "01", RegionName: "Guadeloupe"}},
		{"saint-barthélemy", Input{PostalCode: "97133"}, Place{Status: StatusCommune, PostalCode: "97133", INSEE: "97701", Commune: "Saint-Barthélemy",
			Departement: "977", DepartementName: "Saint-Barthélemy", Region: "977", RegionName: "Saint-Barthélemy"}},
		// A code shared by six communes of the Ain.
		{"01090 no city", Input{PostalCode: "01090"}, Place{Status: StatusAmbiguous, PostalCode: "01090", Departement: "01", DepartementName: "Ain",
			Region: "84", RegionName: "Auvergne-Rhône-Alpes", Candidates: []string{"01165", "01169", "01183", "01225", "01258", "01263"}}},
		{"01090 unknown city", Input{PostalCode: "01090", City: "Lyon"}, Place{Status: StatusAmbiguous, PostalCode: "01090", Departement: "01", DepartementName: "Ain",
			Region: "84", RegionName: "Auvergne-Rhône-Alpes", Candidates: []string{"01165", "01169", "01183", "01225", "01258", "01263"}}},
		{"01090 genouilleux", Input{PostalCode: "01090", City: "genouilleux"}, Place{Status: StatusCommune, PostalCode: "01090", INSEE: "01169",
			Commune: "Genouilleux", Departement: "01", DepartementName: "Ain", Region: "84", RegionName: "Auvergne-Rhône-Alpes"}},
		{"01000 saint-denis", Input{PostalCode: "1000", City: "Saint-Denis-lès-Bourg"}, Place{Status: StatusCommune, PostalCode: "01000", INSEE: "01344",
			Commune: "Saint-Denis-lès-Bourg", Departement: "01", DepartementName: "Ain", Region: "84", RegionName: "Auvergne-Rhône-Alpes"}},
		// CEDEX codes are not in La Poste's public base: the département from
		// the digits, the commune when the town names one.
		{"cedex lyon", Input{PostalCode: "69441", City: "LYON CEDEX 03"}, with(lyon, func(p *Place) { p.PostalCode = "69441" })},
		{"cedex la défense", Input{PostalCode: "92099", City: "La Défense Cedex"}, Place{Status: StatusDepartement, PostalCode: "92099",
			Departement: "92", DepartementName: "Hauts-de-Seine", Region: "11", RegionName: "Île-de-France"}},
		// INSEE codes, current and former.
		{"insee bastia", Input{INSEE: "2b033"}, Place{Status: StatusCommune, INSEE: "2B033", Commune: "Bastia",
			Departement: "2B", DepartementName: "Haute-Corse", Region: "94", RegionName: "Corse"}},
		{"insee arrondissement", Input{INSEE: "69383"}, with(lyon, func(p *Place) { p.ArrondissementINSEE, p.Arrondissement = "69383", "Lyon 3e Arrondissement" })},
		{"insee delegated", Input{INSEE: "01039"}, Place{Status: StatusCommune, INSEE: "01138", Commune: "Culoz-Béon",
			Departement: "01", DepartementName: "Ain", Region: "84", RegionName: "Auvergne-Rhône-Alpes"}},
		{"insee wins over postal code", Input{INSEE: "69383", PostalCode: "01090"}, with(lyon, func(p *Place) {
			p.PostalCode, p.ArrondissementINSEE, p.Arrondissement = "01090", "69383", "Lyon 3e Arrondissement"
		})},
		{"unknown insee, known postal code", Input{INSEE: "00000", PostalCode: "20000"}, Place{Status: StatusCommune, PostalCode: "20000", INSEE: "2A004",
			Commune: "Ajaccio", Departement: "2A", DepartementName: "Corse-du-Sud", Region: "94", RegionName: "Corse"}},
		{"spaces", Input{PostalCode: " 69 003 "}, with(lyon, func(p *Place) {
			p.PostalCode, p.ArrondissementINSEE, p.Arrondissement = "69003", "69383", "Lyon 3e Arrondissement"
		})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := r.Resolve(c.in)
			if !ok {
				t.Fatalf("%+v: not resolved", c.in)
			}
			if !equal(got, c.want) {
				t.Errorf("%+v:\n got %+v\nwant %+v", c.in, got, c.want)
			}
		})
	}
}

func equal(a, b Place) bool {
	return slices.Equal(a.Candidates, b.Candidates) &&
		[10]string{string(a.Status), a.PostalCode, a.INSEE, a.Commune, a.ArrondissementINSEE, a.Arrondissement, a.Departement, a.DepartementName, a.Region, a.RegionName} ==
			[10]string{string(b.Status), b.PostalCode, b.INSEE, b.Commune, b.ArrondissementINSEE, b.Arrondissement, b.Departement, b.DepartementName, b.Region, b.RegionName}
}

// Nothing is placed from codes that name nothing, and hostile input is
// refused without panicking.
func TestResolveUnknown(t *testing.T) {
	t.Parallel()
	r := ref(t)
	for _, in := range []Input{
		{},
		{PostalCode: "99999"}, // 99 is no département (INSEE uses it for abroad)
		{PostalCode: "00000"},
		{PostalCode: "96000"},
		{PostalCode: "ABCDE"},
		{PostalCode: "123456"},
		{PostalCode: "123"},
		{PostalCode: "6900３"}, // a full-width digit
		{PostalCode: "69\x00003"},
		{PostalCode: "\xff\xfe003"},
		{PostalCode: strings.Repeat("6", 100000)},
		{INSEE: "99999"},
		{INSEE: strings.Repeat("A", 100000)},
		{City: "Lyon"},
	} {
		if p, ok := r.Resolve(in); ok {
			t.Errorf("%.40q: placed at %+v", in, p)
		}
	}
	// A huge or binary city name is ignored, not matched.
	p, ok := r.Resolve(Input{PostalCode: "01090", City: strings.Repeat("É", 50000) + "\xff"})
	if !ok || p.Status != StatusAmbiguous {
		t.Errorf("long city: %+v %v", p, ok)
	}
}

// Every postal code of La Poste's base places somewhere with a département
// and a région, and every commune of the INSEE table resolves by its code.
func TestReferenceCoversTheBase(t *testing.T) {
	t.Parallel()
	r := ref(t)
	if len(r.byPostal) < 6300 {
		t.Fatalf("%d postal codes", len(r.byPostal))
	}
	for cp := range r.byPostal {
		p, ok := r.Resolve(Input{PostalCode: cp})
		if !ok || (p.Status == StatusCommune && (p.Departement == "" || p.Region == "")) {
			t.Fatalf("%s: %+v %v", cp, p, ok)
		}
	}
	for code, u := range r.communes {
		p, ok := r.Resolve(Input{INSEE: code})
		if !ok || p.Status != StatusCommune || p.Departement == "" || p.RegionName == "" {
			t.Fatalf("%s (%s): %+v", code, u.name, p)
		}
	}
}

func TestPostalCode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"69003": "69003", "1000": "01000", " 75 001 ": "75001", "7500": "07500",
		"750011": "", "75O01": "", "": "", "2A004": ""} {
		if got := PostalCode(in); got != want {
			t.Errorf("PostalCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"69003", "20200", "01090", "97133", "69441"} {
		f.Add(s, "LYON CEDEX 03", "69383")
	}
	r, err := Default()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, cp, city, insee string) {
		p, ok := r.Resolve(Input{PostalCode: cp, City: city, INSEE: insee})
		if ok && p.Status == StatusCommune && (p.INSEE == "" || p.Commune == "") {
			t.Fatalf("commune without code or name: %+v", p)
		}
		if ok && p.Status == StatusAmbiguous && len(p.Candidates) < 2 {
			t.Fatalf("ambiguous with %d candidates", len(p.Candidates))
		}
	})
}
