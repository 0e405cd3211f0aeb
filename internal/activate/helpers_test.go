package activate_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/activate"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// openDB opens a real DuckDB workspace in dir.
func openDB(t *testing.T, dir string) *duckdb.DB {
	t.Helper()
	db, err := duckdb.Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	// A cleanup, not a defer: cleanups run in reverse order, so the store
	// closes after the dispatchers that run() registered later.
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t *testing.T, db *duckdb.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.SQL().ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// addSegment writes a segment row as the segments side would.
func addSegment(t *testing.T, db *duckdb.DB, id, name string) {
	t.Helper()
	now := time.Now().UTC()
	exec(t, db, `INSERT INTO segments (id, name, definition, created_at, updated_at) VALUES (?, ?, 'true', ?, ?)`, id, name, now, now)
}

// addProfile writes a live profile with traits.
func addProfile(t *testing.T, db *duckdb.DB, id string, traits map[string]any) {
	t.Helper()
	b, _ := json.Marshal(traits)
	now := time.Now().UTC()
	exec(t, db, `INSERT INTO profiles (id, traits, created_at, updated_at) VALUES (?, ?, ?, ?)`, id, string(b), now, now)
}

// addConsents appends ledger rows for one (profile, purpose), chained as
// the ingest writer chains them (each row names the previous row's hash).
func addConsents(t *testing.T, db *duckdb.DB, profileID, purpose string, statuses ...string) {
	t.Helper()
	prev := ""
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i, st := range statuses {
		h := sha256.Sum256([]byte(fmt.Sprint(profileID, purpose, i, st)))
		hash := hex.EncodeToString(h[:])
		exec(t, db, `INSERT INTO consents (id, profile_id, purpose, status, source_id, occurred_at, recorded_at, prev_hash, hash)
			VALUES (?, ?, ?, ?, 'src-web', ?, ?, ?, ?)`, fmt.Sprint(profileID, purpose, i), profileID, purpose, st, at, at, prev, hash)
		prev = hash
		at = at.Add(time.Hour)
	}
}

// webhookSettings is a valid webhook settings document.
func webhookSettings(url string, extra map[string]any) json.RawMessage {
	s := map[string]any{"url": url, "secret": testSecret, "segments": []string{"seg-1"}, "purpose": "none"}
	for k, v := range extra {
		s[k] = v
	}
	b, _ := json.Marshal(s)
	return b
}

const testSecret = "0123456789abcdef-test-secret"

// request is what the receiver saw.
type request struct {
	Key, DeliveryID, Timestamp, Signature string
	Body                                  []byte
	Status                                int
	At                                    time.Time
}

// receiver is a real HTTP server recording every request; answer picks
// the status of each.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	seen   []request
	answer func(r *http.Request) int
	header http.Header // added to every answer (guarded by mu)
}

// setHeader adds a header to every later answer.
func (rc *receiver) setHeader(k, v string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.header == nil {
		rc.header = http.Header{}
	}
	rc.header.Set(k, v)
}

func newReceiver(t *testing.T, answer func(r *http.Request) int) *receiver {
	rc := &receiver{answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 0, 512)
		buf := make([]byte, 512)
		for {
			n, err := r.Body.Read(buf)
			body = append(body, buf[:n]...)
			if err != nil {
				break
			}
		}
		status := http.StatusOK
		if rc.answer != nil {
			status = rc.answer(r)
		}
		rc.mu.Lock()
		for k, v := range rc.header {
			w.Header()[k] = v
		}
		rc.seen = append(rc.seen, request{Key: r.Header.Get("Idempotency-Key"), DeliveryID: r.Header.Get("X-Atrium-Delivery"),
			Timestamp: r.Header.Get("X-Atrium-Timestamp"), Signature: r.Header.Get("X-Atrium-Signature"), Body: body, Status: status, At: time.Now()})
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.seen...)
}

// run starts d.Run and returns a stop function that cancels and waits.
func run(t *testing.T, d *activate.Dispatcher) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond every 20 ms until it holds or the real-time limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// counts reads a destination's delivery counts with plain SQL.
func counts(t *testing.T, db *duckdb.DB, destID string) map[string]int {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT status, count(*) FROM deliveries WHERE destination_id = ? GROUP BY status`, destID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	return out
}

func changes(seg string, kind string, at time.Time, profiles ...string) []activate.Change {
	out := make([]activate.Change, len(profiles))
	for i, p := range profiles {
		out[i] = activate.Change{SegmentID: seg, ProfileID: p, Kind: kind, At: at}
	}
	return out
}

func fastOptions(clock activate.Clock) activate.Options {
	return activate.Options{Clock: clock, Backoff: activate.Backoff{Base: time.Second, Cap: 30 * time.Second},
		Poll: 5 * time.Second, SyncCheck: 5 * time.Second, ShutdownGrace: 2 * time.Second}
}
