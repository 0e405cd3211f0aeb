// Package segments keeps dynamic segments current: it stores definitions
// written in the segment language (package segments/rule), computes their
// members, keeps the membership history (a row per stay, with entered_at and
// exited_at) and a change feed of every enter and exit, previews rules and
// exports members (plain files and ad-audience files).
//
// Invariants:
//   - A segment's memberships change only in Store.ApplySegment, one
//     transaction that also appends the matching change-feed rows: the
//     history, the feed and the segment's size never disagree, even if the
//     process dies mid-way.
//   - Changes to memberships are serialised (one at a time per workspace),
//     in dependency order: a segment is computed after the segments it
//     refers to. A full computation reads its rule's result before it takes
//     its turn, so real-time evaluations do not wait for that read; profiles
//     queued for real time meanwhile are left as they are by it and
//     evaluated again in real time.
//   - References form no cycle and name existing segments; a segment that
//     others refer to cannot be deleted.
//   - Only live profiles are members: a merged-away profile leaves every
//     segment at the next evaluation that sees it (at once for real-time
//     evaluations, which receive the merged ids).
package segments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/atrium-cdp/atrium/internal/segments/rule"
	"github.com/atrium-cdp/atrium/internal/store"
)

// Store is what the service needs from the storage engine.
type Store interface {
	CreateSegment(ctx context.Context, s store.SegmentRow) error
	UpdateSegment(ctx context.Context, s store.SegmentRow) error
	DeleteSegment(ctx context.Context, id string, at time.Time) (int64, error)
	Segments(ctx context.Context) ([]store.SegmentRow, error)
	SegmentByID(ctx context.Context, id string) (store.SegmentRow, error)
	SegmentByName(ctx context.Context, name string) (store.SegmentRow, error)
	ApplySegment(ctx context.Context, e store.SegmentEval) (store.SegmentApplied, error)
	SegmentFailed(ctx context.Context, id, msg string, retries int, next time.Time) error
	SegmentChanges(ctx context.Context, after int64, limit int) ([]store.SegmentChange, error)
	SegmentSizes(ctx context.Context, id string, limit int) ([]store.SegmentSize, error)
	SegmentMembers(ctx context.Context, id, after string, limit int) ([]store.SegmentMember, error)
	SegmentMember(ctx context.Context, id, profileID string) (store.SegmentMember, error)
	SegmentOverlap(ctx context.Context, a, b string) (na, nb, both int64, err error)
	CountQuery(ctx context.Context, q string, args []any) (int64, error)
	RuleIDs(ctx context.Context, q string, args []any) ([]string, error)
	SampleQuery(ctx context.Context, q string, args []any, n int) ([]store.MemberRecord, error)
	EachMember(ctx context.Context, id string, scores []string, purpose string, fn func(store.MemberRecord) error) error
	DestinationsUsingSegment(ctx context.Context, segmentID string) ([]string, error)
}

// Change is one enter or exit, as handed to a Listener.
type Change struct {
	Seq       int64     `json:"seq"` // position in the durable change feed
	SegmentID string    `json:"segment_id"`
	ProfileID string    `json:"profile_id"`
	Kind      string    `json:"kind"` // "enter" or "exit"
	At        time.Time `json:"at"`
}

// Listener receives enters and exits after the transaction that wrote them
// committed, in feed order. Delivery to a Listener is best effort (an error
// is logged, not retried): the durable record is the change feed
// (Service.Changes by seq), which a consumer that must lose nothing reads
// from its own cursor.
type Listener interface {
	SegmentChanged(ctx context.Context, changes []Change) error
}

// Options tune the service. Zero values take defaults.
type Options struct {
	Now      func() time.Time // clock (default time.Now); the rules' "now"
	Location *time.Location   // default time zone of new segments (default UTC)
	// Interval is how often the scheduler recomputes time-window segments
	// and retries failed ones (default 30 s).
	Interval time.Duration
	Listener Listener
	Logger   *slog.Logger
}

