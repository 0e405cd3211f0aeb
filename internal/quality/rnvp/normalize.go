package rnvp

import (
	"strings"

	"github.com/atrium-cdp/atrium/internal/quality"
)

// MaxInput caps the bytes of all fields together; MaxFields the number of
// fields. No real address comes near; hostile input stops there.
const (
	MaxInput  = 1024
	MaxFields = 16
	lineMax   = 38
)

// Normalize restructures the CRM fields of one address, in the order the
// user typed them, into the NF Z10-011 lines (see the package comment).
func Normalize(fields []string) Result {
	res := Result{Raw: strings.Join(fields, " | ")}
	var reasons []string
	add := func(r string) {
		for _, x := range reasons {
			if x == r {
				return
			}
		}
		reasons = append(reasons, r)
	}
	if len(fields) > MaxFields {
		fields = fields[:MaxFields]
		add(ReasonTooLong)
	}
	budget := MaxInput
	var pieces []*piece
	for _, f := range fields {
		clean, rs := quality.Sanitize(f, budget)
		budget -= len(clean)
		if budget < 0 {
			budget = 0
		}
		for _, r := range rs {
			add(r)
		}
		if clean == "" {
			continue
		}
		segments, dropped := tokenizeField(clean)
		if dropped {
			add(ReasonCharsDropped)
		}
		// A segment that is only a house number belongs to the next one:
		// "25, rue de l'Église", "5 bis, av. des Fleurs".
		for i := 0; i < len(segments); i++ {
			seg := segments[i]
			if i+1 < len(segments) && onlyNumber(seg) {
				segments[i+1] = append(append([]string{}, seg...), segments[i+1]...)
				continue
			}
			split := splitSegment(seg)
			if len(split) > 1 {
				for _, sp := range split {
					if k := complementKind(sp); k {
						add(ReasonComplementMoved)
						break
					}
				}
			}
			for _, sp := range split {
				p := &piece{words: sp}
				classify(p)
				pieces = append(pieces, p)
			}
		}
	}
	if len(pieces) == 0 {
		res.Status = quality.StatusInvalid
		res.Reasons = append(reasons, ReasonEmpty)
		return res
	}
	pieces = detectCountry(pieces)
	country := ""
	for _, p := range pieces {
		if p.kind == kCountry {
			country = p.country
		}
	}
	if country != "" && !quality.IsFrenchDomestic(country) {
		formatForeign(&res, pieces, country, add)
	} else {
		if country != "" {
			add(ReasonCountryDropped)
		}
		formatFrench(&res, pieces, add)
		if res.Country == "" {
			res.Country = "FR"
		}
		if country != "" && country != "FR" && res.Territory == "" {
			res.Territory = country
		}
	}
	for i, l := range res.Lines {
		res.Lines[i] = fitLine(l, i == 3, add)
	}
	res.Reasons = reasons
	res.Status = statusOf(&res)
	return res
}

func onlyNumber(seg []string) bool {
	if len(seg) == 0 || len(seg) > 2 {
		return false
	}
	if !isDigits(seg[0]) || len(seg[0]) > 4 {
		if _, ok := splitGlued(seg[0]); !ok || len(seg) > 1 {
			return false
		}
	}
	return len(seg) == 1 || indexWords[seg[1]] != "" || len(seg[1]) == 1
}

func complementKind(w []string) bool {
	if boxAt(w, 0) > 0 {
		return true
	}
	_, ok := complements[w[0]]
	return ok
}

