package ingest_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// Commit.Touched lists the live profiles a commit changed and Merged the
// ones it merged away; a failed commit reports none.
func TestCommitReportsTouchedProfiles(t *testing.T) {
	ctx := context.Background()
	db, err := duckdb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := &failingStore{DB: db}
	var mu sync.Mutex
	var commits []ingest.Commit
	var n atomic.Int64
	w := ingest.New(st, identity.DefaultConfig(), ingest.Options{NewID: func() string { return fmt.Sprintf("id%d", n.Add(1)) },
		Observe: func(c ingest.Commit) { mu.Lock(); commits = append(commits, c); mu.Unlock() }})
	if err := w.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	defer func() { w.Stop(); cancel(); <-done }()
	// The observer may run just after the submitter is answered: wait for
	// the i-th commit (1-based) rather than reading the latest.
	seen := 0
	last := func() ingest.Commit {
		t.Helper()
		seen++
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			mu.Lock()
			if len(commits) >= seen {
				c := commits[seen-1]
				mu.Unlock()
				return c
			}
			mu.Unlock()
			if time.Now().After(deadline) {
				t.Fatalf("commit %d was never observed", seen)
			}
		}
	}

	if _, err := w.Submit(ctx, []model.Message{identify("m1", "u1", "", ""), identify("m2", "u2", "", "")}); err != nil {
		t.Fatal(err)
	}
	first := last()
	got := append([]string{}, first.Touched...)
	sort.Strings(got)
	if fmt.Sprint(got) != "[id1 id2]" || first.Merged != nil {
		t.Fatalf("touched = %v merged = %v", got, first.Merged)
	}
	track := identify("m3", "u1", "", "")
	track.Type, track.Event = model.Track, "Purchase"
	if _, err := w.Submit(ctx, []model.Message{track}); err != nil {
		t.Fatal(err)
	}
	if c := last(); fmt.Sprint(c.Touched) != "[id1]" {
		t.Errorf("after a track: %v", c.Touched)
	}
	mg, err := w.Merge(ctx, "id1", "id2", "test")
	if err != nil {
		t.Fatal(err)
	}
	if c := last(); fmt.Sprint(c.Touched) != "[id1]" || fmt.Sprint(c.Merged) != "[id2]" || c.Messages != 0 {
		t.Errorf("after a merge: %+v", c)
	}
	// Undoing it touches both: the restored profile and the survivor that
	// gives its data back.
	if _, err := w.Unmerge(ctx, mg.ID, "test"); err != nil {
		t.Fatal(err)
	}
	c := last()
	got = append([]string{}, c.Touched...)
	sort.Strings(got)
	if fmt.Sprint(got) != "[id1 id2]" || c.Merged != nil {
		t.Errorf("after an unmerge: %+v", c)
	}
	if _, err := w.Merge(ctx, "id1", "id2", "test"); err != nil {
		t.Fatal(err)
	}
	last()
	st.fail.Store(true)
	if _, err := w.Submit(ctx, []model.Message{identify("m4", "u4", "", "")}); err == nil {
		t.Fatal("injected failure did not fail")
	}
	if c := last(); c.Err == nil || c.Touched != nil {
		t.Errorf("a failed commit reported %+v", c)
	}
}
