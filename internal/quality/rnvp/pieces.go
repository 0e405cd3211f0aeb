package rnvp

import (
	"strings"

	"github.com/atrium-cdp/atrium/internal/quality"
)

// A CRM field rarely holds exactly one address component: "chez Mireille
// Copeau, appt 2", "12 rue X bât B", "BP 25 12 rue du Port", "34092
// Montpellier Cedex 5". Fields are cut into pieces, one component each,
// and each piece is classified; assembly then routes pieces to lines.

type kind uint8

const (
	kUnknown kind = iota // free text: a recipient, a town or a lieu-dit
	kPerson              // starts with a civility
	kOrg                 // starts with a legal form or "Société"
	kL2                  // inside the building, care-of, department
	kL3                  // outside the door: entrance, building, residence
	kZone                // activity zone, estate: line 3 under a street, else line 4
	kStreet              // number and/or street type
	kBox                 // BP, CS, TSA, CP, POSTE RESTANTE
	kLieuDit             // explicitly marked lieu-dit
	kPostal              // holds a postal code or CEDEX
	kCountry             // a country name, last
)

type piece struct {
	words   []string
	kind    kind
	lieuDit bool   // marked LIEU DIT by the user (marker dropped from words)
	country string // ISO code, for kCountry
	used    bool   // consumed by the locality resolution
}

func (p *piece) text() string { return strings.Join(p.words, " ") }

// tokenizeField folds a field and cuts it into segments at commas,
// semicolons, spaced dashes and slashes that are not number ranges, then
// into words. Number ranges keep their "/" or "-" as a word ("12 / 14").
func tokenizeField(field string) (segments [][]string, dropped bool) {
	f, dropped := quality.Fold(field)
	f = replaceCareOf(f)
	var seg []string
	var word strings.Builder
	flushWord := func() {
		if word.Len() > 0 {
			seg = append(seg, word.String())
			word.Reset()
		}
	}
	flushSeg := func() {
		flushWord()
		if len(seg) > 0 {
			segments = append(segments, seg)
		}
		seg = nil
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case 'A' <= c && c <= 'Z' || '0' <= c && c <= '9':
			word.WriteByte(c)
		case c == ',' || c == ';' || c == '|' || c == '\n':
			flushSeg()
		case c == '/' || c == '-':
			// Between digits it is a range; a spaced dash or a slash
			// between words separates components.
			prevDigit := word.Len() > 0 && isDigit(lastByte(word.String())) ||
				word.Len() == 0 && len(seg) > 0 && isDigit(lastByte(seg[len(seg)-1])) && i > 0 && f[i-1] == ' '
			nextDigit := nextNonSpaceIsDigit(f, i+1)
			switch {
			case prevDigit && nextDigit:
				flushWord()
				seg = append(seg, string(c))
			case c == '/' || (i > 0 && f[i-1] == ' ' && i+1 < len(f) && f[i+1] == ' '):
				flushSeg()
			default:
				flushWord() // "SAINT-ETIENNE": a word separator
			}
		case c == '&':
			flushWord()
			seg = append(seg, "ET")
		case c == '(' || c == ')':
			flushWord()
			seg = append(seg, string(c))
		default:
			flushWord()
		}
	}
	flushSeg()
	for i, s := range segments {
		segments[i] = joinSpacedPostcode(moveParenArticle(s))
	}
	return segments, dropped
}

// joinSpacedPostcode glues "75 015" and "06 000" back into a postal code
// (Google's FR pattern tolerates the space, rnvp.md §3.2) when a town or
// nothing follows.
func joinSpacedPostcode(w []string) []string {
	for i := 0; i+1 < len(w); i++ {
		if len(w[i]) == 2 && len(w[i+1]) == 3 && isDigits(w[i]) && isDigits(w[i+1]) &&
			(i+2 == len(w) || !isDigit(w[i+2][0])) && (i == 0 || !typeWordAt(w, i-1)) &&
			(i+2 == len(w) || !typeWordAt(w, i+2)) {
			w[i] += w[i+1]
			w = append(w[:i+1], w[i+2:]...)
		}
	}
	return w
}

func lastByte(s string) byte { return s[len(s)-1] }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func nextNonSpaceIsDigit(f string, i int) bool {
	for ; i < len(f); i++ {
		if f[i] != ' ' {
			return isDigit(f[i])
		}
	}
	return false
}

