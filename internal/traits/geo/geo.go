// Package geo places a French postal code or INSEE commune code in the
// administrative map: commune (and arrondissement municipal in Paris, Lyon and
// Marseille), département and région.
//
// Its data are two embedded reference tables, read once on first use and
// never modified: La Poste's base officielle des codes postaux, which package
// rnvp already embeds (postal code → INSEE communes, with La Poste's names),
// and the INSEE Code Officiel Géographique 2026 (data/admin.tsv.gz: official
// names, départements, régions, former codes), built by ./gen.
//
// Invariants: Resolve never panics and never guesses. A postal code shared
// by several communes gives a commune only when the city name picks exactly
// one of them; otherwise the commune is omitted and the candidates listed,
// and the département and région are still given when every candidate
// agrees. A code absent from La Poste's base (CEDEX codes, which La Poste
// sells separately) gives only the département its digits name, plus the
// commune when the city names exactly one commune of that département.
// Every method is safe for concurrent use.
package geo

import (
	"bufio"
	"compress/gzip"
	"embed"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/atrium-cdp/atrium/internal/quality"
	"github.com/atrium-cdp/atrium/internal/quality/rnvp"
)

//go:embed data/admin.tsv.gz
var adminData embed.FS

// Status says how far Resolve got.
type Status string

const (
	StatusCommune     Status = "commune"     // the commune is known
	StatusAmbiguous   Status = "ambiguous"   // a postal code of several communes, none picked by the city
	StatusDepartement Status = "departement" // only the département (a CEDEX or unlisted code)
)

// Input is what a profile says about where it is. Any field may be empty.
type Input struct {
	PostalCode string // French postal code, as typed ("69003", "1000", "75 001")
	City       string // town as typed, used to pick among the communes of a code
	INSEE      string // INSEE commune code ("69383", "2A004")
}

// Place is a resolved location. Codes are text: leading zeros, 2A and 2B
// are kept.
type Place struct {
	Status              Status   `json:"status"`
	PostalCode          string   `json:"postal_code,omitempty"`          // normalised to 5 digits
	INSEE               string   `json:"insee,omitempty"`                // the commune's INSEE code
	Commune             string   `json:"commune,omitempty"`              // its official name ("Lyon")
	ArrondissementINSEE string   `json:"arrondissement_insee,omitempty"` // Paris, Lyon, Marseille only
	Arrondissement      string   `json:"arrondissement,omitempty"`       // "Lyon 3e Arrondissement"
	Departement         string   `json:"departement,omitempty"`          // "69", "2A", "971"
	DepartementName     string   `json:"departement_name,omitempty"`
	Region              string   `json:"region,omitempty"` // "84"; for overseas collectivities, their own code
	RegionName          string   `json:"region_name,omitempty"`
	Candidates          []string `json:"candidates,omitempty"` // INSEE codes of the communes of an ambiguous code
}

type unit struct {
	code, name string
	dept       string // départements: region code; communes: département code
	parent     string // arrondissements: commune code
}

// Reference is the loaded tables.
type Reference struct {
	regions, depts map[string]unit
	communes       map[string]unit   // communes and arrondissements municipaux, by INSEE code
	links          map[string]string // former, delegated, associated code → current commune
	byPostal       map[string][]string
	names          map[string][]string // dept + "|" + town key → INSEE codes
}

var defaultRef = sync.OnceValues(load)

// Default returns the embedded reference, decoding it on first use (about
// 39,000 + 39,000 rows, a few hundred milliseconds with La Poste's base).
func Default() (*Reference, error) { return defaultRef() }

