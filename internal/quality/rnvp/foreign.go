package rnvp

import (
	"strings"

	"github.com/atrium-cdp/atrium/internal/quality"
)

// formatForeign lays out an address abroad: lines as typed (the house
// number stays where the country puts it: RUE DE LA LOI 16), the postal
// code checked against the country's format and placed by its template
// (rnvp.md §6.2), the country in French capitals on line 7. Nothing is
// validated against a reference: the status is at best valid with the
// foreign_address reason.
func formatForeign(res *Result, pieces []*piece, country string, add func(string)) {
	res.Country = country
	add(ReasonForeign)
	// The locality piece: the last one, before the country, holding the
	// postal code (or, failing that, the last one).
	locIdx, code, codeAt, codeLen := -1, "", -1, 0
	for i := len(pieces) - 1; i >= 0 && locIdx < 0; i-- {
		p := pieces[i]
		if p.kind == kCountry {
			continue
		}
		if quality.HasPostalFormat(country) {
			for n := 2; n >= 1 && locIdx < 0; n-- {
				for j := 0; j+n <= len(p.words); j++ {
					pc := quality.PostalCode(country, strings.Join(p.words[j:j+n], " "))
					if pc.Value != "" {
						locIdx, code, codeAt, codeLen = i, pc.Value, j, n
						break
					}
				}
			}
		}
	}
	if locIdx < 0 {
		for i := len(pieces) - 1; i >= 0; i-- {
			if pieces[i].kind != kCountry {
				locIdx = i
				break
			}
		}
		add(ReasonForeignPostcode)
	}
	var city []string
	if locIdx >= 0 {
		w := pieces[locIdx].words
		if codeAt >= 0 {
			city = append(append(city, w[:codeAt]...), w[codeAt+codeLen:]...)
		} else {
			city = w
		}
		// "London | SW1A 2AA", "Washington DC | 20500": the town is the
		// field before the code.
		if len(city) == 0 && locIdx > 0 && pieces[locIdx-1].kind == kUnknown {
			locIdx--
			city = pieces[locIdx].words
			pieces[locIdx+1].kind = kCountry // consumed: skip it below
			pieces[locIdx+1].country = ""
		}
	}
	streetIdx := -1
	for i, p := range pieces {
		if i < locIdx && p.kind == kStreet {
			streetIdx = i
			break
		}
	}
	if streetIdx < 0 {
		// "Hauptstraße 5": the last free piece with a number.
		for i := locIdx - 1; i >= 0; i-- {
			if pieces[i].kind == kUnknown && hasDigit(pieces[i].words) {
				streetIdx = i
				break
			}
		}
	}
	var l1, l2, l3, l5 []string
	recipients := 0
	for i, p := range pieces {
		if i == locIdx || p.kind == kCountry {
			continue
		}
		switch {
		case i == streetIdx:
			res.Lines[3] = p.text()
		case p.kind == kL2:
			l2 = append(l2, p.text())
		case p.kind == kL3 || p.kind == kZone:
			l3 = append(l3, p.text())
		case p.kind == kBox || i > streetIdx && streetIdx >= 0:
			l5 = append(l5, p.text())
		case p.kind == kPerson:
			line := renderRecipient(p)
			if recipients == 0 {
				l1 = append(l1, line)
			} else {
				l2 = append(l2, line)
			}
			recipients++
		default:
			if recipients == 0 {
				l1 = append(l1, p.text())
			} else {
				l2 = append(l2, p.text())
			}
			recipients++
		}
	}
	cityText := strings.Join(city, " ")
	switch country {
	case "GB", "IE":
		// %C%n%Z: town, then postal code on its own line.
		if len(l5) == 0 && cityText != "" {
			l5 = append(l5, cityText)
			res.Lines[5] = code
		} else {
			res.Lines[5] = joinWords(cityText, code)
		}
	case "US", "CA", "AU":
		// %C %S %Z: town and state before the code.
		res.Lines[5] = joinWords(cityText, code)
	default:
		res.Lines[5] = joinWords(code, cityText)
	}
	res.Lines[0] = strings.Join(l1, " ")
	res.Lines[1] = strings.Join(l2, " ")
	res.Lines[2] = strings.Join(l3, " ")
	res.Lines[4] = strings.Join(l5, " ")
	res.Lines[6] = quality.CountryLine(country)
	res.PostalCode, res.Locality = code, quality.PostalText(cityText)
}

func hasDigit(w []string) bool {
	for _, t := range w {
		for i := 0; i < len(t); i++ {
			if isDigit(t[i]) {
				return true
			}
		}
	}
	return false
}
