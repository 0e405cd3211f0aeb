package quality

import (
	"regexp"
	"strings"
	"sync"
)

// Postal-code reason codes.
const (
	ReasonPostFormat      = "format_invalid"       // does not match the country's format
	ReasonPostReformatted = "reformatted"          // spacing, case or separator fixed
	ReasonPostPrefix      = "country_prefix"       // "CH-", "D-", "L-" prefix removed
	ReasonPostNoFormat    = "no_format_known"      // country without a postal-code rule here
	ReasonPostNoCountry   = "unknown_country"      // country not recognised
	ReasonPostLeadingZero = "missing_leading_zero" // French code typed with 4 digits
)

// postFormat is one country's postal-code rule: the compiled pattern over
// the compacted code (upper case, spaces and dashes removed) and the
// canonical rendering.
type postFormat struct {
	re     *regexp.Regexp
	render func(compact string) string
}

func plain(c string) string { return c }

// splitAt renders the code with sep inserted before the last n characters.
func splitAt(n int, sep string) func(string) string {
	return func(c string) string {
		if len(c) <= n {
			return c
		}
		return c[:len(c)-n] + sep + c[len(c)-n:]
	}
}

// postalPatterns follow Google libaddressinput's zip regexes (rnvp.md §6.2)
// written over the compacted form: EU and EEA countries, the UK,
// Switzerland, the US, Canada, the French territories and neighbours.
var postalPatterns = map[string]struct{ pattern string }{
	"FR": {`\d{5}`}, "MC": {`980\d{2}`}, "GP": {`97[17]\d{2}`}, "MQ": {`972\d{2}`},
	"GF": {`973\d{2}`}, "RE": {`974\d{2}`}, "PM": {`97500`}, "YT": {`976\d{2}`},
	"BL": {`97133`}, "MF": {`97150`}, "NC": {`988\d{2}`}, "PF": {`987\d{2}`}, "WF": {`986\d{2}`},
	"BE": {`\d{4}`}, "LU": {`\d{4}`}, "CH": {`\d{4}`}, "LI": {`94(?:8[5-9]|9[0-7])`},
	"AT": {`\d{4}`}, "DK": {`\d{4}`}, "HU": {`\d{4}`}, "BG": {`\d{4}`}, "CY": {`\d{4}`},
	"SI": {`\d{4}`}, "NO": {`\d{4}`}, "IS": {`\d{3}`}, "DE": {`\d{5}`}, "ES": {`\d{5}`},
	"IT": {`\d{5}`}, "FI": {`\d{5}`}, "EE": {`\d{5}`}, "HR": {`\d{5}`}, "LT": {`\d{5}`},
	"GR": {`\d{5}`}, "SE": {`\d{5}`}, "CZ": {`\d{5}`}, "SK": {`\d{5}`}, "RO": {`\d{6}`},
	"NL": {`\d{4}[A-Z]{2}`}, "PT": {`\d{7}`}, "PL": {`\d{5}`}, "LV": {`\d{4}`},
	"IE": {`[AC-FHKNPRTV-Y]\d{2}[0-9AC-FHKNPRTV-Y]{4}|D6W[0-9AC-FHKNPRTV-Y]{4}`},
	"MT": {`[A-Z]{3}\d{2,4}`}, "AD": {`AD[1-7]0\d`}, "SM": {`4789\d`}, "VA": {`00120`},
	"GB": {`GIR0AA|BFPO\d{1,4}|[A-PR-UWYZ](?:\d[\dA-HJKPSTUW]?|[A-HK-Y]\d[\dABEHMNPRV-Y]?)\d[ABD-HJLNP-UW-Z]{2}`},
	"US": {`\d{5}(?:\d{4})?`},
	"CA": {`[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\d[ABCEGHJ-NPRSTV-Z]\d`},
}

var postalRender = map[string]func(string) string{
	"NL": splitAt(2, " "), "PT": splitAt(3, "-"), "PL": splitAt(3, "-"),
	"GR": splitAt(2, " "), "SE": splitAt(2, " "), "CZ": splitAt(2, " "), "SK": splitAt(2, " "),
	"GB": func(c string) string {
		if strings.HasPrefix(c, "BFPO") {
			return "BFPO " + c[4:]
		}
		return splitAt(3, " ")(c)
	},
	"CA": splitAt(3, " "), "IE": splitAt(4, " "), "MT": func(c string) string { return c[:3] + " " + c[3:] },
	"US": func(c string) string {
		if len(c) == 9 {
			return c[:5] + "-" + c[5:]
		}
		return c
	},
	"LV": func(c string) string { return "LV-" + c },
}