// detectCountry marks the last piece as a country when it names one, or
// splits a country off the end of the postal piece ("97110 POINTE A PITRE
// GUADELOUPE", "1000 BRUXELLES BELGIQUE").
func detectCountry(pieces []*piece) []*piece {
	last := pieces[len(pieces)-1]
	if len(pieces) > 1 && last.kind != kPostal && last.kind != kBox && len(last.words) <= 6 {
		// A French town named like a country (GY, SOUDAN, MACAU, LUX, LA
		// REUNION) is the town.
		if code, ok := quality.CountryExact(last.text()); ok && !townOfCodes(pieces, last.words) {
			last.kind, last.country = kCountry, code
			return pieces
		}
	}
	for _, p := range pieces {
		if p.kind != kPostal || len(p.words) < 3 {
			continue
		}
		town := readPostal(p.words).words
		if townOfCodes(pieces, town) {
			continue
		}
		for n := 3; n >= 1; n-- {
			if len(p.words)-n < 2 {
				continue
			}
			// "SAINT MAURICE", "PRECY SAINT MARTIN": a country name after
			// SAINT or an article belongs to the town.
			switch p.words[len(p.words)-n-1] {
			case "SAINT", "SAINTE", "ST", "STE", "LA", "LE", "LES", "L", "DE", "DU", "DES", "D", "EN", "SUR", "SOUS", "ET", "AUX", "AU":
				continue
			}
			tail := p.words[len(p.words)-n:]
			if len(strings.Join(tail, "")) <= 3 {
				continue // "LE H AUT", "ASTE BEN": not ISO codes inside a town
			}
			switch tail[0] {
			case "SAINT", "SAINTE", "ST", "STE":
				continue // "BUSSY SAINT MARTIN"
			}
			code, ok := quality.CountryExact(strings.Join(tail, " "))
			if ok && len(strings.Join(tail, "")) > 2 {
				p.words = p.words[:len(p.words)-n]
				return append(pieces, &piece{words: tail, kind: kCountry, country: code})
			}
		}
	}
	return pieces
}

// townOfCodes reports whether w is a town served by one of the French
// postal codes typed in the address: then "SUISSE" (57340), "GY" (70700)
// or "LA REUNION" (47700) is that town, not a country.
func townOfCodes(pieces []*piece, w []string) bool {
	if len(w) == 0 {
		return false
	}
	k := townKey(strings.Join(w, " "))
	for _, p := range pieces {
		if rows := postalRows(p.words); rows != nil && (p.kind == kPostal || len(p.words) == 1) {
			if matchInRows(base(), k, rows) != nil || fuzzyInRows(base(), k, rows) != nil {
				return true
			}
		}
	}
	return false
}

