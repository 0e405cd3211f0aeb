package segments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/atrium-cdp/atrium/internal/segments/rule"
	"github.com/atrium-cdp/atrium/internal/store"
)

// Preview limits.
const (
	DefaultSample = 10
	MaxSample     = 100
	MaxPage       = 1000
	MaxSizes      = 1000
)

// Preview is the size and a sample of a rule evaluated now, before saving.
type Preview struct {
	Count      int64           `json:"count"`
	Sample     []SampleProfile `json:"sample"`
	DurationMS int64           `json:"duration_ms"`
}

// SampleProfile is one profile of a preview with a few of its traits.
type SampleProfile struct {
	ID     string         `json:"id"`
	Traits map[string]any `json:"traits"`
}

// sampleTraits are the traits a preview shows, when present.
var sampleTraits = []string{"email", "first_name", "last_name", "name", "phone", "city", "country"}

// Preview evaluates a rule (text or JSON in in; name and description are
// ignored) without storing anything: its count and up to sample profiles.
func (s *Service) Preview(ctx context.Context, in Input, sample int) (Preview, error) {
	if sample < 0 || sample > MaxSample {
		return Preview{}, inputErr("sample", "the sample size must be between 0 and %d", MaxSample)
	}
	loc, _, err := s.location(in.TimeZone)
	if err != nil {
		return Preview{}, err
	}
	expr, _, err := parseRule(in)
	if err != nil {
		return Preview{}, err
	}
	defs, err := s.load(ctx)
	if err != nil {
		return Preview{}, err
	}
	ids := s.idsByName(defs)
	for _, r := range rule.Refs(expr) {
		if ids[r] == "" {
			return Preview{}, inputErr("rule", "the rule refers to segment %q, which does not exist", truncate(r, 100))
		}
	}
	start := time.Now()
	q, err := rule.Compile(expr, rule.Env{Now: s.opt.Now(), Location: loc, SegmentID: resolver(ids)})
	if err != nil {
		return Preview{}, inputErr("rule", "%v", err)
	}
	p := Preview{Sample: []SampleProfile{}}
	if p.Count, err = s.st.CountQuery(ctx, q.SQL, q.Args); err != nil {
		return Preview{}, err
	}
	if sample > 0 && p.Count > 0 {
		recs, err := s.st.SampleQuery(ctx, q.SQL, q.Args, sample)
		if err != nil {
			return Preview{}, err
		}
		for _, r := range recs {
			p.Sample = append(p.Sample, SampleProfile{ID: r.ProfileID, Traits: pickTraits(r.Traits)})
		}
	}
	p.DurationMS = time.Since(start).Milliseconds()
	return p, nil
}

func pickTraits(raw json.RawMessage) map[string]any {
	var all map[string]any
	out := map[string]any{}
	if json.Unmarshal(raw, &all) != nil {
		return out
	}
	for _, k := range sampleTraits {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out
}

// Overlap compares the current members of two segments.
type Overlap struct {
	A       string  `json:"a"`
	B       string  `json:"b"`
	SizeA   int64   `json:"size_a"`
	SizeB   int64   `json:"size_b"`
	Both    int64   `json:"both"`
	Jaccard float64 `json:"jaccard"` // |A∩B| / |A∪B|, 0 when both are empty
}

// Overlap counts the members of a, of b and of both.
func (s *Service) Overlap(ctx context.Context, a, b string) (Overlap, error) {
	ra, err := s.find(ctx, a)
	if err != nil {
		return Overlap{}, err
	}
	rb, err := s.find(ctx, b)
	if err != nil {
		return Overlap{}, err
	}
	o := Overlap{A: ra.Name, B: rb.Name}
	if o.SizeA, o.SizeB, o.Both, err = s.st.SegmentOverlap(ctx, ra.ID, rb.ID); err != nil {
		return Overlap{}, err
	}
	if union := o.SizeA + o.SizeB - o.Both; union > 0 {
		o.Jaccard = float64(o.Both) / float64(union)
	}
	return o, nil
}

// Sizes returns the newest limit points of a segment's size history (one
// per full computation), newest first.
func (s *Service) Sizes(ctx context.Context, idOrName string, limit int) ([]store.SegmentSize, error) {
	if limit <= 0 || limit > MaxSizes {
		return nil, inputErr("limit", "the limit must be between 1 and %d", MaxSizes)
	}
	r, err := s.find(ctx, idOrName)
	if err != nil {
		return nil, err
	}
	return s.st.SegmentSizes(ctx, r.ID, limit)
}

// Members pages through current members by profile id: after is the last
// id of the previous page ("" first).
func (s *Service) Members(ctx context.Context, idOrName, after string, limit int) ([]store.SegmentMember, error) {
	if limit <= 0 || limit > MaxPage {
		return nil, inputErr("limit", "the limit must be between 1 and %d", MaxPage)
	}
	if len(after) > 256 {
		return nil, inputErr("after", "not a profile id (longer than 256 bytes)")
	}
	r, err := s.find(ctx, idOrName)
	if err != nil {
		return nil, err
	}
	return s.st.SegmentMembers(ctx, r.ID, after, limit)
}

// Member returns a profile's current membership (store.ErrNotFound when it
// is not a member).
func (s *Service) Member(ctx context.Context, idOrName, profileID string) (store.SegmentMember, error) {
	if profileID == "" || len(profileID) > 256 {
		return store.SegmentMember{}, inputErr("profile_id", "not a profile id")
	}
	r, err := s.find(ctx, idOrName)
	if err != nil {
		return store.SegmentMember{}, err
	}
	m, err := s.st.SegmentMember(ctx, r.ID, profileID)
	if errors.Is(err, store.ErrNotFound) {
		return m, fmt.Errorf("membership of profile %q in segment %q: %w", truncate(profileID, 64), r.Name, store.ErrNotFound)
	}
	return m, err
}
