package activate

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
)

// Plugin is one kind of destination. Plugins are listed in plugins below and
// nowhere else; a destination row names its plugin by Kind and keeps the
// plugin's settings as JSON that Configure validated.
type Plugin interface {
	Kind() string
	// Configure validates raw settings and returns a ready Target and the
	// normalised settings to store. prev holds the stored settings when an
	// existing destination is updated (nil on create), so that a plugin can
	// keep a secret the update leaves out.
	Configure(raw, prev []byte) (Target, []byte, error)
}

// Target is one configured destination.
type Target interface {
	// Routing is what the dispatcher needs: which changes, which consent,
	// how long to retry.
	Routing() Routing
	// Deliver makes exactly one attempt; retrying is the dispatcher's job.
	Deliver(ctx context.Context, a Attempt) Outcome
	// Redacted returns the settings without secrets, for display.
	Redacted() any
	// Close releases the target's connections.
	Close()
}

// Attempt is what one delivery attempt sends.
type Attempt struct {
	DeliveryID string
	Key        string
	Body       []byte
	At         time.Time
}

// Outcome classifies an attempt: OK (delivered), Retry (transient: network,
// timeout, 408, 429, 5xx) or neither (permanent: dead at once).
type Outcome struct {
	OK         bool
	Retry      bool
	Status     int           // HTTP status, 0 when none came back
	RetryAfter time.Duration // the receiver's Retry-After, 0 when absent
	Err        string        // why it failed, safe to store and show
}

// plugins is the one list of destination kinds.
var plugins = []Plugin{webhookPlugin{}}

// Kinds lists the destination kinds this build knows.
func Kinds() []string {
	out := make([]string, len(plugins))
	for i, p := range plugins {
		out[i] = p.Kind()
	}
	return out
}

func pluginFor(kind string) (Plugin, error) {
	for _, p := range plugins {
		if p.Kind() == kind {
			return p, nil
		}
	}
	return nil, &SettingsError{Field: "kind", Msg: fmt.Sprintf("unknown destination kind %q (known: %s)", kind, strings.Join(Kinds(), ", "))}
}

// SettingsError is a rejected setting; Field names it as the JSON says it.
type SettingsError struct {
	Field string
	Msg   string
}

func (e *SettingsError) Error() string { return e.Field + ": " + e.Msg }

// Purposes a destination may activate for; "none" sends without a consent check.
var Purposes = []string{"email_marketing", "sms", "advertising", "none"}

// Routing holds the settings every destination kind shares.
type Routing struct {
	// Segments are segment ids (names are resolved to ids when saved).
	Segments []string `json:"segments"`
	// Events are "enter" and/or "exit".
	Events []string `json:"events"`
	// Purpose is the consent purpose members need ("none" for no check).
	Purpose string `json:"purpose"`
	// Traits are the profile traits copied into each payload.
	Traits []string `json:"traits,omitempty"`
	// FullSyncEvery enqueues every current member on this schedule (0: never).
	FullSyncEvery Duration `json:"full_sync_every,omitempty"`
	MaxAttempts   int      `json:"max_attempts,omitempty"`
	MaxAge        Duration `json:"max_age,omitempty"`
	MaxInFlight   int      `json:"max_in_flight,omitempty"`
	// BackoffBase and BackoffCap override the dispatcher's retry delays.
	BackoffBase Duration `json:"backoff_base,omitempty"`
	BackoffCap  Duration `json:"backoff_cap,omitempty"`
}

// Limits of the shared settings.
const (
	DefaultMaxAttempts = 25
	DefaultMaxAge      = 72 * time.Hour
	DefaultMaxInFlight = 4
	maxSettingsBytes   = 16 << 10
	maxSegments        = 100
	maxTraits          = 50
)