// formatFrench routes the pieces of a domestic address to their lines.
func formatFrench(res *Result, pieces []*piece, add func(string)) {
	// A postal code typed with 4 digits and a town in one field reads as a
	// street ("9000 FOIX"); when no other field holds a code, it is the
	// locality line.
	postal := -1
	for i, p := range pieces {
		// "1800 BOURG SAINT CHRISTOPHE", "7150 VALLON PONT D ARC": a
		// 4-digit code before a town that starts like a street type.
		if p.kind == kStreet && len(p.words) > 1 && len(p.words[0]) == 4 && isDigits(p.words[0]) {
			if rows := postalRows(p.words); rows != nil {
				k := townKey(strings.Join(p.words[1:], " "))
				if matchInRows(base(), k, rows) != nil || fuzzyInRows(base(), k, rows) != nil {
					p.kind = kPostal
				}
			}
		}
		if p.kind == kPostal {
			postal = i
		}
	}
	if postal < 0 {
		for i := len(pieces) - 1; i >= 0; i-- {
			p := pieces[i]
			if p.kind == kCountry {
				continue
			}
			if p.kind == kStreet && isDigits(p.words[0]) && len(p.words[0]) == 4 && !streetAfterNumber(p.words, 0) {
				p.kind = kPostal
				postal = i
			}
			// "Foix 9000": a town followed by a 4-digit code.
			if last := p.words[len(p.words)-1]; p.kind == kUnknown && len(p.words) > 1 && isDigits(last) && len(last) == 4 {
				p.kind = kPostal
				postal = i
			}
			break
		}
	}
	// "12 rue de la Paix Paris 15" in one field and nothing else: the
	// town ends the street field.
	if postal < 0 {
		last := len(pieces) - 1
		for last >= 0 && pieces[last].kind == kCountry {
			last--
		}
		free := false
		for _, p := range pieces {
			free = free || p.kind == kUnknown
		}
		if last >= 0 && pieces[last].kind == kStreet && !free {
			if town := splitTrailingTown(pieces[last]); town != nil {
				pieces = append(pieces[:last+1], append([]*piece{town}, pieces[last+1:]...)...)
			}
		}
	}
	// The street: the first with a house number, else the first.
	streetIdx := -1
	for i, p := range pieces {
		if p.kind == kStreet && (streetIdx < 0 || !hasNumber(pieces[streetIdx]) && hasNumber(p)) {
			streetIdx = i
		}
	}
	// Other street-like pieces: estates and zones to line 3, hamlets to 5.
	for i, p := range pieces {
		if p.kind == kStreet && i != streetIdx {
			s := parseStreet(p.words)
			switch s.typ {
			case "LIEU DIT", "HAMEAU", "VILLAGE", "BOURG", "QUARTIER", "ECART":
				p.kind = kLieuDit
			default:
				p.kind = kZone
			}
		}
	}
	// Pieces after the postal code are the town, whatever they look like
	// ("33580 | COURS DE MONSEGUR", "46330 | TOUR DE FAURE"); between the
	// street and the code, a complement-looking piece is the town when the
	// code's places say so.
	if postal >= 0 {
		rows := postalRows(pieces[postal].words)
		for i, p := range pieces {
			if i == postal || i == streetIdx || hasNumber(p) {
				continue
			}
			switch p.kind {
			case kL3, kZone, kStreet, kLieuDit, kOrg, kPerson:
				if p.kind == kPerson && i < postal {
					continue
				}
				if i > postal || rows != nil && (matchInRows(base(), townKey(p.text()), rows) != nil ||
					fuzzyInRows(base(), townKey(p.text()), rows) != nil) {
					p.kind = kUnknown
				}
			}
		}
	}
	// A marked lieu-dit is matched against the base like any free piece:
	// when La Poste lists it as a line-5 name it goes there.
	for _, p := range pieces {
		if p.kind == kLieuDit {
			p.words = strings.Fields(lieuDitName(p.words))
			p.kind, p.lieuDit = kUnknown, true
		}
	}
	// Free pieces that may hold the town: after the street, or anywhere
	// when there is no street.
	var cands []*piece
	for i, p := range pieces {
		if p.kind == kUnknown && (streetIdx < 0 || i > streetIdx) {
			cands = append(cands, p)
		}
	}
	var loc locality
	if postal >= 0 {
		pi := readPostal(pieces[postal].words)
		loc = resolveLocality(pi, cands)
	} else {
		// No code at all: the last free piece is the town.
		loc = resolveLocality(postalInput{}, cands)
	}
	for _, r := range loc.reasons {
		add(r)
	}

	var l1, l2, l3, l4, l5 []string
	var box []string
	// Without a street, a free piece right before the town is a lieu-dit
	// serving as the street (rnvp.md §1.4): "LE SORBIER SUD".
	if streetIdx < 0 {
		for i, p := range pieces {
			if p.kind != kUnknown || p.used {
				continue
			}
			isLast := true
			for _, q := range pieces[i+1:] {
				if q.kind == kUnknown && !q.used {
					isLast = false
				}
			}
			if isLast && (i > 0 || placeWords[p.words[0]]) && nextIsLocality(pieces, i) {
				p.kind = kLieuDit
				p.used = true
				l4 = append(l4, p.text())
				break
			}
		}
	}
	recipients := 0
	for i, p := range pieces {
		switch p.kind {
		case kPerson, kOrg:
			line := renderRecipient(p)
			if recipients == 0 && (p.kind == kOrg || len(l1) == 0) {
				l1 = append(l1, line)
			} else {
				l2 = append(l2, line)
			}
			recipients++
		case kUnknown:
			if p.used {
				continue
			}
			if p.lieuDit {
				if streetIdx >= 0 || len(l4) > 0 {
					l5 = append(l5, p.text())
					add(ReasonLieuDitUnverified)
				} else {
					l4 = append(l4, p.text())
				}
				continue
			}
			if streetIdx >= 0 && i > streetIdx || streetIdx < 0 && postal >= 0 && i > postal {
				// After the street: an unverified lieu-dit.
				if len(l5) == 0 {
					l5 = append(l5, p.text())
					add(ReasonLieuDitUnverified)
				} else {
					add(ReasonUnplaced)
				}
				continue
			}
			if recipients == 0 {
				l1 = append(l1, p.text())
			} else {
				l2 = append(l2, p.text())
			}
			recipients++
		case kL2:
			l2 = append(l2, expandComplement(p.words))
		case kL3:
			l3 = append(l3, expandComplement(p.words))
		case kZone:
			if streetIdx >= 0 || len(l4) > 0 {
				l3 = append(l3, expandZone(p.words))
			} else {
				l4 = append(l4, expandZone(p.words))
			}
		case kLieuDit:
			if p.used {
				continue
			}
			name := lieuDitName(p.words)
			if streetIdx >= 0 || len(l4) > 0 {
				l5 = append(l5, name)
			} else {
				l4 = append(l4, name)
			}
		case kBox:
			box = append(box, expandBox(p.words))
		case kStreet:
			s := parseStreet(p.words)
			l4 = append(l4, s.render())
			for _, r := range s.reasons {
				add(r)
			}
			res.Number, res.Index, res.StreetType, res.Street = s.number, s.index, s.typ, s.label
		}
	}
	// Line 5: the box first, then the locality (rnvp.md §1.4 "BP 90432
	// MONTFERRIER SUR LEZ").
	if loc.l5 != "" {
		l5 = append([]string{loc.l5}, l5...)
	}
	l5 = append(box, l5...)
	if len(l4) == 0 && len(box) == 0 {
		add(ReasonStreetMissing)
	}
	res.Lines[0] = strings.Join(l1, " ")
	res.Lines[1] = strings.Join(l2, " ")
	res.Lines[2] = strings.Join(l3, " ")
	res.Lines[3] = strings.Join(l4, " ")
	res.Lines[4] = strings.Join(l5, " ")
	res.Lines[5] = loc.l6
	res.PostalCode, res.Locality, res.Commune, res.INSEE = loc.cp, loc.libelle, loc.commune, loc.insee
	res.Cedex, res.Territory = loc.cedex, loc.territory
	res.Validated = loc.insee != "" && !loc.doubt
	if loc.l6 == "" {
		add(ReasonLocalityMissing)
	}
}

