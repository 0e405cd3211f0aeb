package quality

import (
	_ "embed"
	"strings"
	"sync"
)

//go:embed data/countries.tsv
var countriesTSV string

// Country reason codes.
const (
	ReasonCountryUnknown = "unknown_country"
	ReasonCountryFuzzy   = "fuzzy_match"      // Value is a guess at one or two typos' distance
	ReasonCountryUK      = "exceptional_code" // UK/EL: ISO exceptional reservations mapped to GB/GR
)

type countryInfo struct {
	alpha2, alpha3, nameFR string
}

type countryTable struct {
	byAlias map[string]string // folded alias → alpha-2
	info    map[string]countryInfo
	aliases []string // for fuzzy matching
}

var (
	countryOnce sync.Once
	countries   *countryTable
)

// frenchLine overrides the country line for names that ISO writes
// inverted ("Corée, République de") or officially ("Royaume-Uni de…").
var frenchLine = map[string]string{
	"AX": "ILES ALAND", "BO": "BOLIVIE", "CC": "ILES COCOS", "CX": "ILE CHRISTMAS",
	"FK": "ILES MALOUINES", "FM": "MICRONESIE", "IR": "IRAN", "KP": "COREE DU NORD",
	"KR": "COREE DU SUD", "LA": "LAOS", "MD": "MOLDAVIE", "MF": "SAINT MARTIN",
	"PS": "PALESTINE", "RE": "LA REUNION", "RU": "RUSSIE", "SB": "ILES SALOMON",
	"SH": "SAINTE HELENE", "SX": "SINT MAARTEN", "SY": "SYRIE", "TW": "TAIWAN",
	"TZ": "TANZANIE", "VA": "VATICAN", "VE": "VENEZUELA", "VI": "ILES VIERGES DES ETATS UNIS",
	"VG": "ILES VIERGES BRITANNIQUES", "GB": "ROYAUME UNI", "US": "ETATS UNIS",
	"CZ": "REPUBLIQUE TCHEQUE", "MK": "MACEDOINE DU NORD", "CD": "REPUBLIQUE DEMOCRATIQUE DU CONGO",
	"BQ": "BONAIRE SAINT EUSTACHE ET SABA", "XK": "KOSOVO",
}

// curatedAliases are the spellings people type that ISO does not list
// (rnvp.md §6.3), already folded.
var curatedAliases = map[string]string{
	"ALLEMAGNE": "DE", "DEUTSCHLAND": "DE", "RFA": "DE",
	"ROYAUME UNI": "GB", "UK": "GB", "U K": "GB", "ANGLETERRE": "GB", "GRANDE BRETAGNE": "GB",
	"ECOSSE": "GB", "PAYS DE GALLES": "GB", "IRLANDE DU NORD": "GB", "ENGLAND": "GB",
	"SCOTLAND": "GB", "WALES": "GB", "GREAT BRITAIN": "GB", "BRITAIN": "GB",
	"ETATS UNIS": "US", "USA": "US", "U S A": "US", "US": "US", "ETATS UNIS D AMERIQUE": "US",
	"UNITED STATES OF AMERICA": "US", "AMERIQUE": "US", "E U": "US",
	"PAYS BAS": "NL", "HOLLANDE": "NL", "NEDERLAND": "NL", "HOLLAND": "NL",
	"SUISSE": "CH", "SCHWEIZ": "CH", "SVIZZERA": "CH", "SVIZRA": "CH",
	"BELGIQUE": "BE", "BELGIE": "BE", "BELGIEN": "BE",
	"ESPAGNE": "ES", "ESPANA": "ES",
	"ITALIE": "IT", "ITALIA": "IT",
	"GRECE": "GR", "EL": "GR", "HELLAS": "GR",
	"KOSOVO":    "XK",
	"LUXEMBURG": "LU", "OSTERREICH": "AT", "AUTRICHE": "AT", "PORTUGAL": "PT",
	"POLSKA": "PL", "DANMARK": "DK", "SVERIGE": "SE", "NORGE": "NO", "SUOMI": "FI",
	"CESKO": "CZ", "TCHEQUIE": "CZ", "REPUBLIQUE TCHEQUE": "CZ", "CZECHIA": "CZ",
	"IRLANDE": "IE", "EIRE": "IE", "RUSSIE": "RU", "RUSSIA": "RU",
	"COREE DU SUD": "KR", "SOUTH KOREA": "KR", "COREE DU NORD": "KP", "NORTH KOREA": "KP",
	"CHINE": "CN", "JAPON": "JP", "MAROC": "MA", "ALGERIE": "DZ", "TUNISIE": "TN",
	"SENEGAL": "SN", "COTE D IVOIRE": "CI", "IVORY COAST": "CI", "CANADA": "CA",
	"QUEBEC": "CA", "BRESIL": "BR", "BRASIL": "BR", "MEXIQUE": "MX", "TURQUIE": "TR", "TURKIYE": "TR",
	"FRANCE METROPOLITAINE": "FR", "REPUBLIQUE FRANCAISE": "FR", "METROPOLE": "FR",
	"GUADELOUPE": "GP", "MARTINIQUE": "MQ", "GUYANE": "GF", "GUYANE FRANCAISE": "GF",
	"LA REUNION": "RE", "REUNION": "RE", "ILE DE LA REUNION": "RE", "MAYOTTE": "YT",
	"SAINT PIERRE ET MIQUELON": "PM", "ST PIERRE ET MIQUELON": "PM", "SAINT BARTHELEMY": "BL",
	"ST BARTHELEMY": "BL", "SAINT MARTIN": "MF", "ST MARTIN": "MF", "NOUVELLE CALEDONIE": "NC",
	"POLYNESIE FRANCAISE": "PF", "POLYNESIE": "PF", "TAHITI": "PF", "WALLIS ET FUTUNA": "WF",
	"MONACO": "MC", "PRINCIPAUTE DE MONACO": "MC", "ANDORRE": "AD", "VATICAN": "VA",
	"MACEDOINE": "MK", "MACEDONIA": "MK", "MOLDAVIE": "MD", "BIELORUSSIE": "BY",
	"SYRIE": "SY", "IRAN": "IR", "LAOS": "LA", "TAIWAN": "TW", "TANZANIE": "TZ",
	"VENEZUELA": "VE", "BOLIVIE": "BO", "PALESTINE": "PS", "VIETNAM": "VN", "VIET NAM": "VN",
}