// moveParenArticle turns "ABERGEMENT DE VAREY ( L )" into "L ABERGEMENT DE
// VAREY" and drops other parentheses.
func moveParenArticle(words []string) []string {
	n := len(words)
	if n >= 3 && words[n-1] == ")" && words[n-3] == "(" {
		switch art := words[n-2]; art {
		case "L", "LE", "LA", "LES":
			words = append([]string{art}, words[:n-3]...)
		}
	}
	out := words[:0]
	for _, w := range words {
		if w != "(" && w != ")" {
			out = append(out, w)
		}
	}
	return out
}

// splitSegment cuts a segment into pieces at component boundaries.
func splitSegment(words []string) [][]string {
	var pieces [][]string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			pieces = append(pieces, cur)
		}
		cur = nil
	}
	for i := 0; i < len(words); {
		if n := boxAt(words, i); n > 0 {
			flush()
			pieces = append(pieces, words[i:i+n])
			i += n
			continue
		}
		if len(cur) > 0 && boundaryAt(words, i, cur) {
			flush()
		}
		cur = append(cur, words[i])
		i++
	}
	flush()
	return pieces
}

// boxAt returns the number of words of a distribution-service mention
// starting at i ("BP 90432", "B P 12", "BOITE POSTALE 12", "CS 30223",
// "TSA 10001", "CP 12", "POSTE RESTANTE"), or 0.
func boxAt(w []string, i int) int {
	next := func(j int) string {
		if j < len(w) {
			return w[j]
		}
		return ""
	}
	switch w[i] {
	case "BP", "CS", "TSA":
		if isDigits(next(i + 1)) {
			return 2
		}
	case "CP":
		// "CP 75001" is a code postal; a case postale number is shorter.
		if n := next(i + 1); isDigits(n) && len(n) < 5 {
			return 2
		}
	case "B":
		if next(i+1) == "P" && isDigits(next(i+2)) {
			return 3
		}
	case "BOITE", "CASE":
		if next(i+1) == "POSTALE" && isDigits(next(i+2)) {
			return 3
		}
	case "COURSE":
		if next(i+1) == "SPECIALE" && isDigits(next(i+2)) {
			return 3
		}
	case "POSTE":
		if next(i+1) == "RESTANTE" {
			return 2
		}
	}
	return 0
}

// boundaryAt reports whether a new component starts at word i, given the
// words of the current piece.
func boundaryAt(w []string, i int, cur []string) bool {
	t, prev := w[i], w[i-1]
	if t == "CEDEX" || prev == "CEDEX" {
		return false
	}
	if len(cur) == 1 && (prev == "N" || prev == "NO" || prev == "NUM" || prev == "NUMERO") && isDigits(t) {
		return false // "N° 7 BIS RUE…"
	}
	if articles[prev] || typeWordAt(w, i-1) {
		return false
	}
	// "3E ETAGE": the ordinal starts the complement.
	if isOrdinal(t) && i+1 < len(w) && (w[i+1] == "ETAGE" || w[i+1] == "ETG") {
		return true
	}
	if _, ok := complements[t]; ok && !isOrdinal(prev) {
		return i+1 < len(w) || t == "CHEZ"
	}
	if _, ok := zones[t]; ok && i+1 < len(w) && zoneStarts(w, i) {
		return true
	}
	if t == "LIEU" && i+1 < len(w) && w[i+1] == "DIT" || t == "LIEUDIT" {
		return true
	}
	// The second number of a range ("12 / 14 RUE", "4 A 8 RUE") is not a
	// new street.
	if prev == "/" || prev == "-" || (prev == "A" || prev == "AU" || prev == "ET") && i >= 2 && isDigits(w[i-2]) {
		return false
	}
	// A year after a month is part of the name: "RUE DU 8 MAI 1945".
	if months[prev] {
		return false
	}
	// A house number followed by a street type starts the street.
	if isDigits(t) && len(t) <= 4 && streetAfterNumber(w, i) {
		return true
	}
	if n, ok := splitGlued(t); ok && n != "" && streetAfterNumber(w, i) {
		return true
	}
	// A postal code after the street or a complement starts the locality.
	if isDigits(t) && len(t) == 5 {
		return true
	}
	// A street type after a complement: "BAT B RUE DES LILAS".
	if n := strongTypeAt(w, i); n > 0 && isComplementPiece(cur) {
		return true
	}
	return false
}

