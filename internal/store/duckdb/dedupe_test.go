package duckdb_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// dedupeDB is a workspace with four profiles written by hand: p1 survives
// p2 (merged), p3 and p4 are live; p3 has a user id and a loyalty number.
func dedupeDB(t *testing.T) *duckdb.DB {
	t.Helper()
	return testDB(t,
		`INSERT INTO profiles (id, merged_into, traits, trait_meta, created_at, updated_at) VALUES
			('p1', NULL, '{"email":"a@example.com"}', '{"email":{"t":"2024-05-01T10:00:00Z"}}', TIMESTAMP '2024-05-01 10:00:00', now()),
			('p2', 'p1', '{"email":"b@example.com"}', '{"email":{"t":"2024-05-02T10:00:00Z"}}', TIMESTAMP '2024-05-02 10:00:00', now()),
			('p3', NULL, '{}', '{}', TIMESTAMP '2024-05-03 10:00:00', now()),
			('p4', NULL, '{}', '{}', TIMESTAMP '2024-05-04 10:00:00', now())`,
		`INSERT INTO identities (type, value, profile_id, display, source_id, first_seen_at) VALUES
			('user_id', 'u3', 'p3', 'u3', 'src-a', now()), ('loyalty', 'L-77', 'p3', 'L-77', 'src-a', now()),
			('user_id', 'u2', 'p1', 'u2', 'src-b', now())`,
		`INSERT INTO events (seq, profile_id, source_id, message_id, dedup_hash, type, timestamp, received_at, traits) VALUES
			(1, 'p1', 'src-old', 'm1', 1, 'identify', TIMESTAMP '2024-05-01 10:00:00', now(), '{"email":"a@example.com"}'),
			(2, 'p1', 'src-new', 'm2', 2, 'identify', TIMESTAMP '2024-05-05 10:00:00', now(), '{"x":1}'),
			(3, 'p1', 'src-track', 'm3', 3, 'track', TIMESTAMP '2024-05-06 10:00:00', now(), NULL)`,
		`INSERT INTO merges (id, survivor_id, merged_id, rule, actor, created_at, undone_at) VALUES
			('g1', 'p1', 'p2', 'admin', 'x', now(), NULL), ('g2', 'p3', 'p4', 'probabilistic', 'x', now(), now())`,
	)
}

func TestMatchProfilesAndPairs(t *testing.T) {
	t.Parallel()
	db := dedupeDB(t)
	ctx := context.Background()
	ps, err := db.MatchProfiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	if !slices.Equal(ids, []string{"p1", "p3", "p4"}) {
		t.Fatalf("live profiles %v, want p1 p3 p4 (p2 is merged)", ids)
	}
	if got := ps[1].Identities; len(got) != 2 || got["loyalty"][0] != "L-77" || got["user_id"][0] != "u3" {
		t.Errorf("p3 identities %v", got)
	}
	links, err := db.MergeLinks(ctx)
	if err != nil || len(links) != 1 || links["p2"] != "p1" {
		t.Errorf("links %v, %v", links, err)
	}
	undone, err := db.UndonePairs(ctx)
	if err != nil || len(undone) != 1 || undone[0] != (store.ProfilePair{A: "p3", B: "p4"}) {
		t.Errorf("undone %v, %v", undone, err)
	}
}

func TestReviewLifecycle(t *testing.T) {
	t.Parallel()
	db := dedupeDB(t)
	ctx := context.Background()
	at := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	r := store.DedupeReview{ID: "r1", ProfileA: "p3", ProfileB: "p4", Probability: 0.7, Weight: 1.2,
		Explanation: []byte(`{"weight":1.2}`), CreatedAt: at, UpdatedAt: at}
	if _, _, err := db.ProposeReview(ctx, store.DedupeReview{ID: "bad", ProfileA: "p4", ProfileB: "p3"}); err == nil {
		t.Error("a pair out of order was stored")
	}
	id, isNew, err := db.ProposeReview(ctx, r)
	if err != nil || id != "r1" || !isNew {
		t.Fatalf("propose: %s %v %v", id, isNew, err)
	}
	r.ID, r.Probability, r.UpdatedAt = "r2", 0.8, at.Add(time.Hour)
	id, isNew, err = db.ProposeReview(ctx, r)
	if err != nil || id != "r1" || isNew {
		t.Fatalf("re-propose: %s %v %v, want r1 refreshed", id, isNew, err)
	}
	got, err := db.Review(ctx, "r1")
	if err != nil || got.Probability != 0.8 || got.Status != store.ReviewOpen || !got.CreatedAt.Equal(at) || string(got.Explanation) != `{"weight":1.2}` {
		t.Fatalf("review %+v, %v", got, err)
	}
	if _, err := db.Review(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown review: %v", err)
	}
	if err := db.DecideReview(ctx, "nope", store.ReviewRejected, "x", "", at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("decide unknown: %v", err)
	}
	if err := db.DecideReview(ctx, "r1", "maybe", "x", "", at); err == nil {
		t.Error("a made-up status was stored")
	}
	// Concurrent decisions: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.DecideReview(ctx, "r1", store.ReviewRejected, "x", "", at)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else if !errors.Is(err, store.ErrConflict) {
			t.Errorf("decide: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d decisions won, want 1", won)
	}
	rej, err := db.RejectedPairs(ctx)
	if err != nil || len(rej) != 1 || rej[0] != (store.ProfilePair{A: "p3", B: "p4"}) {
		t.Errorf("rejected %v, %v", rej, err)
	}
	// A rejected pair may be proposed again only as a new row (the service
	// refuses to; the store keeps the history).
	if open, err := db.Reviews(ctx, store.ReviewOpen, 10); err != nil || len(open) != 0 {
		t.Errorf("open reviews %v, %v", open, err)
	}
	if all, err := db.Reviews(ctx, "", 10); err != nil || len(all) != 1 || all[0].DecidedAt == nil || all[0].DecidedBy != "x" {
		t.Errorf("all reviews %+v, %v", all, err)
	}
}

// The lineage of p1's cluster: p1 and p2, each with its source: p1's latest
// event with traits is m2 (src-new; the later track has none), p2 has no
// event and no identifier.
func TestLineage(t *testing.T) {
	t.Parallel()
	db := dedupeDB(t)
	rows, err := db.Lineage(context.Background(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].ID != "p1" || rows[0].SourceID != "src-new" || rows[1].ID != "p2" || rows[1].MergedInto != "p1" || rows[1].SourceID != "" {
		t.Fatalf("lineage %+v", rows)
	}
	if _, err := db.Lineage(context.Background(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown profile: %v", err)
	}
}
