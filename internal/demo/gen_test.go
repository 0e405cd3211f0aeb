package demo

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The French demo contacts are generated, seeded, from two real files: the
// customer ids of the bundled Online Retail sample (so the contacts own those
// orders) and La Poste's base of postal codes (so every address has a real
// postal code and commune). This test regenerates them and fails when the
// committed files differ; -update rewrites them.
var update = flag.Bool("update", false, "rewrite data/contacts_fr.csv and data/consents_fr.csv")

const laPostePath = "../../../shared/data/fr_postal_codes/laposte_hexasmal.csv"

func TestFrenchContactsRegenerate(t *testing.T) {
	communes, err := readLaPoste(laPostePath)
	if err != nil {
		t.Skipf("La Poste base not available beside the checkout: %v", err)
	}
	retail, err := os.ReadFile(filepath.Join("data", "online_retail_sample_20k.csv"))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := retailCustomers(retail)
	if err != nil {
		t.Fatal(err)
	}
	contacts, consents := generateFrench(ids, communes, 20261203)
	for name, want := range map[string][]byte{"contacts_fr.csv": contacts, "consents_fr.csv": consents} {
		path := filepath.Join("data", name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the generator gives (run go test ./internal/demo -run Regenerate -update)", path)
		}
	}
}

type commune struct{ insee, name, postal string }

func readLaPoste(path string) ([]commune, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []commune
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		p := strings.Split(sc.Text(), ";")
		if len(p) < 5 || p[4] != "" || strings.HasPrefix(p[0], "98") || strings.HasPrefix(p[0], "99") {
			continue // keep the main line of metropolitan and overseas communes
		}
		out = append(out, commune{p[0], p[1], p[2]})
	}
	return out, sc.Err()
}