// overseas are the French territories with their own ISO code (rnvp.md
// §6.3): postally domestic from France.
var overseas = map[string]bool{
	"GP": true, "MQ": true, "GF": true, "RE": true, "YT": true, "PM": true, "BL": true,
	"MF": true, "NC": true, "PF": true, "WF": true, "TF": true, "MC": true,
}

// IsFrenchDomestic reports whether mail from France to the country code
// needs no country line: France, its overseas territories and Monaco.
func IsFrenchDomestic(alpha2 string) bool { return alpha2 == "FR" || overseas[alpha2] }

func countryData() *countryTable {
	countryOnce.Do(func() {
		t := &countryTable{byAlias: map[string]string{}, info: map[string]countryInfo{}}
		add := func(alias, code string) {
			k := PostalText(alias)
			if k == "" {
				return
			}
			if _, ok := t.byAlias[k]; !ok {
				t.byAlias[k] = code
				t.aliases = append(t.aliases, k)
			}
		}
		for k, v := range curatedAliases {
			add(k, v)
		}
		lines := strings.Split(strings.TrimSpace(countriesTSV), "\n")
		for _, line := range lines[1:] {
			f := strings.Split(line, "\t")
			if len(f) < 8 {
				continue
			}
			a2, a3 := f[0], f[1]
			nameFR := frenchLine[a2]
			if nameFR == "" {
				nameFR = PostalText(uninvert(f[6]))
			}
			t.info[a2] = countryInfo{alpha2: a2, alpha3: a3, nameFR: nameFR}
			add(a3, a2)
			for _, n := range []string{f[3], f[4], f[5], f[6], f[7]} {
				if n == "" {
					continue
				}
				add(n, a2)
				add(uninvert(n), a2)
			}
			add(nameFR, a2)
		}
		t.info["XK"] = countryInfo{alpha2: "XK", alpha3: "XKX", nameFR: "KOSOVO"}
		countries = t
	})
	return countries
}

// uninvert turns ISO's "Corée, République de" into "République de Corée".
func uninvert(n string) string {
	if i := strings.Index(n, ", "); i > 0 {
		return n[i+2:] + " " + n[:i]
	}
	return n
}

// Country normalises a country name or code, in French or English, to its
// ISO 3166-1 alpha-2 code. Two-letter input is read as an alpha-2 code
// (UK → GB and EL → GR are flagged exceptional_code); three letters as
// alpha-3 or an alias ("USA", "ALL" is not guessed). A name one or two typos
// away from a known one gives Value and status suspect (fuzzy_match).
func Country(s string) Result {
	res := Result{Raw: s, Status: StatusValid}
	clean, reasons := Sanitize(s, 128)
	for _, r := range reasons {
		res.addReason(r)
	}
	k := PostalText(clean)
	if k == "" {
		return invalid(res, ReasonEmpty)
	}
	t := countryData()
	if len(k) == 2 {
		switch k {
		case "UK":
			res.Value = "GB"
			res.addReason(ReasonCountryUK)
			return res
		case "EL":
			res.Value = "GR"
			res.addReason(ReasonCountryUK)
			return res
		}
		if _, ok := t.info[k]; ok {
			res.Value = k
			return res
		}
	}
	if code, ok := t.byAlias[k]; ok {
		res.Value = code
		return res
	}
	if len(k) >= 5 {
		best, bestD, tie := "", 3, false
		max := 1
		if len(k) >= 9 {
			max = 2
		}
		for _, a := range t.aliases {
			if len(a) < 4 {
				continue
			}
			d := EditDistance(k, a, max)
			if d > max {
				continue
			}
			code := t.byAlias[a]
			switch {
			case d < bestD:
				best, bestD, tie = code, d, false
			case d == bestD && code != best:
				tie = true
			}
		}
		if best != "" && !tie {
			res.Value = best
			res.addReason(ReasonCountryFuzzy)
			res.raise(StatusSuspect)
			return res
		}
	}
	return invalid(res, ReasonCountryUnknown)
}

// CountryLine returns the country line of a postal address to alpha2, in
// French capitals without accents ("ALLEMAGNE", "ROYAUME UNI"), or "" for an
// unknown code.
func CountryLine(alpha2 string) string {
	return countryData().info[strings.ToUpper(alpha2)].nameFR
}

// CountryAlpha3 returns the ISO alpha-3 code of alpha2, or "".
func CountryAlpha3(alpha2 string) string {
	return countryData().info[strings.ToUpper(alpha2)].alpha3
}

// CountryExact returns the alpha-2 code of a country name, alias or code
// known exactly (no fuzzy matching), and whether one was found. It is the
// cheap test for "is this field a country?".
func CountryExact(s string) (string, bool) {
	k := PostalText(s)
	if k == "" {
		return "", false
	}
	t := countryData()
	if len(k) == 2 {
		switch k {
		case "UK":
			return "GB", true
		case "EL":
			return "GR", true
		}
		if _, ok := t.info[k]; ok {
			return k, true
		}
	}
	code, ok := t.byAlias[k]
	return code, ok
}
