package quality

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// E-mail reason codes.
const (
	ReasonEmailSyntax      = "syntax"           // not a practical RFC 5322 address
	ReasonEmailNoAt        = "no_at"            // no "@"
	ReasonEmailMultipleAt  = "multiple_at"      // more than one "@"
	ReasonEmailSpaces      = "internal_space"   // white space inside the address
	ReasonEmailLocalLength = "local_too_long"   // local part over 64 bytes
	ReasonEmailTooLong     = "address_too_long" // address over 254 bytes
	ReasonEmailDomain      = "domain_invalid"   // bad domain label
	ReasonEmailNoDot       = "domain_no_dot"    // single-label domain
	ReasonEmailLiteral     = "domain_literal"   // [192.0.2.1]: not accepted
	ReasonEmailUnwrapped   = "unwrapped"        // mailto:, <…>, display name or trailing punctuation removed
	ReasonEmailIDN         = "idn_domain"       // domain converted to punycode
	ReasonEmailUTF8Local   = "utf8_local_part"  // needs SMTPUTF8, many servers refuse it
	ReasonEmailTypo        = "domain_typo"      // Suggestion holds the likely address
	ReasonEmailDisposable  = "disposable"
	ReasonEmailFree        = "free_mail"
	ReasonEmailRole        = "role_account"
)

// maxEmail is the longest address SMTP can carry (RFC 5321 path limit).
const maxEmail = 254

// Email normalises an e-mail address.
//
// Value keeps the local part exactly as typed (SMTP says it is
// case-sensitive) and lower-cases the domain, in its A-label (punycode)
// form. Key lower-cases the local part too and, for Gmail, drops dots and
// the +tag (and maps googlemail.com to gmail.com); for providers that
// document +tags (Outlook, iCloud, Fastmail, Proton) it drops the +tag. The
// Key is for matching only: never send to it.
//
// Typo domains get a Suggestion and the status suspect, never a silent fix.
// Disposable domains are suspect; free-mail and role accounts are flagged
// but valid (a B2B SME's contact@ is a legitimate channel).
func Email(raw string) Result {
	res := Result{Raw: raw, Status: StatusValid}
	s, reasons := Sanitize(raw, MaxInput)
	for _, r := range reasons {
		res.addReason(r)
	}
	if s == "" {
		return invalid(res, ReasonEmpty)
	}
	s, unwrapped := unwrapEmail(s)
	if unwrapped {
		res.addReason(ReasonEmailUnwrapped)
		res.raise(StatusCorrected)
	}
	if s == "" {
		return invalid(res, ReasonEmpty)
	}
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		res = invalid(res, ReasonEmailSpaces)
		if fixed := strings.Join(strings.Fields(s), ""); validSuggestion(fixed) {
			res.Suggestion = fixed
		}
		return res
	}
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return invalid(res, ReasonEmailNoAt)
	}
	if strings.IndexByte(s[at+1:], '@') >= 0 {
		res = invalid(res, ReasonEmailMultipleAt)
		if fixed := s[:at+1] + strings.ReplaceAll(s[at+1:], "@", ""); validSuggestion(fixed) {
			res.Suggestion = fixed
		}
		return res
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 {
		return invalid(res, ReasonEmailLocalLength)
	}
	utf8Local, ok := checkLocal(local)
	if !ok {
		return invalid(res, ReasonEmailSyntax)
	}
	if strings.HasPrefix(domain, "[") {
		return invalid(res, ReasonEmailLiteral)
	}
	domain = strings.TrimSuffix(domain, ".")
	asciiDomain, idn, reason := normaliseDomain(domain)
	if reason != "" {
		res = invalid(res, reason)
		if strings.IndexByte(domain, ',') >= 0 {
			if fixed := local + "@" + strings.ReplaceAll(domain, ",", "."); validSuggestion(fixed) {
				res.Suggestion = fixed
			}
		}
		return res
	}
	if idn {
		res.addReason(ReasonEmailIDN)
	}
	value := local + "@" + asciiDomain
	if len(value) > maxEmail {
		return invalid(res, ReasonEmailTooLong)
	}
	res.Value = value
	if utf8Local {
		res.addReason(ReasonEmailUTF8Local)
		res.raise(StatusSuspect)
	}

	l := emailLists()
	lowerLocal := lowerASCII(local)
	key := lowerLocal + "@" + asciiDomain
	key = providerKey(lowerLocal, asciiDomain, key)
	if key != value {
		res.Key = key
	}
	if isRole(lowerLocal) {
		res.addReason(ReasonEmailRole)
	}
	if isDisposable(l, asciiDomain) {
		res.addReason(ReasonEmailDisposable)
		res.raise(StatusSuspect)
	}
	if inSorted(l.free, asciiDomain) {
		res.addReason(ReasonEmailFree)
	}
	if fix := suggestDomain(l, asciiDomain); fix != "" {
		res.addReason(ReasonEmailTypo)
		res.Suggestion = local + "@" + fix
		res.raise(StatusSuspect)
	}
	return res
}

