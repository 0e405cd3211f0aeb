package rnvp

import (
	"sort"
	"strconv"
	"strings"

	"github.com/atrium-cdp/atrium/internal/quality"
)

// Lines 5 and 6: postal code and town validated against La Poste's base
// (rnvp.md §3.3 algorithm), CEDEX (§3.4), Paris/Lyon/Marseille (§3.6).

type locality struct {
	l5, l6    string
	cp        string
	insee     string
	libelle   string
	commune   string
	cedex     bool
	territory string
	reasons   []string
	fixed     bool // content corrected with certainty
	doubt     bool // could not be validated
}

func (l *locality) flag(reason string, doubt bool) {
	l.reasons = append(l.reasons, reason)
	if doubt {
		l.doubt = true
	} else {
		l.fixed = true
	}
}

// postalInput is what the postal piece says.
type postalInput struct {
	code     string
	words    []string // town words, code and CEDEX removed
	cedex    bool
	cedexNum string
}

func readPostal(w []string) postalInput {
	var pi postalInput
	for i := 0; i < len(w); i++ {
		t := w[i]
		switch {
		case t == "CEDEX":
			pi.cedex = true
			if i+1 < len(w) && isDigits(w[i+1]) && len(w[i+1]) <= 2 {
				pi.cedexNum = w[i+1]
				i++
			}
		case pi.code == "" && isDigits(t) && (len(t) == 5 || len(t) == 4 && (i == 0 || i == len(w)-1)):
			pi.code = t
		default:
			pi.words = append(pi.words, t)
		}
	}
	return pi
}

// plm are the cities with municipal arrondissements: postal code of the
// n-th arrondissement and the valid range.
var plm = map[string]struct {
	code  func(n int) string
	max   int
	insee string
}{
	"PARIS":     {func(n int) string { return "750" + pad2(n) }, 20, "75056"},
	"LYON":      {func(n int) string { return "6900" + strconv.Itoa(n) }, 9, "69123"},
	"MARSEILLE": {func(n int) string { return "130" + pad2(n) }, 16, "13055"},
}

