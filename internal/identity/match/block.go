package match

import (
	"fmt"
	"slices"
	"strings"
)

// BlockingRule makes candidate pairs: two records are compared when they
// share every key of at least one rule. Keys are names from BlockKeys
// ("surname_soundex", "birth_year", ...); a record missing any key of a rule
// is in no block of that rule.
type BlockingRule struct {
	Name string   `json:"name" yaml:"name"`
	Keys []string `json:"keys" yaml:"keys"`
}

// RuleStats is what one blocking rule contributed.
type RuleStats struct {
	Name string `json:"name"`
	// Pairs counts the candidate pairs this rule added that no earlier rule
	// had already produced (so the sum over rules is the candidate total).
	Pairs int64 `json:"pairs"`
	// Blocks counts blocks of two records or more.
	Blocks int `json:"blocks"`
	// SkippedBlocks and SkippedRecords count blocks larger than
	// Config.MaxBlockSize, left out because a key that common does not
	// discriminate; their pairs are only reached through other rules.
	SkippedBlocks  int `json:"skipped_blocks"`
	SkippedRecords int `json:"skipped_records"`
}

// DefaultBlockingRules are the rules for person and contact data. Each
// combines two or three weak keys, so that one typo or one missing field
// loses a pair for that rule only: their union is what makes recall (0.997 of
// the true pairs on FEBRL 2 and 3 and on a generated million). Three keys
// where two would make blocks of hundreds at a million records: the set gives
// about 20 candidate pairs per record there. The name keys read the first and
// last words of a single-field name, and the phone, name-token and street
// rules carry organisations, which have neither birth date nor split name.
func DefaultBlockingRules() []BlockingRule {
	return []BlockingRule{
		{Name: "surname+birth_year+given_initial", Keys: []string{"surname_soundex", "birth_year", "given_initial"}},
		{Name: "names_any_order+birth_year", Keys: []string{"name_soundex_set", "birth_year"}},
		{Name: "given_name+surname", Keys: []string{"given_name", "surname"}},
		{Name: "birth_date+given_initial", Keys: []string{"birth_date", "given_initial"}},
		{Name: "birth_date+surname_initial", Keys: []string{"birth_date", "surname_initial"}},
		{Name: "birth_date+postal_code", Keys: []string{"birth_date", "postal_code"}},
		{Name: "postal_code+street_number+given_initial", Keys: []string{"postal_code", "street_number", "given_initial"}},
		{Name: "postal_code+street_number+surname_initial", Keys: []string{"postal_code", "street_number", "surname_initial"}},
		{Name: "street+given_initial", Keys: []string{"street_number", "street_prefix", "given_initial"}},
		{Name: "street+surname_initial", Keys: []string{"street_number", "street_prefix", "surname_initial"}},
		{Name: "postal_code+given+surname_initial", Keys: []string{"postal_code", "given_soundex", "surname_initial"}},
		{Name: "postal_code+surname+given_initial", Keys: []string{"postal_code", "surname_soundex", "given_initial"}},
		{Name: "phone", Keys: []string{"phone"}},
		{Name: "email", Keys: []string{"email"}},
		{Name: "external_id", Keys: []string{"external_id"}},
		{Name: "name_tokens", Keys: []string{"full_name_key"}},
		{Name: "street", Keys: []string{"street_number", "street_prefix"}},
	}
}

// blockKey feeds one key of a record into a hash; it returns false when the
// record has no such key.
type blockKey func(p *prepared, h *fnv) bool