func invalid(r Result, reason string) Result {
	r.addReason(reason)
	r.Status = StatusInvalid
	r.Value = ""
	r.Key = ""
	return r
}

// validSuggestion reports whether a repaired address would pass, without
// recursing into suggestions.
func validSuggestion(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || strings.Count(s, "@") != 1 || len(s) > maxEmail {
		return false
	}
	if _, ok := checkLocal(s[:at]); !ok {
		return false
	}
	_, _, reason := normaliseDomain(s[at+1:])
	return reason == ""
}

// unwrapEmail strips what people paste around an address: "mailto:", a
// display name with angle brackets, quotes and trailing punctuation.
func unwrapEmail(s string) (string, bool) {
	orig := s
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			s = s[i+1 : i+j]
		}
	}
	s = strings.TrimSpace(s)
	if len(s) >= 7 && strings.EqualFold(s[:7], "mailto:") {
		s = s[7:]
		if q := strings.IndexByte(s, '?'); q >= 0 {
			s = s[:q]
		}
	}
	// Trailing dots go (end of a sentence); a leading dot is a syntax error.
	s = strings.TrimLeft(s, " \"'<>()[],;:")
	s = strings.TrimRight(s, " \"'<>()[],;:.")
	// Keep a domain literal's closing bracket for the literal check.
	if strings.HasSuffix(orig, "]") && strings.Contains(s, "@[") {
		s += "]"
	}
	return s, s != orig
}

// checkLocal validates a dot-atom local part (quoted strings are not
// accepted: no mailbox provider hands them out). Non-ASCII letters are
// allowed (RFC 6531) but reported.
func checkLocal(local string) (utf8Local, ok bool) {
	if local == "" || local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false, false
	}
	for _, r := range local {
		switch {
		case r >= utf8.RuneSelf:
			if r == utf8.RuneError || !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)) {
				return false, false
			}
			utf8Local = true
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		case strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r):
		default:
			return false, false
		}
	}
	return utf8Local, true
}

// normaliseDomain lower-cases, NFC-normalises and punycodes a domain and
// checks its labels (LDH rule, 63 bytes per label, 253 in all, at least two
// labels, an alphabetic TLD).
func normaliseDomain(domain string) (ascii string, idn bool, reason string) {
	if domain == "" {
		return "", false, ReasonEmailDomain
	}
	d := domain
	isASCII := true
	for i := 0; i < len(d); i++ {
		if d[i] >= utf8.RuneSelf {
			isASCII = false
			break
		}
	}
	if isASCII {
		d = lowerASCII(d)
	} else {
		d = norm.NFC.String(strings.ToLower(d))
		// Ideographic full stops are dots in IDNA.
		d = strings.NewReplacer("。", ".", "．", ".", "｡", ".").Replace(d)
		for _, r := range d {
			if r >= utf8.RuneSelf && !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)) {
				return "", false, ReasonEmailDomain
			}
		}
		var err error
		if d, err = toASCIIDomain(d); err != nil {
			return "", false, ReasonEmailDomain
		}
		idn = true
	}
	if len(d) > 253 {
		return "", idn, ReasonEmailDomain
	}
	if strings.IndexByte(d, '.') < 0 {
		return "", idn, ReasonEmailNoDot
	}
	labels := 0
	for rest := d; ; {
		i := strings.IndexByte(rest, '.')
		label := rest
		if i >= 0 {
			label = rest[:i]
		}
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", idn, ReasonEmailDomain
		}
		for j := 0; j < len(label); j++ {
			c := label[j]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return "", idn, ReasonEmailDomain
			}
		}
		labels++
		if i < 0 {
			// The TLD must not be numeric (that would be an IP address).
			if len(label) < 2 || strings.Trim(label, "0123456789") == "" {
				return "", idn, ReasonEmailDomain
			}
			break
		}
		rest = rest[i+1:]
	}
	return d, idn, ""
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
		if s[i] >= utf8.RuneSelf {
			return strings.ToLower(s)
		}
	}
	return s
}