func load() (*Reference, error) {
	r := &Reference{
		regions: map[string]unit{}, depts: map[string]unit{}, communes: make(map[string]unit, 35100),
		links: map[string]string{}, byPostal: make(map[string][]string, 6400), names: make(map[string][]string, 80000),
	}
	f, err := adminData.Open("data/admin.tsv.gz")
	if err != nil {
		return nil, fmt.Errorf("geo: embedded data: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("geo: embedded data: %w", err)
	}
	sc := bufio.NewScanner(zr)
	for n := 1; sc.Scan(); n++ {
		c := strings.Split(sc.Text(), "\t")
		ok := len(c) >= 3
		switch {
		case ok && c[0] == "R":
			r.regions[c[1]] = unit{code: c[1], name: c[2]}
		case ok && c[0] == "D" && len(c) == 4:
			r.depts[c[1]] = unit{code: c[1], name: c[2], dept: c[3]}
		case ok && c[0] == "C" && len(c) == 4:
			r.communes[c[1]] = unit{code: c[1], name: c[2], dept: c[3]}
		case ok && c[0] == "A" && len(c) == 4:
			p, found := r.communes[c[3]]
			if !found {
				return nil, fmt.Errorf("geo: embedded data line %d: arrondissement of unknown commune %s", n, c[3])
			}
			r.communes[c[1]] = unit{code: c[1], name: c[2], dept: p.dept, parent: c[3]}
		case ok && c[0] == "L":
			r.links[c[1]] = c[2]
		default:
			return nil, fmt.Errorf("geo: embedded data line %d: %q", n, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("geo: embedded data: %w", err)
	}
	for _, u := range r.communes {
		r.addName(u.dept, u.name, u.code)
	}
	for _, t := range rnvp.Towns() {
		code := r.current(t.INSEE)
		u, ok := r.communes[code]
		if !ok {
			continue // a code neither INSEE table knows: skipped rather than half-described
		}
		if !slices.Contains(r.byPostal[t.PostalCode], code) {
			r.byPostal[t.PostalCode] = append(r.byPostal[t.PostalCode], code)
		}
		r.addName(u.dept, t.Commune, code)
		r.addName(u.dept, t.Locality, code)
		r.addName(u.dept, t.Line5, code)
	}
	return r, nil
}

func (r *Reference) addName(dept, name, code string) {
	k := townKey(name)
	if k == "" {
		return
	}
	k = dept + "|" + k
	if !slices.Contains(r.names[k], code) {
		r.names[k] = append(r.names[k], code)
	}
}

// current maps a former or delegated code to today's commune; other codes
// are returned as they are.
func (r *Reference) current(code string) string {
	for range 4 { // a commune nouvelle of communes nouvelles: a short chain
		to, ok := r.links[code]
		if !ok {
			break
		}
		code = to
	}
	return code
}

// townKey is the comparison form of a town name: postal charset (upper
// case, no accents or punctuation), SAINT(E) as ST(E) as La Poste writes
// them, a CEDEX mention and its number dropped.
func townKey(s string) string {
	if len(s) > 200 {
		return ""
	}
	words := strings.Fields(quality.PostalText(s))
	out := words[:0]
	for i := 0; i < len(words); i++ {
		switch w := words[i]; w {
		case "SAINT":
			out = append(out, "ST")
		case "SAINTE":
			out = append(out, "STE")
		case "CEDEX":
			if i+1 < len(words) && isDigits(words[i+1]) {
				i++
			}
		default:
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// PostalCode normalises a French postal code: spaces dropped, a 4-digit
// code padded with its lost leading zero ("1000" → "01000"). It returns ""
// for anything that is not 5 digits then.
func PostalCode(s string) string {
	if len(s) > 16 {
		return ""
	}
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\u00a0' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) == 4 && isDigits(s) {
		s = "0" + s
	}
	if len(s) != 5 || !isDigits(s) {
		return ""
	}
	return s
}

// deptOfPostal is the département a postal code's digits name: the first
// two, three overseas (97x, 98x), and for Corsica (20) 2A up to 20199, 2B
// from 20200. Codes are assigned by distribution office, so a few communes
// sit in another département than their code suggests: this is only used
// for codes absent from La Poste's base.
func deptOfPostal(cp string) string {
	switch {
	case cp[:2] == "97" || cp[:2] == "98":
		return cp[:3]
	case cp[:2] == "20" && cp < "20200":
		return "2A"
	case cp[:2] == "20":
		return "2B"
	}
	return cp[:2]
}

// Resolve places in. It reports false when nothing could be placed: no
// usable code, an unknown INSEE code, a postal code whose digits name no
// département.
func (r *Reference) Resolve(in Input) (Place, bool) {
	if code := strings.ToUpper(strings.TrimSpace(in.INSEE)); code != "" && len(code) <= 8 {
		if p, ok := r.commune(r.current(code)); ok {
			p.PostalCode = PostalCode(in.PostalCode)
			return p, true
		}
	}
	cp := PostalCode(in.PostalCode)
	if cp == "" {
		return Place{}, false
	}
	city := townKey(in.City)
	cands := r.byPostal[cp]
	if len(cands) == 0 {
		// A CEDEX or unlisted code: the département from the digits, the
		// commune when the city names one commune of it.
		d, ok := r.depts[deptOfPostal(cp)]
		if !ok {
			return Place{}, false
		}
		if city != "" {
			if p, ok := r.single(r.names[d.code+"|"+city]); ok {
				p.PostalCode = cp
				return p, true
			}
		}
		p := Place{Status: StatusDepartement, PostalCode: cp}
		r.fillDept(&p, d.code)
		return p, true
	}
	if len(cands) > 1 && city != "" {
		var picked []string
		for _, c := range cands {
			if slices.Contains(r.names[r.communes[c].dept+"|"+city], c) {
				picked = append(picked, c)
			}
		}
		if len(picked) > 0 {
			cands = picked
		}
	}
	if p, ok := r.single(cands); ok {
		p.PostalCode = cp
		return p, true
	}
	p := Place{Status: StatusAmbiguous, PostalCode: cp, Candidates: slices.Sorted(slices.Values(cands))}
	dept := r.communes[cands[0]].dept
	for _, c := range cands[1:] {
		if r.communes[c].dept != dept {
			dept = ""
		}
	}
	if dept != "" {
		r.fillDept(&p, dept)
	} else {
		// Different départements (rare: a code across a border) may still
		// share the région.
		reg := r.depts[r.communes[cands[0]].dept].dept
		for _, c := range cands[1:] {
			if r.depts[r.communes[c].dept].dept != reg {
				reg = ""
			}
		}
		if reg != "" {
			p.Region, p.RegionName = reg, r.regions[reg].name
		}
	}
	return p, true
}

// single resolves a set of INSEE codes that all name one commune: one code,
// or a commune with its arrondissements municipaux (the town "LYON" names
// Lyon and its nine arrondissements), placed at the commune. It reports
// false otherwise.
func (r *Reference) single(codes []string) (Place, bool) {
	if len(codes) == 0 {
		return Place{}, false
	}
	if len(codes) == 1 {
		return r.commune(codes[0])
	}
	root := ""
	for _, c := range codes {
		u := r.communes[c]
		cr := u.code
		if u.parent != "" {
			cr = u.parent
		}
		if root != "" && cr != root {
			return Place{}, false
		}
		root = cr
	}
	return r.commune(root)
}

// commune describes one commune or arrondissement municipal by its code.
func (r *Reference) commune(code string) (Place, bool) {
	u, ok := r.communes[code]
	if !ok {
		return Place{}, false
	}
	p := Place{Status: StatusCommune}
	if u.parent != "" {
		p.ArrondissementINSEE, p.Arrondissement = u.code, u.name
		u = r.communes[u.parent]
	}
	p.INSEE, p.Commune = u.code, u.name
	r.fillDept(&p, u.dept)
	return p, true
}

func (r *Reference) fillDept(p *Place, dept string) {
	d, ok := r.depts[dept]
	if !ok {
		return
	}
	p.Departement, p.DepartementName = d.code, d.name
	if reg, ok := r.regions[d.dept]; ok {
		p.Region, p.RegionName = reg.code, reg.name
	}
}