func hasNumber(p *piece) bool {
	return parseStreet(p.words).number > 0
}

// nextIsLocality reports whether the pieces after i are only the town, the
// postal code and the country.
func nextIsLocality(pieces []*piece, i int) bool {
	for _, q := range pieces[i+1:] {
		if !(q.kind == kPostal || q.kind == kCountry || q.used) {
			return false
		}
	}
	return true
}

// renderRecipient writes a person with the civility in full ("MONSIEUR
// JEAN DELHOURME") or a company as typed.
func renderRecipient(p *piece) string {
	if p.kind != kPerson {
		return p.text()
	}
	code, used := leadingCivility(p.words)
	if code == "" {
		return p.text()
	}
	c := quality.CivilityByCode(code)
	full := quality.PostalText(c.Full)
	rest := strings.Join(p.words[used:], " ")
	line := joinWords(full, rest)
	if len(line) > lineMax {
		line = joinWords(c.Postal, rest)
	}
	return line
}

// leadingCivility finds the civility words at the start of a person piece.
func leadingCivility(w []string) (string, int) {
	best, used := "", 0
	for n := 1; n <= 3 && n <= len(w)-1; n++ {
		if w[n-1] == "ET" {
			continue
		}
		c := quality.Civility(strings.Join(w[:n], " "))
		if c.Value != "" {
			best, used = c.Value, n
		}
	}
	return best, used
}

// expandComplement writes complement keywords in full ("APPT 2" →
// "APPARTEMENT 2", "C O" → "CHEZ"); lines that overflow are shortened later.
func expandComplement(w []string) string {
	out := make([]string, 0, len(w))
	for i := 0; i < len(w); i++ {
		t := w[i]
		switch {
		case t == "C" && i+1 < len(w) && w[i+1] == "O" && i == 0:
			out = append(out, "CHEZ")
			i++
			continue
		case t == "ATT" && i == 0:
			out = append(out, "A L ATTENTION DE")
			continue
		}
		if c, ok := complements[t]; ok && (i == 0 || !articles[w[i-1]]) {
			out = append(out, c.full)
			continue
		}
		out = append(out, t)
	}
	return strings.Join(out, " ")
}

