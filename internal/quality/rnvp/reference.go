package rnvp

import (
	"bufio"
	"compress/gzip"
	"embed"
	"strconv"
	"strings"
	"sync"

	"github.com/atrium-cdp/atrium/internal/quality"
)

//go:embed data/laposte_hexasmal.csv.gz
var refData embed.FS

// place is one row of La Poste's base officielle des codes postaux: one
// (INSEE commune, postal code, line 5) triple.
type place struct {
	insee      string
	cp         string
	libelle    string // libellé d'acheminement: the town of line 6
	ligne5     string // lieu-dit or commune déléguée, "" when none
	nom        string // commune name (La Poste spelling)
	population int    // INSEE legal population of the commune, 0 when unknown
}

// hit is a match of a town key on one field of a place.
type hit struct {
	row   int32
	field uint8 // fieldLibelle, fieldNom or fieldLigne5
}

const (
	fieldLibelle = iota
	fieldNom
	fieldLigne5
)

// reference indexes the base for the lookups RNVP needs.
type reference struct {
	places  []place
	byCP    map[string][]int32
	byINSEE map[string][]int32
	byKey   map[string][]hit
	keys    []string // distinct keys, for fuzzy matching
	// keysByInitial buckets keys by first letter: fuzzy matching assumes
	// the first letter is right, which keeps a national search to a few
	// hundred comparisons.
	keysByInitial map[byte][]string
}

var (
	refOnce sync.Once
	ref     *reference
)

// base decodes the embedded base on first use (about 39,000 rows, 20 ms).
// It is part of the binary, so failure is a build defect: it panics.
func base() *reference {
	refOnce.Do(func() {
		f, err := refData.Open("data/laposte_hexasmal.csv.gz")
		if err != nil {
			panic("rnvp: embedded base: " + err.Error())
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			panic("rnvp: embedded base: " + err.Error())
		}
		r := &reference{
			byCP:    make(map[string][]int32, 6400),
			byINSEE: make(map[string][]int32, 35100),
			byKey:   make(map[string][]hit, 45000),
		}
		sc := bufio.NewScanner(zr)
		sc.Scan() // header
		for sc.Scan() {
			cols := strings.Split(sc.Text(), ";")
			if len(cols) != 6 {
				panic("rnvp: embedded base: bad row " + sc.Text())
			}
			p := place{insee: cols[0], cp: cols[1], libelle: cols[2], ligne5: cols[3], nom: cols[4]}
			if p.nom == "" {
				p.nom = p.libelle
			}
			p.population, _ = strconv.Atoi(cols[5])
			i := int32(len(r.places))
			r.places = append(r.places, p)
			r.byCP[p.cp] = append(r.byCP[p.cp], i)
			r.byINSEE[p.insee] = append(r.byINSEE[p.insee], i)
			r.addKey(townKey(p.libelle), hit{i, fieldLibelle})
			if p.nom != p.libelle {
				r.addKey(townKey(p.nom), hit{i, fieldNom})
			}
			if p.ligne5 != "" {
				r.addKey(townKey(p.ligne5), hit{i, fieldLigne5})
			}
		}
		if err := sc.Err(); err != nil {
			panic("rnvp: embedded base: " + err.Error())
		}
		// Paris, Lyon and Marseille are listed by arrondissement; their
		// commune codes are typed as postal codes too (rnvp.md §3.3).
		for code, prefix := range map[string]string{"75056": "751", "69123": "6938", "13055": "132"} {
			for insee, rows := range r.byINSEE {
				if strings.HasPrefix(insee, prefix) && insee != code {
					r.byINSEE[code] = append(r.byINSEE[code], rows...)
				}
			}
		}
		ref = r
	})
	return ref
}

func (r *reference) addKey(k string, h hit) {
	if k == "" {
		return
	}
	if _, ok := r.byKey[k]; !ok {
		r.keys = append(r.keys, k)
		if r.keysByInitial == nil {
			r.keysByInitial = map[byte][]string{}
		}
		r.keysByInitial[k[0]] = append(r.keysByInitial[k[0]], k)
	}
	r.byKey[k] = append(r.byKey[k], h)
}

// townKey is the matching key of a town name (rnvp.md §3.3): upper case,
// unaccented, punctuation as spaces, SAINT(E)(S) as ST(E)(S), a trailing
// "(LE)" article moved to the front, CEDEX and its number dropped.
func townKey(s string) string {
	f, _ := quality.Fold(s)
	f = strings.TrimSpace(f)
	if strings.HasSuffix(f, ")") {
		if i := strings.LastIndexByte(f, '('); i > 0 {
			art := strings.TrimSpace(f[i+1 : len(f)-1])
			switch art {
			case "L", "LE", "LA", "LES", "L'":
				f = art + " " + f[:i]
			}
		}
	}
	words := strings.Fields(quality.PostalText(f))
	out := words[:0]
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch w {
		case "SAINT":
			w = "ST"
		case "SAINTE":
			w = "STE"
		case "SAINTS":
			w = "STS"
		case "SAINTES":
			w = "STES"
		case "CEDEX":
			if i+1 < len(words) && isDigits(words[i+1]) {
				i++
			}
			continue
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// fuzzyTown returns the keys with the same first letter within the
// edit-distance budget of k (1 for short names, 2 from 9 letters), all at
// the smallest distance found; only keys accepted by keep are considered.
func (r *reference) fuzzyTown(k string, keep func(string) bool) []string {
	max := fuzzBudget(k)
	if max == 0 {
		return nil
	}
	best := max + 1
	var out []string
	for _, cand := range r.keysByInitial[k[0]] {
		if d := len(cand) - len(k); d > max || -d > max {
			continue
		}
		if keep != nil && !keep(cand) {
			continue
		}
		d := quality.EditDistance(k, cand, max)
		switch {
		case d < best:
			best, out = d, append(out[:0], cand)
		case d == best && d <= max:
			out = append(out, cand)
		}
	}
	return out
}

func fuzzBudget(k string) int {
	switch n := len(k); {
	case n < 5:
		return 0
	case n < 9:
		return 1
	default:
		return 2
	}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// territoryOf returns the ISO code of a French territory from its postal
// code, "" for metropolitan France.
func territoryOf(cp string) string {
	switch {
	case cp == "97133":
		return "BL"
	case cp == "97150":
		return "MF"
	case strings.HasPrefix(cp, "980"):
		return "MC"
	case len(cp) == 5 && (cp[:2] == "97" || cp[:2] == "98"):
		switch cp[:3] {
		case "971":
			return "GP"
		case "972":
			return "MQ"
		case "973":
			return "GF"
		case "974":
			return "RE"
		case "975":
			return "PM"
		case "976":
			return "YT"
		case "986":
			return "WF"
		case "987":
			return "PF"
		case "988":
			return "NC"
		}
	}
	return ""
}

// Town is one row of La Poste's base, for callers that need the reference
// itself (pickers, test-data generators).
type Town struct {
	INSEE      string `json:"insee"`
	PostalCode string `json:"postal_code"`
	Locality   string `json:"locality"` // libellé d'acheminement
	Line5      string `json:"line5,omitempty"`
	Commune    string `json:"commune"`
}

// Towns returns a copy of the embedded base, in its order.
func Towns() []Town {
	r := base()
	out := make([]Town, len(r.places))
	for i, p := range r.places {
		out[i] = Town{INSEE: p.insee, PostalCode: p.cp, Locality: p.libelle, Line5: p.ligne5, Commune: p.nom}
	}
	return out
}