// BlockKeys lists the key names a BlockingRule may use.
func BlockKeys() []string {
	names := make([]string, 0, len(blockKeys))
	for k := range blockKeys {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

var blockKeys = map[string]blockKey{
	"given_soundex":   func(p *prepared, h *fnv) bool { return h.soundex(p.bGiven) },
	"surname_soundex": func(p *prepared, h *fnv) bool { return h.soundex(p.bSurname) },
	"given_initial":   func(p *prepared, h *fnv) bool { return h.prefix(p.bGiven, 1) },
	"surname_initial": func(p *prepared, h *fnv) bool { return h.prefix(p.bSurname, 1) },
	"given_name":      func(p *prepared, h *fnv) bool { return h.str(p.bGiven) },
	// name_soundex_set is the sorted pair of the given-name and surname
	// soundex codes: it survives given name and surname being swapped.
	"name_soundex_set": func(p *prepared, h *fnv) bool {
		g, okg := soundex(p.bGiven)
		s, oks := soundex(p.bSurname)
		if !okg || !oks {
			return false
		}
		if string(s[:]) < string(g[:]) {
			g, s = s, g
		}
		return h.str(string(g[:])) && h.str(string(s[:]))
	},
	"surname": func(p *prepared, h *fnv) bool { return h.str(p.bSurname) },
	"birth_year": func(p *prepared, h *fnv) bool {
		return p.hasDOB && h.str(string(p.dobKey[:4]))
	},
	"birth_date": func(p *prepared, h *fnv) bool {
		return p.hasDOB && p.dob.Month > 0 && p.dob.Day > 0 && h.str(string(p.dobKey[:]))
	},
	"postal_code":   func(p *prepared, h *fnv) bool { return h.str(p.postcode) },
	"street_number": func(p *prepared, h *fnv) bool { return h.str(p.streetNo) },
	"street_prefix": func(p *prepared, h *fnv) bool { return h.prefix(streetName(p.addr1), 4) },
	"locality":      func(p *prepared, h *fnv) bool { return h.str(p.locality) },
	"phone": func(p *prepared, h *fnv) bool {
		// The last seven digits, so that a number with and without its
		// country or area code lands in the same block.
		if len(p.phone) < 7 {
			return false
		}
		return h.str(p.phone[len(p.phone)-7:])
	},
	"email":       func(p *prepared, h *fnv) bool { return h.str(p.email) },
	"external_id": func(p *prepared, h *fnv) bool { return h.str(p.extID) },
	// full_name_key is the sorted pair of the two rarest tokens of a
	// single-field name, so "Salvation Army Red Shield" and "SALVATION ARMY -
	// RED SHIELD" meet whatever the order and the filler words.
	"full_name_key": func(p *prepared, h *fnv) bool {
		if p.split || len(p.fullTok) == 0 {
			return false
		}
		a, b := rarestTwo(p.fullTok)
		h.u32(a)
		h.u32(b)
		return true
	},
}

// streetName drops the direction and street-type words before the street
// prefix is taken, so "e 79th st" and "79th" share "79th".
func streetName(line string) string {
	for _, w := range strings.Fields(line) {
		if !streetNoise[w] {
			return w
		}
	}
	return ""
}

func rarestTwo(toks []token) (uint32, uint32) {
	var a, b token
	a.w, b.w = -1, -1
	for _, t := range toks {
		switch {
		case t.w > a.w:
			b, a = a, t
		case t.w > b.w:
			b = t
		}
	}
	if b.w < 0 {
		return a.id, a.id
	}
	return min(a.id, b.id), max(a.id, b.id)
}

// fnv is FNV-1a 64, written out so that hashing a key allocates nothing.
type fnv uint64

const fnvOffset, fnvPrime = 14695981039346656037, 1099511628211

func (h *fnv) byte(c byte) { *h = (*h ^ fnv(c)) * fnvPrime }

func (h *fnv) str(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		h.byte(s[i])
	}
	h.byte(0xFF) // separator: "ab"+"c" differs from "a"+"bc"
	return true
}

func (h *fnv) prefix(s string, n int) bool {
	if s == "" {
		return false
	}
	if len(s) > n {
		s = s[:n]
	}
	return h.str(s)
}

func (h *fnv) u32(v uint32) {
	for i := 0; i < 4; i++ {
		h.byte(byte(v >> (8 * i)))
	}
	h.byte(0xFE)
}

func (h *fnv) soundex(s string) bool {
	code, ok := soundex(s)
	if !ok {
		return false
	}
	return h.str(string(code[:]))
}

// soundex is American Soundex (letter + three digits) of the first word that
// has letters. It is a blocking key, not a similarity: it groups "smith" and
// "smyth" into one block.
func soundex(s string) ([4]byte, bool) {
	const codes = "01230120022455012623010202" // a..z
	var out [4]byte
	n := 0
	var last byte
	for i := 0; i < len(s) && n < 4; i++ {
		c := s[i]
		if c < 'a' || c > 'z' {
			if n > 0 && c == ' ' {
				break
			}
			continue
		}
		d := codes[c-'a']
		if n == 0 {
			out[0] = c
			n = 1
			last = d
			continue
		}
		if c == 'h' || c == 'w' {
			continue // h and w do not separate equal codes
		}
		if d != '0' && d != last {
			out[n] = d
			n++
		}
		last = d
	}
	if n == 0 {
		return out, false
	}
	for ; n < 4; n++ {
		out[n] = '0'
	}
	return out, true
}

// keyTouches lists, per key, the comparisons whose levels a shared key makes
// more likely among different people. EM leaves them out of the rule's
// session (see em.go). Geography goes together: people at one postcode also
// share locality and region, people on one street share a postcode. Names
// touch the e-mail, which is often built from them.
var keyTouches = map[string][]string{
	"given_soundex":    {CmpGivenName, CmpFullName, CmpEmail},
	"given_initial":    {CmpGivenName, CmpFullName, CmpEmail},
	"given_name":       {CmpGivenName, CmpFullName, CmpEmail},
	"name_soundex_set": {CmpGivenName, CmpSurname, CmpFullName, CmpEmail},
	"surname_soundex":  {CmpSurname, CmpFullName, CmpEmail},
	"surname_initial":  {CmpSurname, CmpFullName, CmpEmail},
	"surname":          {CmpSurname, CmpFullName, CmpEmail},
	"full_name_key":    {CmpFullName, CmpGivenName, CmpSurname, CmpEmail},
	"birth_year":       {CmpBirthDate},
	"birth_date":       {CmpBirthDate},
	"postal_code":      {CmpPostalCode, CmpLocality, CmpRegion, CmpAddress, CmpStreetNumber},
	"locality":         {CmpPostalCode, CmpLocality, CmpRegion, CmpAddress, CmpStreetNumber},
	"street_number":    {CmpStreetNumber, CmpAddress, CmpPostalCode, CmpLocality, CmpRegion},
	"street_prefix":    {CmpStreetNumber, CmpAddress, CmpPostalCode, CmpLocality, CmpRegion},
	"phone":            {CmpPhone},
	"email":            {CmpEmail, CmpGivenName, CmpSurname, CmpFullName},
	"external_id":      {CmpExternalID},
}

// maxRules bounds the rules: the rules that block a pair are a uint32 set.
const maxRules = 32

// compiledRule is a rule ready to hash records.
type compiledRule struct {
	name string
	keys []blockKey
	// touchMask has the 4 pattern bits of every comparison the keys touch.
	touchMask uint64
}

func compileRules(rules []BlockingRule, cmps []Comparison) ([]compiledRule, error) {
	if len(rules) == 0 {
		return nil, fmt.Errorf("no blocking rule")
	}
	if len(rules) > maxRules {
		return nil, fmt.Errorf("at most %d blocking rules", maxRules)
	}
	out := make([]compiledRule, len(rules))
	for i, r := range rules {
		if len(r.Keys) == 0 {
			return nil, fmt.Errorf("blocking rule %q has no key", r.Name)
		}
		out[i].name = r.Name
		if out[i].name == "" {
			out[i].name = strings.Join(r.Keys, "+")
		}
		for _, k := range r.Keys {
			f, ok := blockKeys[k]
			if !ok {
				return nil, fmt.Errorf("blocking rule %q: unknown key %q", r.Name, k)
			}
			out[i].keys = append(out[i].keys, f)
			for _, name := range keyTouches[k] {
				if c := slices.IndexFunc(cmps, func(c Comparison) bool { return c.Name == name }); c >= 0 {
					out[i].touchMask |= 0xF << (4 * uint(c))
				}
			}
		}
	}
	return out, nil
}

// key hashes a record under a rule; 0 means "in no block".
func (r *compiledRule) key(p *prepared) uint64 {
	h := fnv(fnvOffset)
	for _, k := range r.keys {
		if !k(p, &h) {
			return 0
		}
	}
	if h == 0 {
		h = 1
	}
	return uint64(h)
}

// block is a run of records sharing a key under one rule.
type block struct {
	rule       int
	start, end int // into blocking.order[rule]
}

// blocking holds each record's key under every rule and, per rule, the
// records sorted by key. keys[i*nRules+r] is record i's key under rule r:
// one record's keys sit together, so testing whether an earlier rule already
// paired two records reads two cache lines instead of 2r scattered words. A
// key is zeroed for records in oversized blocks so that the test stays a
// plain equality.
type blocking struct {
	nRules int
	keys   []uint64
	order  [][]uint32
	blocks []block
	stats  []RuleStats
}

func buildBlocking(rules []compiledRule, recs []prepared, maxBlock int) *blocking {
	R := len(rules)
	b := &blocking{
		nRules: R,
		keys:   make([]uint64, len(recs)*R),
		order:  make([][]uint32, R),
		stats:  make([]RuleStats, R),
	}
	for i := range recs {
		for r := range rules {
			b.keys[i*R+r] = rules[r].key(&recs[i])
		}
	}
	for r := range rules {
		key := func(i uint32) uint64 { return b.keys[int(i)*R+r] }
		order := make([]uint32, 0, len(recs))
		for i := range recs {
			if key(uint32(i)) != 0 {
				order = append(order, uint32(i))
			}
		}
		slices.SortFunc(order, func(x, y uint32) int {
			if kx, ky := key(x), key(y); kx != ky {
				if kx < ky {
					return -1
				}
				return 1
			}
			return int(x) - int(y)
		})
		b.stats[r].Name = rules[r].name
		for s := 0; s < len(order); {
			e := s + 1
			for e < len(order) && key(order[e]) == key(order[s]) {
				e++
			}
			switch n := e - s; {
			case n > maxBlock:
				b.stats[r].SkippedBlocks++
				b.stats[r].SkippedRecords += n
				for _, i := range order[s:e] {
					b.keys[int(i)*R+r] = 0
				}
			case n >= 2:
				b.stats[r].Blocks++
				b.blocks = append(b.blocks, block{rule: r, start: s, end: e})
			}
			s = e
		}
		b.order[r] = order
	}
	// Big blocks first, so that the workers finish together.
	slices.SortStableFunc(b.blocks, func(x, y block) int { return (y.end - y.start) - (x.end - x.start) })
	return b
}

// coveredBefore reports whether a rule before r already paired i and j.
func (b *blocking) coveredBefore(r int, i, j uint32) bool {
	ki := b.keys[int(i)*b.nRules : int(i)*b.nRules+r]
	kj := b.keys[int(j)*b.nRules : int(j)*b.nRules+r]
	for q, k := range ki {
		if k != 0 && k == kj[q] {
			return true
		}
	}
	return false
}

// coveringFrom is the set of rules from r on that pair i and j (rule r
// itself always does: the pair came from one of its blocks).
func (b *blocking) coveringFrom(r int, i, j uint32) uint32 {
	set := uint32(1) << uint(r)
	ki := b.keys[int(i)*b.nRules : (int(i)+1)*b.nRules]
	kj := b.keys[int(j)*b.nRules : (int(j)+1)*b.nRules]
	for q := r + 1; q < len(ki); q++ {
		if k := ki[q]; k != 0 && k == kj[q] {
			set |= 1 << uint(q)
		}
	}
	return set
}

// isCandidate reports whether any rule pairs i and j.
func (b *blocking) isCandidate(i, j uint32) bool { return b.coveredBefore(b.nRules, i, j) }
