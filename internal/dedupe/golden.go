package dedupe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atrium-cdp/atrium/internal/store"
)

// Survivorship: which value of a merge cluster is the golden one, per field.
//
// A cluster is a live profile and every profile merged into it. Each member
// keeps its own row (traits with the event time that last set each one,
// normalised fields with their status), so every member is a candidate with
// its lineage: profile id, the source it was last written from, the time.
// A survivor's row also holds the values it took from merged profiles (a
// merge fills what the survivor lacked, with the original time); such a
// copy is attributed to the merged profile it came from.

// SurvivorshipKey is the workspace setting holding the rules (JSON).
const SurvivorshipKey = "survivorship"

// Rules a field's chain may use; each keeps the best candidates and hands
// ties to the next rule.
const (
	RuleSourcePriority = "source_priority" // earliest in SourcePriority first
	RuleMostRecent     = "most_recent"     // latest event time first
	RuleMostComplete   = "most_complete"   // most filled-in characters or parts first
	RuleMostFrequent   = "most_frequent"   // the value most members agree on first
	RuleValidatedFirst = "validated_first" // valid or corrected by the normaliser (RNVP-validated for addresses) first
)

var knownRules = map[string]bool{RuleSourcePriority: true, RuleMostRecent: true, RuleMostComplete: true,
	RuleMostFrequent: true, RuleValidatedFirst: true}

// GoldenFields are the fields a golden record holds.
var GoldenFields = []string{"email", "phone", "first_name", "last_name", "name", "birthday", "address"}

// Survivorship is a workspace's survivorship configuration.
type Survivorship struct {
	// Fields maps a golden field to its chain of rules.
	Fields map[string][]string `json:"fields"`
	// SourcePriority lists source ids or names, most trusted first; sources
	// not listed come after all listed ones.
	SourcePriority []string `json:"source_priority"`
}

// DefaultSurvivorship suits contact data: a contact value the normalisers
// validated beats one they could not, then the latest wins; names keep the
// fullest spelling ("Jean-Pierre" over "J."); a birth date most sources agree
// on beats a typo.
func DefaultSurvivorship() Survivorship {
	return Survivorship{Fields: map[string][]string{
		"email":      {RuleValidatedFirst, RuleMostRecent},
		"phone":      {RuleValidatedFirst, RuleMostRecent},
		"first_name": {RuleMostComplete, RuleMostRecent},
		"last_name":  {RuleMostComplete, RuleMostRecent},
		"name":       {RuleMostComplete, RuleMostRecent},
		"birthday":   {RuleValidatedFirst, RuleMostFrequent, RuleMostRecent},
		"address":    {RuleValidatedFirst, RuleMostRecent},
	}, SourcePriority: []string{}}
}

// MaxSurvivorshipBytes bounds the settings document.
const MaxSurvivorshipBytes = 64 << 10

