package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// failingStore is a real store whose commits can be made to fail.
type failingStore struct {
	*duckdb.DB
	fail atomic.Bool
}

var errInjected = errors.New("injected commit failure")

func (f *failingStore) ApplyBatch(ctx context.Context, b *store.Batch) error {
	if f.fail.Load() {
		return errInjected
	}
	return f.DB.ApplyBatch(ctx, b)
}

func startWriter(t *testing.T) (*ingest.Writer, *failingStore) {
	t.Helper()
	db, err := duckdb.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := &failingStore{DB: db}
	var n atomic.Int64
	w := ingest.New(st, identity.DefaultConfig(), ingest.Options{NewID: func() string { return fmt.Sprintf("id%d", n.Add(1)) }})
	if err := w.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		w.Stop()
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		db.Close()
	})
	return w, st
}

var when = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func identify(msgID, userID, anonID, email string) model.Message {
	m := model.Message{Type: model.Identify, MessageID: msgID, SourceID: "src", UserID: userID, AnonymousID: anonID,
		Timestamp: when, ReceivedAt: when}
	if email != "" {
		m.Traits = map[string]any{"email": email}
	}
	return m
}

// A failed commit fails every request in it and leaves no trace: not in the
// store, not in the identity graph, not in the dedup filter, not in the
// event sequence.
func TestFailedCommitRollsBackEverything(t *testing.T) {
	w, st := startWriter(t)
	ctx := context.Background()
	if _, err := w.Submit(ctx, []model.Message{identify("m1", "u1", "a1", "")}); err != nil {
		t.Fatal(err)
	}
	st.fail.Store(true)
	failed := [][]model.Message{
		{identify("m2", "u2", "a2", "")},
		{identify("m3", "u1", "", "e1@example.com"), identify("m4", "", "a2", "e1@example.com")}, // would merge a2 into u1
	}
	var wg sync.WaitGroup
	for _, msgs := range failed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.Submit(ctx, msgs); !errors.Is(err, errInjected) {
				t.Errorf("submit during a failing commit: %v, want the commit's error", err)
			}
		}()
	}
	wg.Wait()
	st.fail.Store(false)

	// The same messages again: stored now, none taken for a duplicate.
	for _, msgs := range failed {
		r, err := w.Submit(ctx, msgs)
		if err != nil || r.Accepted != len(msgs) || len(r.Duplicates) != 0 {
			t.Fatalf("re-submit: %+v %v", r, err)
		}
	}
	u1, err := st.Lookup(ctx, "user_id", "u1")
	if err != nil {
		t.Fatal(err)
	}
	u2, err := st.Lookup(ctx, "user_id", "u2")
	if err != nil {
		t.Fatal(err)
	}
	// m2 made u2's profile (with a2); m3 gave e1 to u1; m4 (a2 + e1) links
	// a2's profile to e1's, but both hold a user id: refused.
	e1, _ := st.Lookup(ctx, "email", "e1@example.com")
	a2, _ := st.Lookup(ctx, "anonymous_id", "a2")
	if e1 != u1 || a2 != u2 || u1 == u2 {
		t.Errorf("u1 %s u2 %s e1 %s a2 %s", u1, u2, e1, a2)
	}
	var n, maxSeq, distinct int
	if err := st.SQL().QueryRow(`SELECT count(*), max(seq), count(DISTINCT seq) FROM events`).Scan(&n, &maxSeq, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != 4 || maxSeq != 4 || distinct != 4 {
		t.Errorf("%d events, max seq %d, %d distinct: the failed commit left a gap or a duplicate", n, maxSeq, distinct)
	}
	var profiles int
	if err := st.SQL().QueryRow(`SELECT count(*) FROM profiles`).Scan(&profiles); err != nil {
		t.Fatal(err)
	}
	if profiles != 2 {
		t.Errorf("%d profiles, want 2 (u1's and u2's)", profiles)
	}
}

// Requests sent at once share commits, and each learns exactly its own fate.
func TestGroupCommitAnswersEachRequest(t *testing.T) {
	w, st := startWriter(t)
	ctx := context.Background()
	const senders = 50
	var wg sync.WaitGroup
	results := make([]ingest.Result, senders)
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Sender g sends ids g and g+1: every id but the first and the
			// last is sent twice.
			msgs := []model.Message{identify(fmt.Sprint(g), fmt.Sprint("u", g), "", ""), identify(fmt.Sprint(g+1), fmt.Sprint("u", g+1), "", "")}
			r, err := w.Submit(ctx, msgs)
			if err != nil {
				t.Error(err)
			}
			results[g] = r
		}()
	}
	wg.Wait()
	accepted, dups := 0, 0
	for _, r := range results {
		accepted += r.Accepted
		dups += len(r.Duplicates)
		if r.Accepted+len(r.Duplicates) != 2 {
			t.Errorf("result %+v does not account for its two messages", r)
		}
	}
	if accepted != senders+1 || dups != senders-1 {
		t.Errorf("accepted %d duplicates %d, want %d and %d", accepted, dups, senders+1, senders-1)
	}
	var n int
	if err := st.SQL().QueryRow(`SELECT count(DISTINCT message_id) FROM events`).Scan(&n); err != nil || n != senders+1 {
		t.Errorf("%d distinct events stored (%v), want %d", n, err, senders+1)
	}
}