func expandZone(w []string) string {
	if full, ok := zones[w[0]]; ok && full != w[0] {
		if full == "LOTISSEMENT" || full == "CENTRE COMMERCIAL" || len(w[0]) <= 4 {
			return joinWords(full, strings.Join(w[1:], " "))
		}
	}
	if len(w) > 1 && w[0] == "CENTRE" && (w[1] == "CIAL" || w[1] == "CCIAL") {
		return joinWords("CENTRE COMMERCIAL", strings.Join(w[2:], " "))
	}
	return strings.Join(w, " ")
}

func expandBox(w []string) string {
	switch {
	case len(w) >= 3 && w[0] == "B" && w[1] == "P":
		return "BP " + strings.Join(w[2:], " ")
	case len(w) >= 3 && w[0] == "BOITE" && w[1] == "POSTALE":
		return "BP " + strings.Join(w[2:], " ")
	case len(w) >= 3 && w[0] == "CASE" && w[1] == "POSTALE":
		return "CP " + strings.Join(w[2:], " ")
	case len(w) >= 3 && w[0] == "COURSE" && w[1] == "SPECIALE":
		return "CS " + strings.Join(w[2:], " ")
	}
	return strings.Join(w, " ")
}

// lieuDitName drops the LIEU DIT marker: line 5 holds the name only, as in
// La Poste's base ("CAUDOS").
func lieuDitName(w []string) string {
	switch {
	case len(w) > 2 && w[0] == "LIEU" && w[1] == "DIT":
		w = w[2:]
	case len(w) > 1 && (w[0] == "LIEUDIT" || w[0] == "LD"):
		w = w[1:]
	}
	return strings.Join(w, " ")
}

// fitLine enforces 38 characters: the NF Z10-011 abbreviations first, then
// a cut at a word boundary (flagged).
func fitLine(l string, street bool, add func(string)) string {
	l = quality.PostalText(l)
	if len(l) <= lineMax {
		return l
	}
	if !street {
		a := Abbreviate(l, lineMax)
		add(ReasonLineAbbreviated)
		if len(a) <= lineMax {
			return a
		}
		l = a
	}
	add(ReasonLineTruncated)
	cut := lineMax
	for cut > 0 && l[cut] != ' ' {
		cut--
	}
	if cut == 0 {
		cut = lineMax
	}
	return strings.TrimSpace(l[:cut])
}

// statusOf derives the status from the reasons and the lines.
func statusOf(res *Result) quality.Status {
	if res.Lines[5] == "" {
		return quality.StatusInvalid
	}
	st := quality.StatusValid
	for _, r := range res.Reasons {
		switch {
		case flagReasons[r]:
			st = quality.Worse(st, quality.StatusSuspect)
		case fixReasons[r]:
			st = quality.Worse(st, quality.StatusCorrected)
		}
	}
	return st
}

// splitTrailingTown cuts a town (or "PARIS 15"-style arrondissement) off the
// end of a street piece when the words before it still make a street of at
// least a type and a name, and the town is not introduced by an article
// ("RUE DE PARIS" keeps PARIS).
func splitTrailingTown(p *piece) *piece {
	w := p.words
	for n := 4; n >= 1; n-- {
		cut := len(w) - n
		if cut < 2 || articles[w[cut-1]] || w[cut-1] == "ET" {
			continue
		}
		tail := w[cut:]
		ok := false
		if city, _, _ := arrondissement(tail); city != "" {
			ok = true
		} else {
			for _, h := range base().byKey[townKey(strings.Join(tail, " "))] {
				if h.field != fieldLigne5 {
					ok = true
					break
				}
			}
		}
		if !ok {
			continue
		}
		head := parseStreet(w[:cut])
		if head.typ == "" || len(strings.Fields(head.label)) < 2 {
			continue
		}
		p.words = w[:cut]
		return &piece{words: tail, kind: kUnknown}
	}
	return nil
}

// postalRows returns the base rows of the code in a postal piece (padded
// when typed with 4 digits), or nil.
func postalRows(w []string) []int32 {
	code := readPostal(w).code
	r := base()
	if len(code) == 4 {
		code = "0" + code
	}
	return r.byCP[code]
}