// normalize fills defaults and checks bounds, naming the field at fault.
func (r *Routing) normalize() error {
	if len(r.Segments) == 0 {
		return &SettingsError{"segments", "name at least one segment (id or name)"}
	}
	if len(r.Segments) > maxSegments {
		return &SettingsError{"segments", fmt.Sprintf("at most %d segments per destination", maxSegments)}
	}
	seen := map[string]bool{}
	for i, s := range r.Segments {
		s = strings.TrimSpace(s)
		if s == "" || len(s) > 200 {
			return &SettingsError{fmt.Sprintf("segments[%d]", i), "a segment id or name of 1 to 200 characters"}
		}
		r.Segments[i] = s
		seen[s] = true
	}
	if len(r.Events) == 0 {
		r.Events = []string{"enter", "exit"}
	}
	ev := map[string]bool{}
	for i, e := range r.Events {
		if e != "enter" && e != "exit" {
			return &SettingsError{fmt.Sprintf("events[%d]", i), fmt.Sprintf("%q is not an event (want enter or exit)", e)}
		}
		ev[e] = true
	}
	r.Events = r.Events[:0]
	for _, e := range []string{"enter", "exit"} {
		if ev[e] {
			r.Events = append(r.Events, e)
		}
	}
	if !contains(Purposes, r.Purpose) {
		return &SettingsError{"purpose", fmt.Sprintf("%q: want one of %s (none sends without a consent check, and must be chosen explicitly)", r.Purpose, strings.Join(Purposes, ", "))}
	}
	if len(r.Traits) > maxTraits {
		return &SettingsError{"traits", fmt.Sprintf("at most %d traits", maxTraits)}
	}
	for i, t := range r.Traits {
		if t == "" || len(t) > 128 {
			return &SettingsError{fmt.Sprintf("traits[%d]", i), "a trait name of 1 to 128 characters"}
		}
	}
	if err := bound("full_sync_every", &r.FullSyncEvery, 0, time.Minute, 30*24*time.Hour); err != nil {
		return err
	}
	if r.MaxAttempts == 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.MaxAttempts < 1 || r.MaxAttempts > 100 {
		return &SettingsError{"max_attempts", fmt.Sprintf("%d is out of range (1 to 100)", r.MaxAttempts)}
	}
	if err := bound("max_age", &r.MaxAge, DefaultMaxAge, time.Minute, 30*24*time.Hour); err != nil {
		return err
	}
	if r.MaxInFlight == 0 {
		r.MaxInFlight = DefaultMaxInFlight
	}
	if r.MaxInFlight < 1 || r.MaxInFlight > 32 {
		return &SettingsError{"max_in_flight", fmt.Sprintf("%d is out of range (1 to 32)", r.MaxInFlight)}
	}
	if err := bound("backoff_base", &r.BackoffBase, 0, 10*time.Millisecond, time.Hour); err != nil {
		return err
	}
	if err := bound("backoff_cap", &r.BackoffCap, 0, 10*time.Millisecond, 24*time.Hour); err != nil {
		return err
	}
	if r.BackoffBase > 0 && r.BackoffCap > 0 && r.BackoffCap < r.BackoffBase {
		return &SettingsError{"backoff_cap", "must not be below backoff_base"}
	}
	return nil
}

// bound applies a default to a zero duration and checks it lies in [lo, hi];
// a zero default means zero is allowed and means "not set".
func bound(field string, d *Duration, def, lo, hi time.Duration) error {
	if *d == 0 {
		*d = Duration(def)
		return nil
	}
	if time.Duration(*d) < lo || time.Duration(*d) > hi {
		return &SettingsError{field, fmt.Sprintf("%s is out of range (%s to %s)", time.Duration(*d), lo, hi)}
	}
	return nil
}

func (r Routing) wants(event string) bool { return contains(r.Events, event) }

func (r Routing) hasSegment(id string) bool { return contains(r.Segments, id) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Duration is a time.Duration written in JSON as a Go duration string ("10s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string such as "10s" or "1h30m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`want a duration string such as "10s" or "1h"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (want e.g. \"10s\" or \"1h\")", s)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative", s)
	}
	*d = Duration(v)
	return nil
}

// durationFields are the settings written as durations, checked one by one
// first: encoding/json does not say which field a custom decoder refused.
var durationFields = []string{"timeout", "full_sync_every", "max_age", "backoff_base", "backoff_cap"}

// decodeStrict decodes one JSON object into v: unknown fields, wrong types,
// trailing data and oversized documents are errors naming the field.
func decodeStrict(raw []byte, v any) error {
	if len(raw) > maxSettingsBytes {
		return &SettingsError{"settings", fmt.Sprintf("%d bytes is over the %d-byte limit", len(raw), maxSettingsBytes)}
	}
	if !utf8.Valid(raw) {
		// encoding/json would silently turn the bad bytes into U+FFFD.
		return &SettingsError{"settings", "not valid UTF-8"}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err == nil {
		for _, f := range durationFields {
			if b, ok := top[f]; ok {
				var d Duration
				if err := d.UnmarshalJSON(b); err != nil {
					return &SettingsError{f, err.Error()}
				}
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonSettingsError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &SettingsError{"settings", "trailing data after the JSON object"}
	}
	return nil
}

func jsonSettingsError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &SettingsError{"settings", fmt.Sprintf("invalid JSON at byte %d", se.Offset)}
	case errors.As(err, &te):
		// Fields of the embedded Routing come back as "Routing.name".
		f := strings.TrimPrefix(te.Field, "Routing.")
		if f == "" {
			f = "settings"
		}
		return &SettingsError{f, fmt.Sprintf("wrong type: got a JSON %s, want %s", te.Value, jsonKind(te.Type.String()))}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &SettingsError{name, "unknown setting"}
	case errors.Is(err, io.EOF):
		return &SettingsError{"settings", "empty; want a JSON object"}
	}
	// Errors from a field's own UnmarshalJSON (durations) carry no field
	// name in encoding/json; say which kind of value was wrong.
	return &SettingsError{"settings", err.Error()}
}

func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "int"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "true or false"
	}
	return goType
}
