// Package identity resolves the identifiers a message carries (user id,
// anonymous id, e-mail, phone, external ids) to one profile, merging profiles
// when a message proves they are the same person, within guard-rails.
//
// Invariants: an identifier belongs to at most one live profile; a profile
// never holds more identifiers of one type than its limit (so two profiles
// with different user ids are never merged automatically); placeholder values
// ("undefined", "null", "0", ...) never act as identifiers. The Graph is the
// in-memory copy of the identities table owned by the ingest writer; every
// change is journaled so a failed commit can be rolled back.
package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/atrium-cdp/atrium/internal/model"
)

// Config holds the workspace's identity rules. The zero value is not useful:
// start from DefaultConfig.
type Config struct {
	// Limits caps how many identifiers of a type one profile holds. Types not
	// listed use ExternalLimit.
	Limits        map[string]int `json:"limits"`
	ExternalLimit int            `json:"external_limit"`
	// Priority orders identifier types, strongest first: the strongest known
	// identifier of a message picks its profile.
	Priority []string `json:"priority"`
	// Blocked lists placeholder values (compared trimmed and lower-cased).
	Blocked []string `json:"blocked_values"`
	// IDTraits names traits that carry an external id (type = trait name).
	IDTraits []string `json:"id_traits"`
	// SetOnceTraits names traits settled by the earliest event that sets them.
	SetOnceTraits []string `json:"set_once_traits"`
	// DefaultRegion is the phone region used when a number has no country code.
	DefaultRegion string `json:"default_region"`
}

// DefaultConfig returns the rules a new workspace starts with.
func DefaultConfig() Config {
	return Config{
		Limits: map[string]int{
			model.IDUserID:      1,
			model.IDEmail:       3,
			model.IDPhone:       3,
			model.IDAnonymousID: 1000,
		},
		ExternalLimit: 1,
		Priority:      []string{model.IDUserID, model.IDEmail, model.IDPhone, "*", model.IDAnonymousID},
		Blocked: []string{"", "undefined", "null", "none", "nil", "nan", "0", "-1", "[object object]", "anonymous",
			"unknown", "n/a", "na", "test", "guest", "{}", "[]", "false", "true"},
		DefaultRegion: "FR",
	}
}

// ParseConfig reads a JSON object of rules over the defaults: keys absent from
// raw keep their default. Unknown keys are an error, so typos do not pass.
func ParseConfig(raw []byte) (Config, error) {
	c := DefaultConfig()
	if len(raw) == 0 {
		return c, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("identity settings: %s", jsonProblem(err))
	}
	if dec.More() {
		return c, fmt.Errorf("identity settings: one JSON object expected, more follows")
	}
	return c, c.Validate()
}

// jsonProblem says what is wrong with a settings document without Go's
// type names.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("not valid JSON (at byte %d)", se.Offset)
	case errors.As(err, &te):
		want := map[string]string{"int": "a whole number", "string": "a string", "bool": "true or false"}[te.Type.Kind().String()]
		if want == "" {
			want = "a " + strings.TrimPrefix(te.Type.Kind().String(), "")
			switch te.Type.Kind().String() {
			case "slice":
				want = "a list"
			case "map", "struct":
				want = "an object"
			}
		}
		if te.Field == "" {
			return "the settings must be a JSON object"
		}
		return fmt.Sprintf("%q must be %s, not a JSON %s", te.Field, want, te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown key " + strings.TrimPrefix(err.Error(), "json: unknown field ") +
			" (keys: limits, external_limit, priority, blocked_values, id_traits, set_once_traits, default_region)"
	}
	return "unreadable settings"
}

// Validate checks the rules make sense.
func (c Config) Validate() error {
	for t, n := range c.Limits {
		if !validType(t) {
			return fmt.Errorf("identity settings: limits: %q is not an identifier type (lower-case letters, digits and _)", t)
		}
		if n < 1 || n > 1000000 {
			return fmt.Errorf("identity settings: limit for %q must be from 1 to 1000000, got %d", t, n)
		}
	}
	if c.ExternalLimit < 1 || c.ExternalLimit > 1000000 {
		return fmt.Errorf("identity settings: external_limit must be from 1 to 1000000")
	}
	seen := map[string]bool{}
	for _, t := range c.Priority {
		if t != "*" && !validType(t) {
			return fmt.Errorf("identity settings: priority: %q is not an identifier type", t)
		}
		if seen[t] {
			return fmt.Errorf("identity settings: priority lists %q twice", t)
		}
		seen[t] = true
	}
	for _, t := range []string{model.IDUserID, model.IDEmail, model.IDPhone, model.IDAnonymousID, "*"} {
		if !seen[t] {
			return fmt.Errorf("identity settings: priority must list user_id, email, phone, anonymous_id and \"*\" (external ids); %q is missing", t)
		}
	}
	for _, t := range c.IDTraits {
		if strings.TrimSpace(t) == "" || len(t) > 64 {
			return fmt.Errorf("identity settings: id_traits: trait names must be 1 to 64 characters")
		}
	}
	if len(c.Blocked) > 10000 {
		return fmt.Errorf("identity settings: blocked_values: at most 10000 values")
	}
	if c.DefaultRegion != "" && phonenumbers.GetCountryCodeForRegion(c.DefaultRegion) == 0 {
		return fmt.Errorf("identity settings: default_region %q is not a country code (ISO 3166-1 alpha-2, upper case, e.g. FR)", c.DefaultRegion)
	}
	return nil
}

// validType reports whether s is an identifier type name as ingestion names them.
func validType(s string) bool {
	switch s {
	case model.IDUserID, model.IDEmail, model.IDPhone, model.IDAnonymousID:
		return true
	}
	return s != "" && ExternalType(s) == s
}

func (c Config) limit(idType string) int {
	if n, ok := c.Limits[idType]; ok {
		return n
	}
	return c.ExternalLimit
}

// rank returns the priority of a type (lower is stronger); external types take
// the "*" slot.
func (c Config) rank(idType string) int {
	star := len(c.Priority)
	for i, t := range c.Priority {
		if t == idType {
			return i
		}
		if t == "*" {
			star = i
		}
	}
	switch idType {
	case model.IDUserID, model.IDEmail, model.IDPhone, model.IDAnonymousID:
		return len(c.Priority) + 1
	}
	return star
}

// blocked reports whether v is a placeholder.
func (c Config) blocked(v string) bool {
	t := strings.ToLower(strings.TrimSpace(v))
	for _, b := range c.Blocked {
		if t == b {
			return true
		}
	}
	return false
}

// sortByPriority orders identifiers strongest first, stably.
func (c Config) SortByPriority(ids []model.Identifier) {
	sort.SliceStable(ids, func(i, j int) bool { return c.rank(ids[i].Type) < c.rank(ids[j].Type) })
}