// Service manages segments. Safe for concurrent use.
type Service struct {
	st  Store
	opt Options
	log *slog.Logger

	// compute serialises every change of memberships (full or real-time),
	// so that two transactions never change the same memberships at once.
	compute sync.Mutex
	// refresh serialises full computations (Refresh); each reads its rule's
	// result holding refresh only, and takes compute to apply it.
	refresh sync.Mutex

	// pending holds profiles touched by ingest commits and not evaluated
	// yet; wake has room for one signal, so bursts coalesce.
	mu      sync.Mutex
	pending map[string]bool
	gone    map[string]bool
	wake    chan struct{}
	// watch, while a full computation reads its rule's result (nil
	// otherwise), records every profile queued meanwhile (true: merged
	// away): see Service.full.
	watch map[string]bool
	// asOf is, per segment, the instant of "now" its memberships are
	// current with: the clock's changes after it are the next clock
	// pass's (clock.go). Known only for segments computed by this Service.
	asOf map[string]time.Time
}

// New returns the service over st.
func New(st Store, opt Options) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	if opt.Interval <= 0 {
		opt.Interval = 30 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	return &Service{st: st, opt: opt, log: opt.Logger, pending: map[string]bool{}, gone: map[string]bool{},
		wake: make(chan struct{}, 1), asOf: map[string]time.Time{}}
}

// Limits on definitions.
const (
	MaxName        = 100
	MaxDescription = 2000
	MaxRuleBytes   = 64 << 10
)

// Input is a segment definition as a user gives it: the rule in the text
// syntax (Rule) or in its JSON form (RuleJSON), exactly one of them. On
// Update, what is not given is kept: an empty name, rule (neither form) or
// time zone, and a nil description (an empty one clears it).
type Input struct {
	Name        string          `json:"name"`
	Description *string         `json:"description,omitempty"`
	Rule        string          `json:"rule"`
	RuleJSON    json.RawMessage `json:"rule_json"`
	TimeZone    string          `json:"time_zone"`
}

// InputError is a definition refused for what it says; Syntax carries the
// parser's position when the rule did not parse.
type InputError struct {
	Field  string
	Msg    string
	Syntax *rule.SyntaxError
}

func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

