// Package dedupe runs probabilistic matching (package identity/match) over a
// workspace's live profiles and acts on it: sure pairs are merged through the
// ingest writer's audited merge with their explanation as evidence, doubtful
// pairs wait in a review queue for a person, and golden records (survivorship)
// say which value of a merged cluster wins each field and where it came from.
//
// Invariants:
//   - Every merge goes through the writer (one goroutine owns profile state);
//     the merge record's evidence holds the pair's match.Explanation under
//     "match" and its rule is "probabilistic", so an unmerge restores it like
//     any other merge.
//   - A pair a reviewer rejected is never proposed again, and a pair whose
//     merge a person undid is never merged again automatically: both are read
//     back from the store (dedupe_reviews, merges.undone_at) at every run and
//     compared through merges, so they hold for the profiles' survivors too.
//   - A dry run writes nothing.
//   - Accept and Reject of one review are serialised: a review is decided
//     once; a second decision is store.ErrConflict.
package dedupe

import (
	"context"
	"encoding/json"
	"math"
	"sync"
	"time"

	"github.com/atrium-cdp/atrium/internal/identity/match"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
)

// Store is what deduplication reads and writes directly (reviews, settings).
type Store interface {
	MatchProfiles(ctx context.Context) ([]store.MatchProfile, error)
	MergeLinks(ctx context.Context) (map[string]string, error)
	RejectedPairs(ctx context.Context) ([]store.ProfilePair, error)
	UndonePairs(ctx context.Context) ([]store.ProfilePair, error)
	ProposeReview(ctx context.Context, r store.DedupeReview) (string, bool, error)
	Review(ctx context.Context, id string) (store.DedupeReview, error)
	Reviews(ctx context.Context, status string, limit int) ([]store.DedupeReview, error)
	DecideReview(ctx context.Context, id, status, actor, mergeID string, at time.Time) error
	Survivor(ctx context.Context, id string) (string, error)
	Lineage(ctx context.Context, profileID string) ([]store.LineageRow, error)
	Setting(ctx context.Context, key string) (string, error)
	PutSetting(ctx context.Context, key, value string, at time.Time) error
	Sources(ctx context.Context) ([]store.Source, error)
	CreatedAt(ctx context.Context, ids []string) (map[string]time.Time, error)
}

// Merger makes audited merges (the ingest writer).
type Merger interface {
	MergeNoted(ctx context.Context, a, b, actor string, note ingest.MergeNote) (model.Merge, error)
}

// Rule is the merge rule recorded for merges deduplication makes.
const Rule = "probabilistic"

// Service deduplicates one workspace. Safe for concurrent use: runs and
// review decisions are serialised.
type Service struct {
	st    Store
	mg    Merger
	cfg   match.Config
	now   func() time.Time
	newID func() string
	mu    sync.Mutex
}

// New returns the service with the default matching configuration.
func New(st Store, mg Merger, newID func() string, now func() time.Time) *Service {
	return &Service{st: st, mg: mg, cfg: match.DefaultConfig(), now: now, newID: newID}
}

// WithConfig returns a copy of the service that runs cfg (tests, evaluation).
func (s *Service) WithConfig(cfg match.Config) *Service {
	return &Service{st: s.st, mg: s.mg, cfg: cfg, now: s.now, newID: s.newID}
}

// Config is the matching configuration the service runs.
func (s *Service) Config() match.Config { return s.cfg }

// explanationJSON is the stored form of a pair's explanation.
func explanationJSON(e match.Explanation) json.RawMessage {
	b, err := json.Marshal(e)
	if err != nil {
		// An Explanation is numbers and names; a NaN weight is the only
		// way to fail, and then the evidence says so rather than vanish.
		return json.RawMessage(`{"error":"explanation not representable"}`)
	}
	return b
}

func logit2(p float64) float64 { return math.Log2(p / (1 - p)) }
