package computed

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
)

// MaxIncremental is the most profiles an incremental refresh recomputes as
// a list; beyond it, RefreshProfiles runs a batch refresh.
const MaxIncremental = 50000

// Stored is a definition as the store keeps it.
type Stored struct {
	Definition  Definition `json:"definition"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	RefreshedAt *time.Time `json:"refreshed_at,omitempty"`
	// Profiles is how many profiles got a value at the last batch refresh.
	Profiles int64 `json:"profiles"`
}

// Store is what the engine needs from the storage engine.
type Store interface {
	// ComputedTraits lists the definitions by name.
	ComputedTraits(ctx context.Context) ([]Stored, error)
	// ComputedTrait returns one definition or store.ErrNotFound.
	ComputedTrait(ctx context.Context, name string) (Stored, error)
	// SaveComputedTraits upserts definitions and replaces their values with
	// qs's (every live profile) in one transaction; store.ErrConflict when a
	// name is used by another score.
	SaveComputedTraits(ctx context.Context, defs []Definition, qs []Query, asOf, now time.Time) (map[string]int64, error)
	// DeleteComputedTrait removes a definition and its values, or returns
	// store.ErrNotFound.
	DeleteComputedTrait(ctx context.Context, name string) error
	// RefreshComputedTraits replaces the values of qs's traits in one
	// transaction: of every profile when touched is nil (batch), else of
	// the touched profiles and the live roots of their merge chains.
	RefreshComputedTraits(ctx context.Context, qs []Query, touched []string, asOf, now time.Time) (map[string]int64, error)
}

// Service manages definitions and refreshes their values. Safe for
// concurrent use: writes are serialised, since two refreshes replacing the
// same trait's rows at once would conflict in the store.
type Service struct {
	st  Store
	now func() time.Time
	mu  sync.Mutex
	// OnRefreshed, when set, is told after RunIncremental's refreshes which
	// profiles' values were rewritten (nil: every profile, after a batch),
	// so that what reads the values (segments on score.NAME) follows.
	OnRefreshed func(ids []string)
}

// NewService returns the engine over st; now is the clock (computed_at and
// the default as-of instant).
func NewService(st Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, now: now}
}

// List returns every definition, by name.
func (s *Service) List(ctx context.Context) ([]Stored, error) { return s.st.ComputedTraits(ctx) }

// Get returns one definition or store.ErrNotFound.
func (s *Service) Get(ctx context.Context, name string) (Stored, error) {
	return s.st.ComputedTrait(ctx, name)
}

// Save validates defs (already validated ones pass again unchanged), stores
// them and computes their values for every live profile as of now, all in
// one transaction: a definition that cannot be computed is not kept. It
// returns how many profiles got a value, by name.
func (s *Service) Save(ctx context.Context, defs []Definition) (map[string]int64, error) {
	qs := make([]Query, len(defs))
	for i := range defs {
		if err := defs[i].Validate(i + 1); err != nil {
			return nil, err
		}
		q, err := Compile(defs[i], false)
		if err != nil {
			return nil, err
		}
		qs[i] = q
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	return s.st.SaveComputedTraits(ctx, defs, qs, now, now)
}

// Delete removes a definition and its values.
func (s *Service) Delete(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.DeleteComputedTrait(ctx, name)
}

// Report is what a refresh did.
type Report struct {
	AsOf     time.Time        `json:"as_of"`
	Profiles map[string]int64 `json:"profiles"` // profiles with a value, by trait
	Touched  int              `json:"touched,omitempty"`
	Seconds  float64          `json:"seconds"`
}

// Refresh recomputes every definition (only the named ones when only is
// not empty) for every live profile as of asOf (zero: now).
func (s *Service) Refresh(ctx context.Context, only []string, asOf time.Time) (Report, error) {
	return s.refresh(ctx, only, nil, asOf)
}

// RefreshProfiles recomputes every definition for the given profiles (live
// or merged away; their merge clusters are recomputed as a whole) as of asOf
// (zero: now). Rolling windows move with time, not with data: the scheduled
// batch refresh keeps them current; this keeps up with new data.
func (s *Service) RefreshProfiles(ctx context.Context, touched []string, asOf time.Time) (Report, error) {
	if len(touched) == 0 {
		return Report{AsOf: asOf, Profiles: map[string]int64{}}, nil
	}
	if len(touched) > MaxIncremental {
		// A bulk import touches most profiles: one pass over all of them
		// is cheaper than a list this long, and gives the same values.
		rep, err := s.refresh(ctx, nil, nil, asOf)
		rep.Touched = len(touched)
		return rep, err
	}
	return s.refresh(ctx, nil, touched, asOf)
}

func (s *Service) refresh(ctx context.Context, only, touched []string, asOf time.Time) (Report, error) {
	start := time.Now()
	defs, err := s.st.ComputedTraits(ctx)
	if err != nil {
		return Report{}, err
	}
	want := map[string]bool{} // named in only and not found yet
	for _, n := range only {
		want[n] = true
	}
	var qs []Query
	for _, st := range defs {
		if len(only) > 0 && !want[st.Definition.Name] {
			continue
		}
		delete(want, st.Definition.Name)
		if err := st.Definition.Validate(0); err != nil {
			return Report{}, fmt.Errorf("stored definition: %w", err)
		}
		q, err := Compile(st.Definition, touched != nil)
		if err != nil {
			return Report{}, fmt.Errorf("compile %s: %w", st.Definition.Name, err)
		}
		qs = append(qs, q)
	}
	if len(want) > 0 {
		var missing []string
		for n := range want {
			missing = append(missing, n)
		}
		sort.Strings(missing)
		return Report{}, fmt.Errorf("computed trait %q: %w", missing[0], store.ErrNotFound)
	}
	rep := Report{Profiles: map[string]int64{}, Touched: len(touched)}
	if len(qs) == 0 {
		rep.AsOf = asOf
		return rep, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	if asOf.IsZero() {
		asOf = now
	}
	rep.AsOf = asOf.UTC()
	n, err := s.st.RefreshComputedTraits(ctx, qs, touched, asOf, now)
	if err != nil {
		return Report{}, err
	}
	rep.Profiles = n
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// MarshalDefinition is the stored form of a definition.
func MarshalDefinition(d Definition) []byte {
	b, _ := json.Marshal(d)
	return b
}

// UnmarshalDefinition reads a stored definition.
func UnmarshalDefinition(b []byte) (Definition, error) {
	var d Definition
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("stored definition: %w", err)
	}
	return d, nil
}

// Counts returns how many profiles got a value, by trait.
func (r Report) Counts() map[string]int64 { return r.Profiles }