func inputErr(field, format string, args ...any) error {
	return &InputError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Segment is a segment as the API and the CLI show it.
type Segment struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Description    string          `json:"description"`
	Rule           string          `json:"rule"`
	RuleJSON       json.RawMessage `json:"rule_json"`
	TimeZone       string          `json:"time_zone"`
	Refs           []string        `json:"refs"`
	TimeWindow     bool            `json:"time_window"` // recomputed by the scheduler as time passes
	Status         string          `json:"status"`
	Size           int64           `json:"size"`
	LastComputedAt *time.Time      `json:"last_computed_at"`
	LastError      string          `json:"last_error,omitempty"`
	Retries        int             `json:"retries"`
	NextRetryAt    *time.Time      `json:"next_retry_at,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

func view(r store.SegmentRow, d *def) Segment {
	s := Segment{ID: r.ID, Name: r.Name, Description: r.Description, Rule: r.Rule, RuleJSON: r.RuleJSON, TimeZone: r.TimeZone,
		Refs: []string{}, Status: r.Status, Size: r.Size, LastComputedAt: r.LastComputedAt, LastError: r.LastError,
		Retries: r.Retries, NextRetryAt: r.NextRetryAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if d != nil {
		s.Refs = append(s.Refs, d.refs...)
		s.TimeWindow = d.windowed
	}
	return s
}

// def is a stored segment with its parsed rule.
type def struct {
	row      store.SegmentRow
	expr     rule.Expr
	loc      *time.Location
	refs     []string
	windowed bool // the rule itself has a moving time window
	err      error
}

// parseRule reads a definition's rule from text or JSON.
func parseRule(in Input) (rule.Expr, string, error) {
	hasText, hasJSON := strings.TrimSpace(in.Rule) != "", len(in.RuleJSON) > 0 && string(in.RuleJSON) != "null"
	switch {
	case hasText && hasJSON:
		return nil, "", inputErr("rule", "give the rule as text (rule) or as JSON (rule_json), not both")
	case !hasText && !hasJSON:
		return nil, "", inputErr("rule", "a rule is required (rule as text, or rule_json)")
	case len(in.Rule) > MaxRuleBytes || len(in.RuleJSON) > MaxRuleBytes:
		return nil, "", inputErr("rule", "the rule is longer than %d bytes", MaxRuleBytes)
	}
	var e rule.Expr
	var err error
	if hasText {
		if !utf8.ValidString(in.Rule) {
			return nil, "", inputErr("rule", "the rule is not valid UTF-8")
		}
		e, err = rule.Parse(in.Rule)
	} else {
		e, err = rule.ParseJSON(in.RuleJSON)
	}
	if err != nil {
		var se *rule.SyntaxError
		if errors.As(err, &se) {
			return nil, "", &InputError{Field: "rule", Msg: se.Error(), Syntax: se}
		}
		field := "rule"
		if hasJSON {
			field = "rule_json"
		}
		return nil, "", &InputError{Field: field, Msg: err.Error()}
	}
	text := in.Rule
	if !hasText {
		text = rule.Format(e)
	}
	return e, text, nil
}

// reserved names would be shadowed by routes under /api/v1/segments/.
var reserved = map[string]bool{"preview": true, "refresh": true, "changes": true}

func checkName(name string) error {
	if name == "" || strings.TrimSpace(name) != name {
		return inputErr("name", "a name is required, without leading or trailing spaces")
	}
	if reserved[name] {
		return inputErr("name", "%q is reserved (an API route has that name)", name)
	}
	if _, err := uuid.Parse(name); err == nil {
		// Routes and commands take an id or a name: a name shaped like an
		// id could shadow another segment's id.
		return inputErr("name", "%q has the form of a segment id (a UUID): choose another name", name)
	}
	if strings.Trim(name, ".") == "" {
		return inputErr("name", "%q is not a usable name (dots only: it would read as a path in URLs)", name)
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxName {
		return inputErr("name", "a name is valid UTF-8 of at most %d characters", MaxName)
	}
	for _, r := range name {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' || r == '-' || r == '_' || r == '.' || r == '\'') {
			return inputErr("name", "%q is not allowed in a name (letters, digits, spaces, - _ . ' only)", r)
		}
	}
	return nil
}

func (s *Service) location(tz string) (*time.Location, string, error) {
	if tz == "" {
		return s.opt.Location, s.opt.Location.String(), nil
	}
	if len(tz) > 64 || strings.Contains(tz, "..") || strings.HasPrefix(tz, "/") || tz == "Local" {
		return nil, "", inputErr("time_zone", "%q is not an IANA time zone name", truncate(tz, 64))
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, "", inputErr("time_zone", "%q is not an IANA time zone name such as Europe/Paris", truncate(tz, 64))
	}
	return loc, tz, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// prepare validates a definition against the stored segments (self is the
// id being updated, "" on create) and returns the row to store.
func (s *Service) prepare(ctx context.Context, in Input, self string) (store.SegmentRow, error) {
	var row store.SegmentRow
	if err := checkName(in.Name); err != nil {
		return row, err
	}
	var desc string
	if in.Description != nil {
		desc = *in.Description
	}
	if len(desc) > MaxDescription || !utf8.ValidString(desc) {
		return row, inputErr("description", "a description is valid UTF-8 of at most %d bytes", MaxDescription)
	}
	loc, tz, err := s.location(in.TimeZone)
	if err != nil {
		return row, err
	}
	expr, text, err := parseRule(in)
	if err != nil {
		return row, err
	}
	defs, err := s.load(ctx)
	if err != nil {
		return row, err
	}
	byName := map[string]*def{}
	for _, d := range defs {
		if d.row.ID != self {
			byName[d.row.Name] = d
		}
	}
	for _, r := range rule.Refs(expr) {
		if r == in.Name {
			return row, inputErr("rule", "segment %q cannot refer to itself", r)
		}
		if byName[r] == nil {
			return row, inputErr("rule", "the rule refers to segment %q, which does not exist", truncate(r, 100))
		}
	}
	// A cycle can only pass through the segment being saved: look for a
	// path from its references back to its name.
	if path := cycleFrom(in.Name, rule.Refs(expr), byName); path != nil {
		return row, inputErr("rule", "segments would refer to each other in a cycle: %s", strings.Join(path, " → "))
	}
	ids := map[string]string{in.Name: self}
	for n, d := range byName {
		ids[n] = d.row.ID
	}
	if _, err := rule.Compile(expr, rule.Env{Now: s.opt.Now(), Location: loc, SegmentID: resolver(ids)}); err != nil {
		return row, inputErr("rule", "%v", err)
	}
	ruleJSON, err := rule.MarshalJSON(expr)
	if err != nil {
		return row, fmt.Errorf("encode rule: %w", err)
	}
	now := s.opt.Now().UTC()
	return store.SegmentRow{ID: self, Name: in.Name, Description: desc, Rule: text, RuleJSON: ruleJSON,
		TimeZone: tz, CreatedAt: now, UpdatedAt: now}, nil
}

// cycleFrom returns the path name → … → name when following refs through
// byName leads back to name.
func cycleFrom(name string, refs []string, byName map[string]*def) []string {
	seen := map[string]bool{}
	var path []string
	var visit func(n string) bool
	visit = func(n string) bool {
		if n == name {
			return true
		}
		if seen[n] {
			return false
		}
		seen[n] = true
		d := byName[n]
		if d == nil {
			return false
		}
		for _, r := range d.refs {
			path = append(path, r)
			if visit(r) {
				return true
			}
			path = path[:len(path)-1]
		}
		return false
	}
	for _, r := range refs {
		path = []string{name, r}
		if visit(r) {
			return path
		}
	}
	return nil
}

func resolver(ids map[string]string) func(string) (string, error) {
	return func(name string) (string, error) {
		if id, ok := ids[name]; ok && id != "" {
			return id, nil
		}
		return "", fmt.Errorf("segment %q: %w", name, store.ErrNotFound)
	}
}

// Create stores a new segment and computes it at once. The segment is
// stored even when that first computation fails: the error is on the
// segment (LastError) and the scheduler retries it.
func (s *Service) Create(ctx context.Context, in Input) (Segment, error) {
	row, err := s.prepare(ctx, in, "")
	if err != nil {
		return Segment{}, err
	}
	row.ID = uuid.NewString()
	if err := s.st.CreateSegment(ctx, row); err != nil {
		return Segment{}, err
	}
	if _, err := s.Refresh(ctx, RefreshOptions{IDs: []string{row.ID}}); err != nil {
		return Segment{}, err
	}
	return s.Get(ctx, row.ID)
}

// Update replaces a segment's definition and recomputes it and the segments
// that refer to it.
func (s *Service) Update(ctx context.Context, idOrName string, in Input) (Segment, error) {
	cur, err := s.find(ctx, idOrName)
	if err != nil {
		return Segment{}, err
	}
	if in.Name == "" {
		in.Name = cur.Name
	}
	if in.Description == nil {
		in.Description = &cur.Description
	}
	if strings.TrimSpace(in.Rule) == "" && (len(in.RuleJSON) == 0 || string(in.RuleJSON) == "null") {
		in.Rule, in.RuleJSON = "", cur.RuleJSON
		if len(cur.RuleJSON) == 0 {
			in.Rule = cur.Rule // a definition stored before its JSON form existed
		}
	}
	if in.TimeZone == "" {
		in.TimeZone = cur.TimeZone
	}
	if in.Name != cur.Name {
		defs, err := s.load(ctx)
		if err != nil {
			return Segment{}, err
		}
		for _, d := range defs {
			for _, r := range d.refs {
				if r == cur.Name {
					return Segment{}, fmt.Errorf("segment %q is referred to by %q and cannot be renamed: %w", cur.Name, d.row.Name, store.ErrConflict)
				}
			}
		}
	}
	row, err := s.prepare(ctx, in, cur.ID)
	if err != nil {
		return Segment{}, err
	}
	if err := s.st.UpdateSegment(ctx, row); err != nil {
		return Segment{}, err
	}
	if _, err := s.Refresh(ctx, RefreshOptions{IDs: []string{cur.ID}, Dependents: true}); err != nil {
		return Segment{}, err
	}
	return s.Get(ctx, cur.ID)
}

// Delete removes a segment with its membership rows and size history; its
// current members get an exit in the change feed. A segment other segments
// refer to is refused (store.ErrConflict). It returns how many were members.
func (s *Service) Delete(ctx context.Context, idOrName string) (int64, error) {
	cur, err := s.find(ctx, idOrName)
	if err != nil {
		return 0, err
	}
	defs, err := s.load(ctx)
	if err != nil {
		return 0, err
	}
	for _, d := range defs {
		for _, r := range d.refs {
			if r == cur.Name && d.row.ID != cur.ID {
				return 0, fmt.Errorf("segment %q is referred to by %q: %w", cur.Name, d.row.Name, store.ErrConflict)
			}
		}
	}
	users, err := s.st.DestinationsUsingSegment(ctx, cur.ID)
	if err != nil {
		return 0, err
	}
	if len(users) > 0 {
		return 0, fmt.Errorf("segment %q is used by the destination %q: delete the destination or take the segment out of its settings first: %w",
			cur.Name, users[0], store.ErrConflict)
	}
	s.compute.Lock()
	defer s.compute.Unlock()
	return s.st.DeleteSegment(ctx, cur.ID, s.opt.Now())
}

// List returns every segment by name.
func (s *Service) List(ctx context.Context) ([]Segment, error) {
	defs, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Segment, 0, len(defs))
	for _, d := range defs {
		out = append(out, view(d.row, d))
	}
	return out, nil
}

// Get returns one segment by id or name (store.ErrNotFound).
func (s *Service) Get(ctx context.Context, idOrName string) (Segment, error) {
	r, err := s.find(ctx, idOrName)
	if err != nil {
		return Segment{}, err
	}
	d := s.parse(r)
	return view(r, d), nil
}

// find reads a segment by id, then by name.
func (s *Service) find(ctx context.Context, idOrName string) (store.SegmentRow, error) {
	if idOrName == "" || len(idOrName) > 4*MaxName || !utf8.ValidString(idOrName) {
		return store.SegmentRow{}, fmt.Errorf("segment %q: %w", truncate(idOrName, 64), store.ErrNotFound)
	}
	r, err := s.st.SegmentByID(ctx, idOrName)
	if errors.Is(err, store.ErrNotFound) {
		r, err = s.st.SegmentByName(ctx, idOrName)
	}
	return r, err
}

// load reads and parses every stored segment.
func (s *Service) load(ctx context.Context) ([]*def, error) {
	rows, err := s.st.Segments(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*def, 0, len(rows))
	for _, r := range rows {
		out = append(out, s.parse(r))
	}
	return out, nil
}

// parse reads a stored rule (its JSON form, the one the service wrote).
func (s *Service) parse(r store.SegmentRow) *def {
	d := &def{row: r, loc: s.opt.Location}
	if r.TimeZone != "" {
		if loc, err := time.LoadLocation(r.TimeZone); err == nil {
			d.loc = loc
		}
	}
	d.expr, d.err = rule.ParseJSON(r.RuleJSON)
	if d.err != nil {
		// A definition stored before its JSON form existed: the text.
		if e, err := rule.Parse(r.Rule); err == nil {
			d.expr, d.err = e, nil
		}
	}
	if d.expr != nil {
		d.refs = rule.Refs(d.expr)
		d.windowed = rule.DependsOnNow(d.expr)
	}
	return d
}