// exonyms are foreign spellings of French towns (rnvp.md §3.7 case 3).
var exonyms = map[string]string{
	"MARSEILLES": "MARSEILLE", "LYONS": "LYON", "DUNKIRK": "DUNKERQUE",
	"STRASSBURG": "STRASBOURG", "STRASBURG": "STRASBOURG",
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

var romans = map[string]int{
	"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "X": 10,
	"XI": 11, "XII": 12, "XIII": 13, "XIV": 14, "XV": 15, "XVI": 16, "XVII": 17, "XVIII": 18,
	"XIX": 19, "XX": 20,
}

// arrondissement reads "PARIS 15E", "PARIS 15EME ARRONDISSEMENT", "PARIS XV",
// "LYON 3EME", "MARSEILLES 8" into the city (PARIS, LYON, MARSEILLE) and
// the arrondissement number.
func arrondissement(words []string) (city string, n int, exonym bool) {
	w := words
	for len(w) > 1 {
		switch w[len(w)-1] {
		case "ARR", "ARRT", "ARRDT", "ARRONDISSEMENT", "EME", "E", "ER", "ERE":
			w = w[:len(w)-1]
			continue
		}
		break
	}
	if len(w) < 2 {
		return "", 0, false
	}
	last := w[len(w)-1]
	if v, ok := romans[strings.TrimSuffix(last, "E")]; ok && last != "E" {
		n = v
	} else {
		i := 0
		for i < len(last) && isDigit(last[i]) {
			i++
		}
		if i == 0 || i > 2 {
			return "", 0, false
		}
		switch last[i:] {
		case "", "E", "EME", "ER", "ERE", "IEME", "EM":
		default:
			return "", 0, false
		}
		n, _ = strconv.Atoi(last[:i])
	}
	name := strings.Join(w[:len(w)-1], " ")
	if e, ok := exonyms[name]; ok {
		name, exonym = e, true
	}
	c, ok := plm[name]
	if !ok {
		for k := range plm {
			if quality.EditDistance(name, k, 1) <= 1 {
				name, ok, exonym = k, true, true
				c = plm[k]
				break
			}
		}
	}
	if !ok || n < 1 || n > c.max {
		return "", 0, false
	}
	return name, n, exonym
}

// resolveLocality builds lines 5 and 6 from the postal piece and the free
// pieces that may hold the town or a lieu-dit. Pieces it uses are marked.
func resolveLocality(pi postalInput, cands []*piece) locality {
	var l locality
	r := base()
	if pi.cedex {
		resolveCedex(r, &l, pi, cands)
		return l
	}
	townWords := pi.words
	var townPiece *piece
	// Arrondissement in the town words: "PARIS 15E", "LYON 3EME".
	arrCity, arrN, arrExo := "", 0, false
	if len(townWords) > 0 {
		arrCity, arrN, arrExo = arrondissement(townWords)
	}
	code := pi.code
	var rows []int32
	fromINSEE := false
	switch {
	case len(code) == 5:
		rows = r.byCP[code]
	case len(code) == 4:
		// Spreadsheets drop the leading zero: pad only when the base
		// confirms the padded code with the town given (rnvp.md §3.2).
		if padded := r.byCP["0"+code]; padded != nil {
			if confirmTown(r, padded, townWords, cands) {
				code, rows = "0"+code, padded
				l.flag(ReasonPostcodePadded, false)
			}
		}
		if rows == nil {
			l.flag(ReasonPostcodeInvalid, true)
			code = ""
		}
	}
	if code != "" && rows == nil {
		switch {
		case r.byINSEE[code] != nil:
			// An INSEE commune code typed as the postal code.
			insRows := r.byINSEE[code]
			if cp := uniqueCP(r, insRows, arrCity, arrN); cp != "" {
				code, rows = cp, r.byCP[cp]
				l.flag(ReasonPostcodeFromINSEE, false)
			} else {
				l.flag(ReasonPostcodeFromINSEE, false)
				rows = insRows
				fromINSEE = true
			}
		case code == "75000" || code == "69000" || code == "13000":
			if arrCity != "" {
				code = plm[arrCity].code(arrN)
				rows = r.byCP[code]
				l.flag(ReasonArrondissement, false)
			} else {
				l.flag(ReasonPostcodeGeneral, true)
			}
		default:
			l.flag(ReasonPostcodeUnknown, true)
		}
	}
	if code == "" || rows == nil {
		if arrCity != "" {
			code = plm[arrCity].code(arrN)
			rows = r.byCP[code]
			l.flag(ReasonPostcodeFilled, false)
			if arrExo {
				l.flag(ReasonCommuneCorrected, false)
			}
			if arrCity == "PARIS" && arrN == 16 {
				l.flag(ReasonPostcodeAmbiguous, true) // 75016 or 75116
			}
		} else if pi.code == "" || l.doubt {
			resolveTownOnly(r, &l, pi, cands)
			return l
		}
	}
	if rows == nil {
		// A code the base does not know and no way to repair it: keep
		// what was typed.
		l.l6 = joinWords(code, quality.PostalText(strings.Join(townWords, " ")))
		l.cp = code
		return l
	}
	// Town matching within the code's rows.
	if arrCity != "" {
		townWords = []string{arrCity}
	}
	var match *hit
	if len(townWords) > 0 {
		match = matchInRows(r, townKey(strings.Join(townWords, " ")), rows)
		if match == nil {
			if m := fuzzyInRows(r, townKey(strings.Join(townWords, " ")), rows); m != nil {
				match = m
				l.flag(ReasonCommuneCorrected, false)
			}
		}
	}
	// Other free pieces: a lieu-dit or commune déléguée on line 5, or the
	// town itself when the postal piece had none.
	for _, c := range cands {
		if c.used {
			continue
		}
		k := townKey(c.text())
		m := matchInRows(r, k, rows)
		if m == nil && match == nil && len(townWords) == 0 {
			if ac, an, ae := arrondissement(c.words); ac != "" && strings.HasPrefix(code, plm[ac].code(an)[:2]) {
				if m = matchInRows(r, ac, r.byCP[plm[ac].code(an)]); m != nil && r.places[m.row].cp != code {
					m = nil
				}
				if ae && m != nil {
					l.flag(ReasonCommuneCorrected, false)
				}
			}
		}
		if m == nil {
			continue
		}
		if m.field == fieldLigne5 {
			if l.l5 == "" {
				l.l5 = r.places[m.row].ligne5
				c.used = true
				if match == nil {
					match = m
				}
			}
			continue
		}
		if match == nil || match.field == fieldLigne5 && len(townWords) == 0 {
			if match != nil && match.field == fieldLigne5 {
				continue
			}
			match = m
			c.used = true
		} else if r.places[m.row].libelle == r.places[match.row].libelle {
			c.used = true // the town typed twice
		}
	}
	if match == nil && len(townWords) == 0 {
		// No town text matched: a misspelt town in a free piece.
		for i := len(cands) - 1; i >= 0; i-- {
			c := cands[i]
			if c.used {
				continue
			}
			if m := fuzzyInRows(r, townKey(c.text()), rows); m != nil {
				match, townPiece = m, c
				c.used = true
				l.flag(ReasonCommuneCorrected, false)
				break
			}
		}
	}
	_ = townPiece
	switch {
	case match != nil && fromINSEE && len(codesOf(r, rows, match)) > 1:
		// "75056 PARIS": the commune is known, its arrondissement is not.
		p := r.places[match.row]
		l.flag(ReasonPostcodeAmbiguous, true)
		l.insee, l.libelle, l.commune = pi.code, p.libelle, p.nom
		l.l6 = p.libelle
	case match != nil:
		p := r.places[match.row]
		l.setPlace(p)
		if match.field == fieldLigne5 && l.l5 == "" {
			l.l5 = p.ligne5
		}
	case len(townWords) > 0:
		// The town is not served by this code.
		k := townKey(strings.Join(townWords, " "))
		if r.byKey[k] != nil {
			l.flag(ReasonCommuneMismatch, true)
		} else {
			l.flag(ReasonCommuneUnknown, true)
		}
		l.cp = code
		l.l6 = joinWords(code, quality.PostalText(strings.Join(townWords, " ")))
	default:
		// Only a code: fill the town when the code has one.
		libs := libelles(r, rows)
		switch {
		case len(libs) == 1 && len(codesOf(r, rows, nil)) == 1:
			l.setPlace(r.places[rows[0]])
			l.insee = uniqueINSEE(r, rows)
			l.flag(ReasonLocalityFilled, false)
		case len(libs) == 1:
			l.flag(ReasonPostcodeAmbiguous, true)
			l.libelle = libs[0]
			l.l6 = libs[0]
		default:
			l.flag(ReasonLocalityAmbiguous, true)
			l.cp = code
			l.l6 = code
		}
	}
	l.territory = territoryOf(l.cp)
	return l
}

func (l *locality) setPlace(p place) {
	l.cp, l.insee, l.libelle, l.commune = p.cp, p.insee, p.libelle, p.nom
	l.l6 = p.cp + " " + p.libelle
	l.territory = territoryOf(p.cp)
}

// matchInRows finds an exact key hit among rows, preferring the libellé,
// then the commune name, then line 5.
func matchInRows(r *reference, k string, rows []int32) *hit {
	if k == "" {
		return nil
	}
	var best *hit
	for _, h := range r.byKey[k] {
		for _, row := range rows {
			if h.row == row {
				if best == nil || h.field < best.field {
					hh := h
					best = &hh
				}
			}
		}
	}
	return best
}

// fuzzyInRows corrects a misspelt town among the keys of rows; it only
// answers when a single place is closest.
func fuzzyInRows(r *reference, k string, rows []int32) *hit {
	max := fuzzBudget(k)
	if max == 0 {
		return prefixInRows(r, k, rows)
	}
	var best *hit
	bestD, tie := max+1, false
	seen := map[string]bool{}
	for _, row := range rows {
		p := r.places[row]
		for f, name := range [3]string{p.libelle, p.nom, p.ligne5} {
			if name == "" {
				continue
			}
			key := townKey(name)
			d := quality.EditDistance(k, key, max)
			if d > max && strings.Contains(key, "ST") {
				// "SIANT MAX", "SAINTEFOY": a typo in SAINT hides the
				// ST abbreviation; compare the expanded forms.
				d = quality.EditDistance(saintKey(k), saintKey(key), max)
			}
			if d > max {
				continue
			}
			id := key
			switch {
			case d < bestD:
				best, bestD, tie = &hit{row, uint8(f)}, d, false
				seen = map[string]bool{id: true}
			case d == bestD && !seen[id]:
				tie = true
			}
		}
	}
	if tie {
		return nil
	}
	if best == nil {
		return prefixInRows(r, k, rows)
	}
	return best
}

// prefixInRows accepts a town typed short ("AIX" for AIX EN PROVENCE) when
// its words start exactly one place name of rows.
func prefixInRows(r *reference, k string, rows []int32) *hit {
	if len(k) < 3 {
		return nil
	}
	var best *hit
	name := ""
	for _, row := range rows {
		p := r.places[row]
		for f, n := range [3]string{p.libelle, p.nom, p.ligne5} {
			key := townKey(n)
			if n == "" || !strings.HasPrefix(key, k+" ") {
				continue
			}
			if best != nil && key != name {
				return nil
			}
			if best == nil {
				best, name = &hit{row, uint8(f)}, key
			}
		}
	}
	return best
}

// confirmTown reports whether the town given (in the postal piece or a free
// piece) is one of rows' places.
func confirmTown(r *reference, rows []int32, townWords []string, cands []*piece) bool {
	if len(townWords) > 0 {
		k := townKey(strings.Join(townWords, " "))
		return matchInRows(r, k, rows) != nil || fuzzyInRows(r, k, rows) != nil
	}
	for _, c := range cands {
		k := townKey(c.text())
		if matchInRows(r, k, rows) != nil || fuzzyInRows(r, k, rows) != nil {
			return true
		}
	}
	return false
}

// codesOf lists the postal codes of rows (of those with match's libellé
// when match is given).
func codesOf(r *reference, rows []int32, match *hit) map[string]bool {
	out := map[string]bool{}
	for _, row := range rows {
		p := r.places[row]
		if match == nil || p.libelle == r.places[match.row].libelle {
			out[p.cp] = true
		}
	}
	return out
}

func libelles(r *reference, rows []int32) []string {
	set := map[string]bool{}
	for _, row := range rows {
		set[r.places[row].libelle] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func uniqueINSEE(r *reference, rows []int32) string {
	ins := r.places[rows[0]].insee
	for _, row := range rows {
		if r.places[row].insee != ins {
			return ""
		}
	}
	return ins
}

// uniqueCP returns the postal code of an INSEE code when it has one (or
// when the arrondissement decides), else "".
func uniqueCP(r *reference, rows []int32, arrCity string, arrN int) string {
	if arrCity != "" {
		return plm[arrCity].code(arrN)
	}
	cp := r.places[rows[0]].cp
	for _, row := range rows {
		if r.places[row].cp != cp {
			return ""
		}
	}
	return cp
}

// resolveTownOnly handles a town without a usable postal code: the code is
// filled when the town has a single one.
func resolveTownOnly(r *reference, l *locality, pi postalInput, cands []*piece) {
	words := pi.words
	if len(words) == 0 {
		for i := len(cands) - 1; i >= 0; i-- {
			if !cands[i].used {
				words = cands[i].words
				cands[i].used = true
				break
			}
		}
	}
	if len(words) == 0 {
		if pi.code != "" {
			l.cp, l.l6 = pi.code, pi.code // keep what was typed
			return
		}
		l.flag(ReasonLocalityMissing, true)
		return
	}
	if city, n, exo := arrondissement(words); city != "" {
		cp := plm[city].code(n)
		if rows := r.byCP[cp]; rows != nil {
			l.setPlace(r.places[rows[0]])
			l.flag(ReasonPostcodeFilled, false)
			if exo {
				l.flag(ReasonCommuneCorrected, false)
			}
			if city == "PARIS" && n == 16 {
				l.flag(ReasonPostcodeAmbiguous, true) // 75016 or 75116
			}
			return
		}
	}
	typed := quality.PostalText(strings.Join(words, " "))
	k := townKey(typed)
	if e, ok := exonyms[k]; ok {
		k = e
		l.flag(ReasonCommuneCorrected, false)
	}
	hits := r.byKey[k]
	if hits == nil {
		cands := r.fuzzyTown(k, func(key string) bool {
			for _, h := range r.byKey[key] {
				if h.field != fieldLigne5 {
					return true
				}
			}
			return false
		})
		if len(cands) > 0 {
			if best := mostPopulous(r, cands); best != "" {
				k = best
				hits = r.byKey[k]
				l.flag(ReasonCommuneCorrected, false)
			}
		}
	}
	if hits == nil {
		l.flag(ReasonCommuneUnknown, true)
		l.l6 = joinWords(pi.code, typed)
		l.cp = pi.code
		return
	}
	// Prefer whole communes over lieux-dits of the same name.
	var main []hit
	for _, h := range hits {
		if h.field != fieldLigne5 {
			main = append(main, h)
		}
	}
	if main == nil {
		main = hits
	}
	cps, insees := map[string]bool{}, map[string]bool{}
	for _, h := range main {
		p := r.places[h.row]
		cps[p.cp] = true
		insees[p.insee] = true
	}
	p := r.places[main[0].row]
	switch {
	case len(cps) == 1:
		l.setPlace(p)
		if main[0].field == fieldLigne5 {
			l.l5 = p.ligne5
		}
		l.flag(ReasonPostcodeFilled, false)
	case len(insees) == 1 || plm[k].max > 0:
		// One commune, several codes (Montpellier; Paris without its
		// arrondissement): the code cannot be chosen without the street.
		l.flag(ReasonPostcodeAmbiguous, true)
		l.insee, l.libelle, l.commune = p.insee, p.libelle, p.nom
		if plm[k].max > 0 {
			l.insee = plm[k].insee
		}
		l.cp = pi.code
		l.l6 = joinWords(pi.code, p.libelle)
	default:
		l.flag(ReasonCommuneAmbiguous, true)
		town := typed
		if libs := libellesOf(r, main); len(libs) == 1 {
			town = libs[0] // homonyms share the postal spelling: ST DENIS
		}
		l.l6 = joinWords(pi.code, town)
		l.cp = pi.code
	}
	l.territory = territoryOf(l.cp)
}

func libellesOf(r *reference, hits []hit) []string {
	rows := make([]int32, len(hits))
	for i, h := range hits {
		rows[i] = h.row
	}
	return libelles(r, rows)
}

// mostPopulous picks, among fuzzy candidates, the key of the most populous
// commune: "MONTPELIER" is Montpellier, not a hamlet one letter away.
// It answers only when that commune is clearly the largest.
func mostPopulous(r *reference, keys []string) string {
	best, bestPop, second := "", -1, -1
	for _, k := range keys {
		pop := 0
		for _, h := range r.byKey[k] {
			if p := r.places[h.row].population; p > pop {
				pop = p
			}
		}
		switch {
		case pop > bestPop:
			second, best, bestPop = bestPop, k, pop
		case pop > second:
			second = pop
		}
	}
	if len(keys) == 1 || bestPop > 4*second && bestPop > 0 {
		return best
	}
	return ""
}

// resolveCedex builds a CEDEX line 6: the code is kept (CEDEX codes are not
// in the open base), the office name is checked against the base's towns in
// the code's département, CEDEX is never dropped, and the number of a
// Paris/Lyon/Marseille office is written with two digits (rnvp.md §3.4).
func resolveCedex(r *reference, l *locality, pi postalInput, cands []*piece) {
	l.cedex = true
	code := pi.code
	words := pi.words
	if len(words) == 0 {
		for _, c := range cands {
			if !c.used {
				words = c.words
				c.used = true
				break
			}
		}
	}
	dept := func(cp string) string {
		if strings.HasPrefix(cp, "97") || strings.HasPrefix(cp, "98") {
			return cp[:3]
		}
		return cp[:2]
	}
	if len(code) == 4 {
		code = "0" + code
		l.flag(ReasonPostcodePadded, false)
	}
	office := quality.PostalText(strings.Join(words, " "))
	if code == "" {
		l.flag(ReasonPostcodeMissing, true)
	}
	k := townKey(office)
	found := false
	if k != "" && len(code) == 5 {
		for _, h := range r.byKey[k] {
			p := r.places[h.row]
			if h.field != fieldLigne5 && dept(p.cp) == dept(code) {
				office, found = p.libelle, true
				l.insee, l.commune = p.insee, p.nom
				break
			}
		}
		if !found {
			var rows []int32
			for cp, rs := range r.byCP {
				if dept(cp) == dept(code) {
					rows = append(rows, rs...)
				}
			}
			sort.Slice(rows, func(i, j int) bool { return rows[i] < rows[j] })
			if m := fuzzyInRows(r, k, rows); m != nil && m.field != fieldLigne5 {
				office, found = r.places[m.row].libelle, true
				l.flag(ReasonCommuneCorrected, false)
			}
		}
	}
	if !found {
		l.flag(ReasonCedexOfficeUnknown, true)
	}
	num := strings.TrimLeft(pi.cedexNum, "0")
	if num != "" && (office == "PARIS" || office == "LYON" || office == "MARSEILLE") {
		n, _ := strconv.Atoi(num)
		num = pad2(n)
	}
	l.cp, l.libelle = code, office
	l.l6 = joinWords(joinWords(code, office), joinWords("CEDEX", num))
	l.reasons = append(l.reasons, ReasonCedex)
	l.territory = territoryOf(code)
	// The geographic locality, when it differs from the office, goes on
	// line 5 after the box (rnvp.md §1.4).
	for _, c := range cands {
		if c.used {
			continue
		}
		ck := townKey(c.text())
		name := quality.PostalText(c.text())
		for _, h := range r.byKey[ck] {
			p := r.places[h.row]
			switch h.field {
			case fieldLigne5:
				name = p.ligne5
			case fieldNom:
				name = p.nom
			default:
				name = p.libelle
			}
			break
		}
		if name != office {
			l.l5 = name
		}
		c.used = true
		break
	}
}

// saintKey spells ST/STE/STS/STES of a town key in full, for comparing
// with typed text whose SAINT is misspelt.
func saintKey(k string) string {
	if !strings.Contains(k, "ST") {
		return k
	}
	w := strings.Fields(k)
	for i, t := range w {
		switch t {
		case "ST":
			w[i] = "SAINT"
		case "STE":
			w[i] = "SAINTE"
		case "STS":
			w[i] = "SAINTS"
		case "STES":
			w[i] = "SAINTES"
		}
	}
	return strings.Join(w, " ")
}
