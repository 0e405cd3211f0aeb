package quality

import "strings"

// Civility codes (rnvp.md §4.2).
const (
	CivM      = "M"
	CivMme    = "MME"
	CivMlle   = "MLLE"
	CivMEtMme = "M_ET_MME"
	CivMM     = "MM"
	CivMmes   = "MMES"
	CivDr     = "DR"
	CivMe     = "ME"
	CivPr     = "PR"
	CivMgr    = "MGR"
)

// Civility reason codes.
const (
	ReasonCivUnknown = "unknown_civility"
	ReasonCivGeneric = "generic_salutation" // "Madame, Monsieur": no one in particular
	ReasonCivMlle    = "mademoiselle"       // kept; tenants may send "Madame" (2012 circular)
	ReasonCivEnglish = "english_form"       // Mr, Mrs, Ms, Miss: normalised to the French code
)

// CivilityResult is Civility's output. Value is the code (CivM, CivMme…).
type CivilityResult struct {
	Result
	Gender string `json:"gender,omitempty"` // "male", "female", or "" (couple, titles)
	Full   string `json:"full,omitempty"`   // courtesy form: "Monsieur", "Madame"…
	Short  string `json:"short,omitempty"`  // typographic abbreviation: "M.", "Mme"…
	Postal string `json:"postal,omitempty"` // strict postal abbreviation: "M", "MME"…
}

type civilityInfo struct {
	gender, full, short, postal string
}

var civilities = map[string]civilityInfo{
	CivM:      {"male", "Monsieur", "M.", "M"},
	CivMme:    {"female", "Madame", "Mme", "MME"},
	CivMlle:   {"female", "Mademoiselle", "Mlle", "MLLE"},
	CivMEtMme: {"", "Monsieur et Madame", "M. et Mme", "M ET MME"},
	CivMM:     {"male", "Messieurs", "MM.", "MM"},
	CivMmes:   {"female", "Mesdames", "Mmes", "MMES"},
	CivDr:     {"", "Docteur", "Dr", "DR"},
	CivMe:     {"", "Maître", "Me", "ME"},
	CivPr:     {"", "Professeur", "Pr", "PR"},
	CivMgr:    {"male", "Monseigneur", "Mgr", "MGR"},
}

// civilityWords maps a folded, dot-less single civility to its code. The
// English forms are accepted on input but never emitted.
var civilityWords = map[string]string{
	"M": CivM, "MR": CivM, "MONSIEUR": CivM, "MISTER": CivM, "MSIEUR": CivM, "MNSR": CivM,
	"MME": CivMme, "MADAME": CivMme, "MAD": CivMme, "MRS": CivMme, "MS": CivMme, "MADAM": CivMme,
	"MDM": CivMme, "MM E": CivMme,
	"MLLE": CivMlle, "MELLE": CivMlle, "MADEMOISELLE": CivMlle, "MISS": CivMlle, "MLE": CivMlle,
	"MM": CivMM, "MESSIEURS": CivMM, "MESSRS": CivMM,
	"MMES": CivMmes, "MESDAMES": CivMmes,
	"DR": CivDr, "DOCTEUR": CivDr, "DOCTOR": CivDr,
	"ME": CivMe, "MAITRE": CivMe,
	"PR": CivPr, "PROFESSEUR": CivPr, "PROF": CivPr, "PROFESSOR": CivPr,
	"MGR": CivMgr, "MONSEIGNEUR": CivMgr,
}

var englishCivilities = map[string]bool{"MR": true, "MRS": true, "MS": true, "MISS": true, "MISTER": true, "DOCTOR": true, "PROFESSOR": true, "MESSRS": true}

// Civility normalises a civility field: "M.", "Mr", "MONSIEUR" → M;
// "Mme", "Mrs", "Ms" → MME; "M. et Mme", "Mr & Mme", "Monsieur et Madame" →
// M_ET_MME; "Me" (Maître) is never confused with "Mme". "Madame, Monsieur"
// addresses no one and is invalid with reason generic_salutation. A
// civility is not a gender: Gender is only set when the civility implies one.
func Civility(s string) CivilityResult {
	res := CivilityResult{Result: Result{Raw: s, Status: StatusValid}}
	clean, reasons := Sanitize(s, 64)
	for _, r := range reasons {
		res.addReason(r)
	}
	words := civilityTokens(clean)
	if len(words) == 0 {
		res.Result = invalid(res.Result, ReasonEmpty)
		return res
	}
	code, english, generic := parseCivility(words)
	if generic {
		res.Result = invalid(res.Result, ReasonCivGeneric)
		return res
	}
	if code == "" {
		res.Result = invalid(res.Result, ReasonCivUnknown)
		return res
	}
	info := civilities[code]
	res.Value = code
	res.Gender, res.Full, res.Short, res.Postal = info.gender, info.full, info.short, info.postal
	if english {
		res.addReason(ReasonCivEnglish)
	}
	if code == CivMlle {
		res.addReason(ReasonCivMlle)
	}
	return res
}

// civilityTokens folds a civility to upper-case ASCII words, "&" and "/"
// kept as words, dots and commas dropped (a comma is remembered as ",").
func civilityTokens(s string) []string {
	f, _ := Fold(s)
	if strings.ContainsAny(f, "&/,.+") {
		f = civilityPunct.Replace(f)
	}
	return strings.Fields(f)
}

// civilityPunct is built once: a Replacer costs far more to build than to
// run.
var civilityPunct = strings.NewReplacer("&", " & ", "/", " / ", ",", " , ", ".", " ", "+", " & ")

// parseCivility reads one civility or a couple ("M ET MME") from words.
// generic reports "Madame, Monsieur"-style salutations.
func parseCivility(words []string) (code string, english, generic bool) {
	var codes []string
	joined := false
	for _, w := range words {
		switch w {
		case "ET", "AND", "&":
			joined = true
			continue
		case ",", "/", "OU", "OR":
			continue
		}
		c, ok := civilityWords[w]
		if !ok {
			return "", false, false
		}
		if englishCivilities[w] {
			english = true
		}
		codes = append(codes, c)
	}
	switch len(codes) {
	case 1:
		return codes[0], english, false
	case 2:
		pair := map[string]bool{codes[0]: true, codes[1]: true}
		if pair[CivM] && pair[CivMme] {
			if joined {
				return CivMEtMme, english, false
			}
			return "", false, true
		}
	}
	return "", false, false
}

// leadingCivility finds a civility at the start of a name field ("M. et Mme
// Jean Dupont") and returns its code and the number of words it used.
func leadingCivility(words []string) (string, int) {
	best, used := "", 0
	for n := 1; n <= 3 && n <= len(words); n++ {
		last := words[n-1]
		if last == "ET" || last == "AND" || last == "&" {
			continue
		}
		code, _, generic := parseCivility(words[:n])
		if code != "" && !generic {
			best, used = code, n
		}
	}
	return best, used
}

// CivilityByCode returns the renderings of a civility code (CivM…), or an
// invalid result for an unknown code.
func CivilityByCode(code string) CivilityResult {
	res := CivilityResult{Result: Result{Raw: code, Status: StatusValid}}
	info, ok := civilities[code]
	if !ok {
		res.Result = invalid(res.Result, ReasonCivUnknown)
		return res
	}
	res.Value = code
	res.Gender, res.Full, res.Short, res.Postal = info.gender, info.full, info.short, info.postal
	return res
}