// oldPrefixes are the country letters once written before postal codes
// (CH-1200, D-10115, L-1234, F-75001).
var oldPrefixes = map[string][]string{
	"CH": {"CH"}, "DE": {"D", "DE"}, "LU": {"L", "LU"}, "FR": {"F", "FR"}, "BE": {"B", "BE"},
	"AT": {"A", "AT"}, "IT": {"I", "IT"}, "ES": {"E", "ES"}, "NL": {"NL"}, "MC": {"MC"},
	"SI": {"SI"}, "FI": {"FI", "SF"}, "LT": {"LT"}, "LV": {"LV"}, "HR": {"HR"}, "PT": {"P", "PT"},
	"SE": {"S", "SE"}, "DK": {"DK"}, "NO": {"N", "NO"}, "PL": {"PL"}, "CZ": {"CZ"}, "SK": {"SK"},
	"GR": {"GR"}, "HU": {"H", "HU"}, "LI": {"FL", "LI"}, "AD": {}, "CY": {"CY"}, "BG": {"BG"},
	"RO": {"RO"}, "EE": {"EE"}, "IS": {"IS"}, "SM": {"RSM"},
}

var (
	postalOnce sync.Once
	postalREs  map[string]postFormat
)

func postalFormats() map[string]postFormat {
	postalOnce.Do(func() {
		postalREs = map[string]postFormat{}
		for cc, p := range postalPatterns {
			render := postalRender[cc]
			if render == nil {
				render = plain
			}
			postalREs[cc] = postFormat{re: regexp.MustCompile("^(?:" + p.pattern + ")$"), render: render}
		}
	})
	return postalREs
}

// HasPostalFormat reports whether PostalCode knows country's format.
func HasPostalFormat(alpha2 string) bool {
	_, ok := postalPatterns[alpha2]
	return ok
}

// PostalCode checks a postal code against its country's format (country is
// an ISO alpha-2 code or anything Country understands) and renders it
// canonically: "sw1a2aa" → "SW1A 2AA", "1234ab" → "1234 AB", "CH-1200" →
// "1200". It checks the format only: French codes are checked against La
// Poste's base by the rnvp package. A French code typed with 4 digits is
// invalid with the padded code as Suggestion (only the base can confirm it).
func PostalCode(country, code string) Result {
	res := Result{Raw: code, Status: StatusValid}
	clean, reasons := Sanitize(code, 64)
	for _, r := range reasons {
		res.addReason(r)
	}
	cc := strings.ToUpper(strings.TrimSpace(country))
	if len(cc) != 2 {
		c := Country(country)
		if c.Value == "" {
			return invalid(res, ReasonPostNoCountry)
		}
		cc = c.Value
	}
	if cc == "UK" {
		cc = "GB"
	}
	upper, _ := Fold(clean)
	compact := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '.' {
			return -1
		}
		return r
	}, upper)
	if compact == "" {
		return invalid(res, ReasonEmpty)
	}
	formats := postalFormats()
	f, ok := formats[cc]
	if !ok {
		res.Value = compact
		res.addReason(ReasonPostNoFormat)
		res.raise(StatusSuspect)
		return res
	}
	if !f.re.MatchString(compact) {
		for _, p := range oldPrefixes[cc] {
			if strings.HasPrefix(compact, p) && f.re.MatchString(compact[len(p):]) {
				compact = compact[len(p):]
				res.addReason(ReasonPostPrefix)
				break
			}
		}
	}
	if !f.re.MatchString(compact) {
		res = invalid(res, ReasonPostFormat)
		if (cc == "FR" || cc == "MC") && len(compact) == 4 && strings.Trim(compact, "0123456789") == "" {
			res.addReason(ReasonPostLeadingZero)
			res.Suggestion = "0" + compact
		}
		return res
	}
	res.Value = f.render(compact)
	if res.Value != strings.TrimSpace(clean) {
		res.addReason(ReasonPostReformatted)
	}
	return res
}