func isComplementPiece(cur []string) bool {
	if _, ok := complements[cur[0]]; ok {
		return true
	}
	_, ok := zones[cur[0]]
	return ok
}

// zoneStarts filters the zone words that are also common nouns: PARC,
// CENTRE, CITE... start a zone only when followed by a name, not by an
// article-less number.
func zoneStarts(w []string, i int) bool {
	switch w[i] {
	case "ZI", "ZA", "ZAC", "ZAE", "ZAD", "ZUP", "TECHNOPOLE", "TECHNOPARC", "CCIAL", "CCAL":
		return true
	case "ZONE":
		return true
	case "CENTRE":
		return i+1 < len(w) && (w[i+1] == "COMMERCIAL" || w[i+1] == "CIAL" || w[i+1] == "D")
	case "PARC":
		return i+1 < len(w) && (w[i+1] == "D" || w[i+1] == "DES" || w[i+1] == "INDUSTRIEL" || w[i+1] == "TECHNOLOGIQUE")
	}
	return false
}

func isOrdinal(s string) bool {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 || i == len(s) {
		return false
	}
	switch s[i:] {
	case "E", "EME", "ER", "ERE", "IEME", "ND", "NDE", "EM":
		return true
	}
	return false
}

// typeWordAt reports whether w[i] is a street type or a typed variant.
func typeWordAt(w []string, i int) bool {
	if streetTypes[w[i]] {
		return true
	}
	_, ok := typeVariants[w[i]]
	return ok && len(w[i]) > 1
}

// strongTypeAt returns the number of words of a common street type at i.
func strongTypeAt(w []string, i int) int {
	if i+1 < len(w) && strongTypes[w[i]+" "+w[i+1]] {
		return 2
	}
	if strongTypes[w[i]] {
		return 1
	}
	switch w[i] {
	case "AV", "BD", "IMP", "RTE", "CHE", "BLD", "BVD", "FBG", "PL", "SQ":
		return 1
	}
	return 0
}

// streetAfterNumber reports whether the number at i is followed (after an
// optional repetition index) by a street type.
func streetAfterNumber(w []string, i int) bool {
	j := i + 1
	if j < len(w) && (indexWords[w[j]] != "" || len(w[j]) == 1 && j+1 < len(w)) {
		j++
	}
	if j >= len(w) {
		return false
	}
	if streetTypes[w[j]] || j+1 < len(w) && streetTypes[w[j]+" "+w[j+1]] {
		return true
	}
	if v, ok := typeVariants[w[j]]; ok && v != "" && len(w[j]) > 1 {
		return true
	}
	return w[j] == "R" && j+1 < len(w)
}

// splitGlued splits "22BIS" into "22", "BIS" (ok=false when the word is not
// a number with a glued repetition index).
func splitGlued(s string) (string, bool) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 || i == len(s) || i > 4 {
		return "", false
	}
	suf := s[i:]
	if indexWords[suf] != "" || len(suf) == 1 {
		return s[:i], true
	}
	return "", false
}

// orgStarts are words that open a company name on line 1.
var orgStarts = map[string]bool{
	"SOCIETE": true, "STE": false, "SARL": true, "SAS": true, "SASU": true, "SA": true,
	"EURL": true, "SCI": true, "SNC": true, "ETS": true, "ETABLISSEMENTS": true,
	"CABINET": true, "ASSOCIATION": true, "MAIRIE": true, "GROUPE": true, "ENTREPRISE": true,
	"LABORATOIRE": true, "CLINIQUE": true, "HOPITAL": true, "ECOLE": true, "LYCEE": true,
	"COLLEGE": true, "UNIVERSITE": true, "BANQUE": true, "AGENCE": true, "PHARMACIE": true,
	"GARAGE": true, "HOTEL": true, "RESTAURANT": true, "SCP": true, "SELARL": true,
}

