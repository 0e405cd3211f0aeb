package segments_test

// Shared helpers: a real DuckDB workspace in t.TempDir(), rows written with
// plain SQL (the data a test reasons about is visible in the test), and an
// injected clock.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/segments"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

type fixture struct {
	t   *testing.T
	ctx context.Context
	db  *duckdb.DB
	clk *clock
	svc *segments.Service
	seq int64
}

func newFixture(t *testing.T, listener segments.Listener) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := duckdb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, ctx: ctx, db: db, clk: &clock{t: t0}}
	f.svc = segments.New(db, segments.Options{Now: f.clk.Now, Listener: listener,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return f
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.SQL().ExecContext(f.ctx, q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

// profile inserts a live profile with traits (a JSON object).
func (f *fixture) profile(id, traits string) {
	f.t.Helper()
	f.exec(`INSERT INTO profiles (id, traits, created_at, updated_at) VALUES (?, ?, ?, ?)`, id, traits, t0, t0)
}

// event inserts a track event of a profile at a time.
func (f *fixture) event(pid, name string, at time.Time) {
	f.t.Helper()
	f.seq++
	f.exec(`INSERT INTO events (seq, profile_id, source_id, message_id, dedup_hash, type, event, timestamp, received_at, properties)
		VALUES (?, ?, 'src', ?, ?, 'track', ?, ?, ?, '{}')`, f.seq, pid, fmt.Sprintf("m%d", f.seq), f.seq, name, at, at)
}

// consent appends a consent ledger row.
func (f *fixture) consent(pid, purpose, status string, at time.Time) {
	f.t.Helper()
	f.seq++
	f.exec(`INSERT INTO consents (id, profile_id, purpose, status, source_id, occurred_at, recorded_at, prev_hash, hash)
		VALUES (?, ?, ?, ?, 'src', ?, ?, '', '')`, fmt.Sprintf("c%d", f.seq), pid, purpose, status, at, at)
}

func (f *fixture) create(name, rule string) segments.Segment {
	f.t.Helper()
	s, err := f.svc.Create(f.ctx, segments.Input{Name: name, Rule: rule})
	if err != nil {
		f.t.Fatalf("create %s: %v", name, err)
	}
	return s
}

// open lists the profiles with an open membership row, read with plain SQL.
func (f *fixture) open(segID string) []string {
	f.t.Helper()
	return f.strings(`SELECT profile_id FROM segment_memberships WHERE segment_id = ? AND exited_at IS NULL ORDER BY 1`, segID)
}

func (f *fixture) strings(q string, args ...any) []string {
	f.t.Helper()
	rows, err := f.db.SQL().QueryContext(f.ctx, q, args...)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func (f *fixture) count(q string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.SQL().QueryRowContext(f.ctx, q, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func sorted(s ...string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// recorder is a Listener keeping every change it got.
type recorder struct {
	mu  sync.Mutex
	got []segments.Change
}

func (r *recorder) SegmentChanged(_ context.Context, ch []segments.Change) error {
	r.mu.Lock()
	r.got = append(r.got, ch...)
	r.mu.Unlock()
	return nil
}

func ptr(s string) *string { return &s }