func retailCustomers(data []byte) ([]string, error) {
	r := csv.NewReader(bytes.NewReader(data))
	rows, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ids []string
	for _, row := range rows[1:] {
		if id := row[6]; id != "NA" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

var (
	frGiven = []struct{ name, civ string }{
		{"Jean", "M."}, {"Pierre", "M."}, {"Michel", "M."}, {"André", "M."}, {"Philippe", "M."}, {"Alain", "M."},
		{"Nicolas", "M."}, {"Christophe", "M."}, {"Julien", "M."}, {"Thomas", "M."}, {"Antoine", "M."}, {"Lucas", "M."},
		{"Hugo", "M."}, {"Louis", "M."}, {"François", "M."}, {"Éric", "M."}, {"Jérôme", "M."}, {"Sébastien", "M."},
		{"Mathieu", "M."}, {"Olivier", "M."}, {"Marie", "Mme"}, {"Nathalie", "Mme"}, {"Isabelle", "Mme"},
		{"Sylvie", "Mme"}, {"Catherine", "Mme"}, {"Françoise", "Mme"}, {"Christine", "Mme"}, {"Sophie", "Mme"},
		{"Camille", "Mme"}, {"Léa", "Mme"}, {"Chloé", "Mme"}, {"Manon", "Mme"}, {"Emma", "Mme"}, {"Julie", "Mme"},
		{"Céline", "Mme"}, {"Hélène", "Mme"}, {"Anne-Sophie", "Mme"}, {"Jean-Pierre", "M."}, {"Marie-Claire", "Mme"},
		{"Zoé", "Mme"},
	}
	frSurnames = []string{
		"Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent",
		"Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard",
		"Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Lefèvre", "Faure", "André",
		"Mercier", "Blanc", "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Garcia",
		"Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson",
		"Le Goff", "Da Silva", "N'Diaye", "Zylberstein", "Ollivier-Ménard",
	}
	frStreets = []string{
		"rue de la République", "rue Victor Hugo", "avenue Jean Jaurès", "rue des Lilas", "boulevard Gambetta",
		"rue de la Gare", "place de l'Église", "chemin du Moulin", "impasse des Acacias", "allée des Tilleuls",
		"rue Pasteur", "avenue du Général de Gaulle", "rue du Château", "boulevard de la Liberté", "rue Nationale",
		"route de Paris", "rue des Écoles", "rue du Stade", "avenue Foch", "quai de la Loire", "rue Jean Moulin",
		"square Louise Michel", "rue de Verdun", "cours Lafayette", "rue Saint-Michel",
	}
	frDomains = []string{"orange.fr", "gmail.com", "free.fr", "laposte.net", "sfr.fr", "wanadoo.fr", "hotmail.fr", "yahoo.fr"}
)

// generateFrench writes one French contact per second Online Retail customer
// (numero_client = the CustomerID, so the contact owns that customer's
// orders), 4% of them entered a second time under a new client number with
// the kind of drift a CRM accumulates (a typo in the name, another e-mail, the
// street written differently), and the contacts' consent history.
func generateFrench(customerIDs []string, communes []commune, seed uint64) (contacts, consents []byte) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var cb, kb bytes.Buffer
	cw, kw := csv.NewWriter(&cb), csv.NewWriter(&kb)
	cw.Comma, kw.Comma = ';', ';'
	cb.WriteString("\ufeff")
	_ = cw.Write([]string{"numero_client", "civilite", "prenom", "nom", "email", "telephone", "adresse", "code_postal", "ville", "date_naissance"})
	_ = kw.Write([]string{"numero_client", "finalite", "statut", "date_consentement", "canal"})
	nextID := 90001
	used := map[string]bool{} // an e-mail belongs to one person: a second Marie Martin gets marie.martin2
	uniq := func(local, domain string) string {
		e := local + "@" + domain
		for n := 2; used[e]; n++ {
			e = fmt.Sprintf("%s%d@%s", local, n, domain)
		}
		used[e] = true
		return e
	}
	for i := 0; i < len(customerIDs); i += 2 {
		id := customerIDs[i]
		g := frGiven[rng.IntN(len(frGiven))]
		sn := frSurnames[rng.IntN(len(frSurnames))]
		c := communes[rng.IntN(len(communes))]
		num := 1 + rng.IntN(120)
		street := frStreets[rng.IntN(len(frStreets))]
		dob := fmt.Sprintf("%02d/%02d/%d", 1+rng.IntN(28), 1+rng.IntN(12), 1945+rng.IntN(60))
		email := uniq(asciiLower(g.name)+"."+asciiLower(sn), frDomains[rng.IntN(len(frDomains))])
		phone := frenchPhone(rng)
		town := c.name
		switch rng.IntN(3) { // exports mix the cases of town names
		case 0:
			town = titleCase(c.name)
		case 1:
			town = strings.ToLower(c.name)
		}
		switch rng.IntN(10) { // what CRM exports look like
		case 0:
			email = "  " + strings.ToUpper(email) + " "
		case 1:
			email = ""
		case 2:
			phone = ""
		}
		postal := c.postal
		if strings.HasPrefix(postal, "0") && rng.IntN(15) == 0 {
			postal = postal[1:] // a spreadsheet dropped the leading zero
		}
		addr := fmt.Sprintf("%d %s", num, street)
		_ = cw.Write([]string{id, g.civ, g.name, sn, email, phone, addr, postal, town, dob})
		writeConsents(kw, rng, id)
		if rng.IntN(25) == 0 {
			dupID := fmt.Sprint(nextID)
			nextID++
			dupEmail := uniq(fmt.Sprintf("%s%d", asciiLower(sn), 1+rng.IntN(99)), frDomains[rng.IntN(len(frDomains))])
			_ = cw.Write([]string{dupID, g.civ, typo(rng, g.name), sn, dupEmail, "", fmt.Sprintf("%d, %s", num, abbreviate(street)), c.postal, strings.ToUpper(c.name), dob})
			writeConsents(kw, rng, dupID)
		}
	}
	cw.Flush()
	kw.Flush()
	return cb.Bytes(), kb.Bytes()
}

func writeConsents(kw *csv.Writer, rng *rand.Rand, id string) {
	day := func() string {
		return fmt.Sprintf("%02d/%02d/%d", 1+rng.IntN(28), 1+rng.IntN(12), 2019+rng.IntN(3))
	}
	switch r := rng.IntN(100); {
	case r < 55:
		_ = kw.Write([]string{id, "email_marketing", "granted", day(), "web"})
	case r < 65:
		_ = kw.Write([]string{id, "email_marketing", "granted", "15/03/2018", "web"})
		_ = kw.Write([]string{id, "email_marketing", "withdrawn", day(), "email"})
	case r < 80:
		_ = kw.Write([]string{id, "email_marketing", "denied", day(), "web"})
	}
	if rng.IntN(100) < 30 {
		_ = kw.Write([]string{id, "sms", "granted", day(), "store"})
	}
}

func frenchPhone(rng *rand.Rand) string {
	d := fmt.Sprintf("6%08d", rng.IntN(100000000))
	if rng.IntN(4) == 0 { // 07 mobiles are allocated from 073 to 079
		d = fmt.Sprintf("7%d%07d", 3+rng.IntN(7), rng.IntN(10000000))
	}
	switch rng.IntN(3) {
	case 0:
		return "0" + d[:1] + " " + d[1:3] + " " + d[3:5] + " " + d[5:7] + " " + d[7:]
	case 1:
		return "+33 " + d[:1] + " " + d[1:3] + " " + d[3:5] + " " + d[5:7] + " " + d[7:]
	}
	return "0" + d
}

func asciiLower(s string) string {
	r := strings.NewReplacer("é", "e", "è", "e", "ç", "c", "É", "e", "ô", "o", "'", "", " ", "", "-", "")
	return strings.ToLower(r.Replace(s))
}

func titleCase(s string) string {
	words := strings.Fields(strings.ToLower(s))
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

func typo(rng *rand.Rand, s string) string {
	r := []rune(s)
	if len(r) < 4 {
		return s
	}
	i := 1 + rng.IntN(len(r)-2)
	r[i], r[i+1] = r[i+1], r[i]
	return string(r)
}

func abbreviate(street string) string {
	return strings.NewReplacer("rue ", "r. ", "avenue ", "av. ", "boulevard ", "bd ", "place ", "pl. ", "chemin ", "ch. ").Replace(street)
}