// ParseSurvivorship reads and validates a survivorship document. Fields it
// does not name keep their defaults; an empty document is the defaults.
// Errors name the field and the problem.
func ParseSurvivorship(raw []byte) (Survivorship, error) {
	out := DefaultSurvivorship()
	if len(raw) > MaxSurvivorshipBytes {
		return out, fmt.Errorf("survivorship: document over %d bytes", MaxSurvivorshipBytes)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return out, nil
	}
	if !utf8.Valid(raw) {
		return out, errors.New("survivorship: document is not valid UTF-8")
	}
	var in struct {
		Fields         map[string][]string `json:"fields"`
		SourcePriority []string            `json:"source_priority"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return out, fmt.Errorf("survivorship: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return out, errors.New("survivorship: trailing data after the JSON object")
	}
	if len(in.SourcePriority) > 100 {
		return out, errors.New("survivorship: source_priority: at most 100 sources")
	}
	seenSrc := map[string]bool{}
	for i, s := range in.SourcePriority {
		s = strings.TrimSpace(s)
		if s == "" || len(s) > 200 {
			return out, fmt.Errorf("survivorship: source_priority[%d]: want a source id or name of 1 to 200 characters", i)
		}
		if seenSrc[s] {
			return out, fmt.Errorf("survivorship: source_priority[%d]: %q listed twice", i, s)
		}
		seenSrc[s] = true
		out.SourcePriority = append(out.SourcePriority, s)
	}
	for f, chain := range in.Fields {
		if _, ok := out.Fields[f]; !ok {
			return out, fmt.Errorf("survivorship: fields: unknown field %q (want one of %s)", f, strings.Join(GoldenFields, ", "))
		}
		if len(chain) == 0 {
			return out, fmt.Errorf("survivorship: fields.%s: the chain of rules is empty", f)
		}
		seen := map[string]bool{}
		for _, r := range chain {
			if !knownRules[r] {
				return out, fmt.Errorf("survivorship: fields.%s: unknown rule %q (want source_priority, most_recent, most_complete, most_frequent or validated_first)", f, r)
			}
			if seen[r] {
				return out, fmt.Errorf("survivorship: fields.%s: rule %q listed twice", f, r)
			}
			seen[r] = true
			if r == RuleSourcePriority && len(out.SourcePriority) == 0 {
				return out, fmt.Errorf("survivorship: fields.%s: source_priority needs a non-empty source_priority list", f)
			}
		}
		out.Fields[f] = chain
	}
	return out, nil
}

// Survivorship reads the workspace's rules (the defaults when none is set).
func (s *Service) Survivorship(ctx context.Context) (Survivorship, error) {
	raw, err := s.st.Setting(ctx, SurvivorshipKey)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Survivorship{}, err
	}
	return ParseSurvivorship([]byte(raw))
}

// PutSurvivorship validates and stores new rules and returns them with the
// defaults filled in. A document that does not validate changes nothing.
func (s *Service) PutSurvivorship(ctx context.Context, raw []byte) (Survivorship, error) {
	sv, err := ParseSurvivorship(raw)
	if err != nil {
		return sv, &InputError{Field: "settings", Msg: err.Error()}
	}
	b, _ := json.Marshal(sv)
	if err := s.st.PutSetting(ctx, SurvivorshipKey, string(b), s.now()); err != nil {
		return sv, err
	}
	return sv, nil
}

// GoldenValue is one field of a golden record with its lineage.
type GoldenValue struct {
	Value     any       `json:"value"`
	Source    string    `json:"source"`
	ProfileID string    `json:"profile_id"`
	At        time.Time `json:"at"`
	// Rule is the rule that chose this value over the others ("only_value"
	// when no other member has the field, "tie" when every rule tied and
	// the oldest profile's value was kept).
	Rule       string `json:"rule"`
	Validated  bool   `json:"validated"`
	Candidates int    `json:"candidates"`
}

// Golden is a live profile's golden record.
type Golden struct {
	ProfileID string                 `json:"profile_id"`
	Members   []string               `json:"members"`
	Fields    map[string]GoldenValue `json:"golden"`
}

// Golden computes the golden record of a profile (a merged-away id is
// resolved to its survivor). Unknown ids are store.ErrNotFound.
func (s *Service) Golden(ctx context.Context, profileID string) (Golden, error) {
	live, err := s.st.Survivor(ctx, profileID)
	if err != nil {
		return Golden{}, err
	}
	rules, err := s.Survivorship(ctx)
	if err != nil {
		return Golden{}, err
	}
	rows, err := s.st.Lineage(ctx, live)
	if err != nil {
		return Golden{}, err
	}
	g := Golden{ProfileID: live, Fields: map[string]GoldenValue{}}
	for _, r := range rows {
		g.Members = append(g.Members, r.ID)
	}
	prio, err := s.sourceIDs(ctx, rules.SourcePriority)
	if err != nil {
		return Golden{}, err
	}
	cands := candidatesOf(rows)
	for _, f := range GoldenFields {
		if v, ok := choose(cands[f], rules.Fields[f], prio); ok {
			g.Fields[f] = v
		}
	}
	return g, nil
}

// sourceIDs maps the source names of a priority list to their ids (an entry
// that is no source's name is taken as an id).
func (s *Service) sourceIDs(ctx context.Context, list []string) ([]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	srcs, err := s.st.Sources(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]string{}
	for _, src := range srcs {
		byName[src.Name] = src.ID
	}
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e
		if id, ok := byName[e]; ok {
			out[i] = id
		}
	}
	return out, nil
}