// plusTagDomains document "+tag" sub-addressing for their consumer
// mailboxes; Yahoo's "-keyword" aliases are deliberately absent.
var plusTagDomains = map[string]bool{
	"outlook.com": true, "outlook.fr": true, "hotmail.com": true, "hotmail.fr": true,
	"live.com": true, "live.fr": true, "msn.com": true, "icloud.com": true,
	"me.com": true, "mac.com": true, "fastmail.com": true, "fastmail.fm": true,
	"protonmail.com": true, "protonmail.ch": true, "proton.me": true, "pm.me": true,
}

func providerKey(lowerLocal, domain, key string) string {
	switch {
	case domain == "gmail.com" || domain == "googlemail.com":
		l := lowerLocal
		if i := strings.IndexByte(l, '+'); i > 0 {
			l = l[:i]
		}
		l = strings.ReplaceAll(l, ".", "")
		if l == "" {
			return key
		}
		return l + "@gmail.com"
	case plusTagDomains[domain]:
		if i := strings.IndexByte(lowerLocal, '+'); i > 0 {
			return lowerLocal[:i] + "@" + domain
		}
	}
	return key
}

// roleLocals are RFC 2142 mailboxes plus the usual French functional ones.
var roleLocals = map[string]bool{
	"info": true, "infos": true, "marketing": true, "sales": true, "support": true,
	"abuse": true, "noc": true, "security": true, "postmaster": true, "hostmaster": true,
	"usenet": true, "news": true, "webmaster": true, "www": true, "uucp": true, "ftp": true,
	"contact": true, "contacts": true, "accueil": true, "commercial": true, "compta": true,
	"comptabilite": true, "facturation": true, "direction": true, "secretariat": true,
	"rh": true, "recrutement": true, "sav": true, "service.client": true,
	"serviceclient": true, "service-client": true, "admin": true, "administration": true,
	"noreply": true, "no-reply": true, "ne-pas-repondre": true, "nepasrepondre": true,
	"hello": true, "bonjour": true, "office": true, "team": true, "equipe": true,
	"billing": true, "jobs": true, "careers": true, "mail": true, "newsletter": true,
}

func isRole(lowerLocal string) bool {
	l := lowerLocal
	if i := strings.IndexByte(l, '+'); i > 0 {
		l = l[:i]
	}
	return roleLocals[l]
}

// isDisposable checks the exact list, then the domain and each parent
// against the wildcard list (any sub-domain of those is disposable).
func isDisposable(l *domainLists, domain string) bool {
	if inSorted(l.disposable, domain) {
		return true
	}
	for d := domain; ; {
		if inSorted(l.wildcard, d) {
			return true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return false
		}
		d = d[i+1:]
		if strings.IndexByte(d, '.') < 0 {
			return false
		}
	}
}

// tldTypos maps top-level domains nobody registers under to the TLD that
// was meant.
var tldTypos = map[string]string{
	"con": "com", "cmo": "com", "ocm": "com", "vom": "com", "xom": "com", "comm": "com",
	"cpm": "com", "coom": "com", "fe": "fr", "rf": "fr", "frr": "fr", "ftr": "fr", "fr.": "fr",
	"nett": "net", "nte": "net", "ent": "net", "ogr": "org", "orgg": "org",
}

// suggestDomain proposes the intended domain of a typo, or "".
func suggestDomain(l *domainLists, domain string) string {
	if fix, ok := l.typos[domain]; ok {
		return fix
	}
	if realDomains[domain] || inSorted(l.free, domain) || inSorted(l.disposable, domain) {
		return ""
	}
	best, bestD := "", 3
	for _, c := range commonDomains {
		max := 2
		if len(c) <= 7 || len(domain) <= 7 {
			max = 1 // "sfr.fr" is two edits from "free.fr": too close to guess
		}
		if d := EditDistance(domain, c, max); d <= max && d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" {
		return best
	}
	if i := strings.LastIndexByte(domain, '.'); i > 0 {
		if tld, ok := tldTypos[domain[i+1:]]; ok {
			return domain[:i+1] + tld
		}
	}
	return ""
}
