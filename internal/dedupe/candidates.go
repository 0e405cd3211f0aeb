package dedupe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/store"
)

// candidate is one member's value of a golden field.
type candidate struct {
	value     any
	key       string // comparable form (normalised when the normaliser kept one)
	validated bool
	at        time.Time
	source    string
	profile   string
	order     int  // member's creation order
	copied    bool // the survivor's copy of a merged member's value
}

// fieldTraits lists, per golden field, the trait names read (the same as
// the normalisers read, internal/app/normalize.go).
var fieldTraits = map[string][]string{
	"email":      traitNames["email"],
	"phone":      traitNames["phone"],
	"first_name": traitNames["first_name"],
	"last_name":  traitNames["last_name"],
	"name":       traitNames["name"],
	"birthday":   traitNames["birthday"],
	"address":    append([]string{"address"}, traitNames["street"]...),
}

// normStatus is the status and comparable value the normaliser kept for one field.
type normStatus struct {
	Value     string `json:"value"`
	Key       string `json:"key"`
	Status    string `json:"status"`
	Validated *bool  `json:"validated"` // RNVP addresses only
	Lines     []string
}

func candidatesOf(rows []store.LineageRow) map[string][]candidate {
	out := map[string][]candidate{}
	for order, r := range rows {
		ts, err := identity.DecodeTraitState(r.Traits, r.TraitMeta)
		if err != nil {
			continue // an unreadable row has no candidate; the others still count
		}
		var norm map[string]json.RawMessage
		_ = json.Unmarshal(r.Normalized, &norm)
		for field, names := range fieldTraits {
			for _, k := range names {
				v, ok := ts.Traits[k]
				if !ok || blank(v) {
					continue
				}
				c := candidate{value: v, at: ts.Meta[k].At, source: r.SourceID, profile: r.ID, order: order}
				if c.at.IsZero() {
					c.at = r.CreatedAt
				}
				normKey := field
				if field == "first_name" || field == "last_name" {
					normKey = "name"
				}
				var ns normStatus
				if raw, ok := norm[normKey]; ok && json.Unmarshal(raw, &ns) == nil {
					switch {
					case field == "address" && ns.Validated != nil:
						c.validated = *ns.Validated
					default:
						c.validated = ns.Status == "valid" || ns.Status == "corrected"
					}
					if field == "email" || field == "phone" || field == "birthday" {
						c.key = first(ns.Key, ns.Value)
					}
				}
				if c.key == "" {
					c.key = comparable(v)
				}
				out[field] = append(out[field], c)
				break
			}
		}
	}
	for f, cs := range out {
		out[f] = dropCopies(cs, rows)
	}
	return out
}

// dropCopies removes the survivor's copies of values it took from merged
// members: same value, same time, one of them the live profile. The copy's
// lineage is the member it came from.
func dropCopies(cs []candidate, rows []store.LineageRow) []candidate {
	live := map[string]bool{}
	for _, r := range rows {
		if r.MergedInto == "" {
			live[r.ID] = true
		}
	}
	for i := range cs {
		if !live[cs[i].profile] {
			continue
		}
		for j := range cs {
			if j != i && !live[cs[j].profile] && cs[j].at.Equal(cs[i].at) && cs[j].key == cs[i].key {
				cs[i].copied = true
				break
			}
		}
	}
	out := cs[:0]
	for _, c := range cs {
		if !c.copied {
			out = append(out, c)
		}
	}
	return out
}

func blank(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case map[string]any:
		for _, e := range x {
			if !blank(e) {
				return false
			}
		}
		return true
	}
	return false
}

// comparable is a value's comparison form: lower case, spaces folded,
// objects by their sorted fields.
func comparable(v any) string {
	switch x := v.(type) {
	case string:
		return strings.Join(strings.Fields(strings.ToLower(x)), " ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%s;", k, comparable(x[k]))
		}
		return b.String()
	}
	b, _ := json.Marshal(v)
	return string(bytes.ToLower(b))
}

// completeness counts the letters and digits of a value (of every string in
// an object), so "Jean-Pierre" beats "J." and a full address beats a town.
func completeness(v any) int {
	switch x := v.(type) {
	case string:
		n := 0
		for _, r := range x {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				n++
			}
		}
		return n
	case map[string]any:
		n := 0
		for _, e := range x {
			n += completeness(e)
		}
		return n
	case json.Number:
		return len(x.String())
	}
	return 0
}

// choose applies a chain of rules to a field's candidates. Ties left after
// the chain go to the most recent, then the oldest member. The rule reported
// is the first that set the winner apart ("agreed" when all values are the
// same, "only_value" for a single candidate).
func choose(cs []candidate, chain []string, sourcePriority []string) (GoldenValue, bool) {
	if len(cs) == 0 {
		return GoldenValue{}, false
	}
	rank := map[string]int{}
	for i, s := range sourcePriority {
		rank[s] = i + 1
	}
	freq := map[string]int{}
	for _, c := range cs {
		freq[c.key]++
	}
	score := func(rule string, c candidate) float64 {
		switch rule {
		case RuleSourcePriority:
			if r, ok := rank[c.source]; ok {
				return float64(-r)
			}
			return float64(-len(sourcePriority) - 1)
		case RuleMostRecent:
			return float64(c.at.UnixNano())
		case RuleMostComplete:
			return float64(completeness(c.value))
		case RuleMostFrequent:
			return float64(freq[c.key])
		case RuleValidatedFirst:
			if c.validated {
				return 1
			}
			return 0
		}
		return 0
	}
	decided := ""
	if len(cs) == 1 {
		decided = "only_value"
	}
	left := cs
	for _, rule := range append(append([]string{}, chain...), RuleMostRecent) {
		if len(left) == 1 {
			break
		}
		best := score(rule, left[0])
		for _, c := range left[1:] {
			best = max(best, score(rule, c))
		}
		var keep []candidate
		for _, c := range left {
			if score(rule, c) == best {
				keep = append(keep, c)
			}
		}
		if len(keep) < len(left) && decided == "" {
			decided = rule
		}
		left = keep
	}
	same := len(cs) > 1
	for _, c := range cs {
		same = same && c.key == cs[0].key
	}
	switch {
	case same:
		// Every member has this value: the chain only picked whose
		// lineage to show.
		decided = "agreed"
	case decided == "":
		decided = "tie" // different values that no rule tells apart: the oldest member's
	}
	sort.SliceStable(left, func(i, j int) bool { return left[i].order < left[j].order })
	w := left[0]
	return GoldenValue{Value: w.value, Source: w.source, ProfileID: w.profile, At: w.at.UTC(), Rule: decided,
		Validated: w.validated, Candidates: len(cs)}, true
}