// classify gives a piece its kind from its first words.
func classify(p *piece) {
	w := p.words
	first := w[0]
	switch {
	case len(w) == 1 && isDigits(first) && (len(first) == 5 || len(first) == 4):
		p.kind = kPostal
	case boxAt(w, 0) > 0 || first == "BP" || first == "CS" || first == "TSA":
		p.kind = kBox
	case first == "LIEU" && len(w) > 2 && w[1] == "DIT", first == "LIEUDIT" && len(w) > 1,
		first == "LD" && len(w) > 1:
		p.kind = kLieuDit
	case civilityStarts[first] && len(w) > 1 && !typeWordAt(w, 1):
		p.kind = kPerson
	case first == "C" && len(w) > 2 && w[1] == "O", first == "A" && len(w) > 3 && w[1] == "L" && w[2] == "ATTENTION",
		first == "ATT" && len(w) > 1:
		p.kind = kL2
	case orgStarts[first] && len(w) > 1:
		p.kind = kOrg
	case isOrdinal(first) && len(w) > 1 && (w[1] == "ETAGE" || w[1] == "ETG"):
		p.kind = kL2
	case hasPostalCode(w):
		p.kind = kPostal
	case complements[first].line > 0 && (len(w) > 1 || first == "CHEZ"):
		if complements[first].line == 2 {
			p.kind = kL2
		} else {
			p.kind = kL3
		}
	case isStreet(w) && !isTownText(w):
		p.kind = kStreet
	case zoneStarts(w, 0) || (zones[first] != "" && len(w) > 1 && !streetTypes[first]):
		p.kind = kZone
	default:
		p.kind = kUnknown
	}
}

// hasPostalCode reports a 5-digit code or a CEDEX mention outside a street.
func hasPostalCode(w []string) bool {
	if isStreet(w) && !containsWord(w, "CEDEX") {
		// "12 RUE X 75001" never reaches here as one piece; a street with
		// a 5-digit word is a road number ("ROUTE 12345"): keep it.
		return false
	}
	for _, t := range w {
		if t == "CEDEX" || isDigits(t) && len(t) == 5 {
			return true
		}
	}
	return false
}

func containsWord(w []string, s string) bool {
	for _, t := range w {
		if t == s {
			return true
		}
	}
	return false
}

// isStreet: a leading house number (with index or range), or a leading
// street type or variant.
func isStreet(w []string) bool {
	i := 0
	if (w[0] == "N" || w[0] == "NO" || w[0] == "NUM" || w[0] == "NUMERO") && len(w) > 1 && isDigits(w[1]) {
		i = 1
	}
	t := w[i]
	if isDigits(t) && len(t) <= 4 && len(w) > i+1 {
		return true
	}
	if _, ok := splitGlued(t); ok && len(w) > i+1 {
		return true
	}
	if i == 0 && len(w) > 1 {
		if streetTypes[t] || streetTypes[t+" "+w[1]] {
			return true
		}
		if v, ok := typeVariants[t]; ok && v != "" && t != "LD" && t != "LIEUDIT" {
			return true
		}
	}
	return false
}

// isTownText reports a piece without house number that is exactly a town
// of the base: "BOURG EN BRESSE", "PORT VENDRES", "VALLON PONT D ARC" start
// with a street type but are towns.
func isTownText(w []string) bool {
	if isDigits(w[0]) {
		return false
	}
	if _, ok := splitGlued(w[0]); ok {
		return false
	}
	return base().byKey[townKey(strings.Join(w, " "))] != nil
}

// replaceCareOf turns the English "c/o" (care of) into CHEZ before the
// slash is read as a separator.
func replaceCareOf(f string) string {
	for {
		i := strings.Index(f, "C/O")
		if i < 0 {
			return f
		}
		before := i == 0 || f[i-1] == ' ' || f[i-1] == ','
		after := i+3 == len(f) || !(f[i+3] >= 'A' && f[i+3] <= 'Z')
		if !before || !after {
			return f
		}
		f = f[:i] + "CHEZ" + f[i+3:]
	}
}

var months = map[string]bool{
	"JANVIER": true, "FEVRIER": true, "MARS": true, "AVRIL": true, "MAI": true, "JUIN": true,
	"JUILLET": true, "AOUT": true, "SEPTEMBRE": true, "OCTOBRE": true, "NOVEMBRE": true, "DECEMBRE": true,
}
