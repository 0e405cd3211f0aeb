package activate_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/activate"
)

// A 4xx other than 408/429 kills a delivery at once with the receiver's
// reason; replaying it keeps its key and payload, and it is delivered once
// the receiver accepts.
func TestRefusedDeliveryIsDeadAndReplayKeepsKey(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, t.TempDir())
	addSegment(t, db, "seg-1", "buyers")
	var refuse = true
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	rc := newReceiver(t, func(r *http.Request) int {
		<-mu
		defer func() { mu <- struct{}{} }()
		if refuse {
			return http.StatusUnprocessableEntity
		}
		return http.StatusNoContent
	})
	d := activate.New(db, fastOptions(activate.NewScaledClock(time.Now(), 50)))
	dest, _, err := d.Create(ctx, "crm", "webhook", webhookSettings(rc.srv.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, d)
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	if _, err := d.Enqueue(ctx, changes("seg-1", "enter", at, "p1", "p2")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "two dead deliveries", func() bool { return counts(t, db, dest.ID)["dead"] == 2 })
	dead, err := d.Deliveries(ctx, "crm", activate.StatusDead, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range dead {
		if r.Attempts != 1 || r.LastStatus != 422 || !strings.Contains(r.LastError, "422") || !strings.HasPrefix(r.LastError, "refused") {
			t.Errorf("dead row %+v: want 1 attempt, status 422, reason naming it", r)
		}
	}
	if got := len(rc.requests()); got != 2 {
		t.Fatalf("receiver saw %d requests, want 2 (no retry of a 4xx)", got)
	}
	<-mu
	refuse = false
	mu <- struct{}{}
	// Replay one by id, then the rest of the destination.
	if n, err := d.Replay(ctx, "crm", dead[0].ID); err != nil || n != 1 {
		t.Fatalf("replay one: %d, %v", n, err)
	}
	if _, err := d.Replay(ctx, "crm", dead[0].ID); err == nil {
		// Right after the replay it is pending or delivered, never dead.
		t.Fatal("replaying a delivery that is not dead must fail")
	}
	waitFor(t, 10*time.Second, "the replayed delivery", func() bool { return counts(t, db, dest.ID)["delivered"] == 1 })
	if n, err := d.Replay(ctx, dest.ID, ""); err != nil || n != 1 {
		t.Fatalf("replay all: %d, %v", n, err)
	}
	waitFor(t, 10*time.Second, "both delivered", func() bool { return counts(t, db, dest.ID)["delivered"] == 2 })
	stop()
	byKey := map[string][]request{}
	for _, r := range rc.requests() {
		byKey[r.Key] = append(byKey[r.Key], r)
	}
	if len(byKey) != 2 {
		t.Fatalf("distinct keys = %d, want 2", len(byKey))
	}
	for k, rs := range byKey {
		if len(rs) != 2 || rs[0].Status != 422 || rs[1].Status != 204 {
			t.Fatalf("key %s: %d requests, want a refusal then a delivery", k, len(rs))
		}
		if string(rs[0].Body) != string(rs[1].Body) || rs[0].DeliveryID != rs[1].DeliveryID {
			t.Errorf("key %s: the replay changed the body or the delivery id", k)
		}
	}
}

// A restart resumes pending deliveries: rows queued while the receiver was
// down are delivered by a new dispatcher over the reopened file.
func TestRestartResumesPending(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openDB(t, dir)
	addSegment(t, db, "seg-1", "buyers")
	up := make(chan struct{})
	rc := newReceiver(t, func(r *http.Request) int {
		select {
		case <-up:
			return 200
		default:
			return 503
		}
	})
	clock := activate.NewScaledClock(time.Now(), 50)
	d := activate.New(db, fastOptions(clock))
	dest, _, err := d.Create(ctx, "crm", "webhook", webhookSettings(rc.srv.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, d)
	profiles := []string{"p1", "p2", "p3", "p4", "p5"}
	if _, err := d.Enqueue(ctx, changes("seg-1", "enter", time.Now(), profiles...)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a failed attempt", func() bool { return len(rc.requests()) > 0 })
	stop()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	close(up)
	db = openDB(t, dir)
	if c := counts(t, db, dest.ID); c["pending"] != 5 {
		t.Fatalf("after the restart: %v, want 5 pending", c)
	}
	d = activate.New(db, fastOptions(clock))
	run(t, d)
	waitFor(t, 15*time.Second, "five deliveries after the restart", func() bool { return counts(t, db, dest.ID)["delivered"] == 5 })
	keys := map[string]bool{}
	for _, r := range rc.requests() {
		if r.Status == 200 {
			keys[r.Key] = true
		}
	}
	if len(keys) != 5 {
		t.Fatalf("delivered keys = %d, want 5", len(keys))
	}
}

// Enqueueing the same logical change twice writes one row; a different
// entry time of the same profile is another change.
func TestEnqueueIsIdempotent(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, t.TempDir())
	addSegment(t, db, "seg-1", "buyers")
	d := activate.New(db, fastOptions(activate.RealClock{}))
	dest, _, err := d.Create(ctx, "crm", "webhook", webhookSettings("http://127.0.0.1:9/x", nil))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	c1, err := d.Enqueue(ctx, changes("seg-1", "enter", at, "p1", "p2", "p1"))
	if err != nil {
		t.Fatal(err)
	}
	c2, err := d.Enqueue(ctx, changes("seg-1", "enter", at, "p1", "p2"))
	if err != nil {
		t.Fatal(err)
	}
	c3, err := d.Enqueue(ctx, changes("seg-1", "enter", at.Add(time.Hour), "p1"))
	if err != nil {
		t.Fatal(err)
	}
	if c1 != (activate.Counts{Included: 2, Duplicates: 1}) || c2 != (activate.Counts{Duplicates: 2}) || c3 != (activate.Counts{Included: 1}) {
		t.Fatalf("counts %+v %+v %+v", c1, c2, c3)
	}
	if c := counts(t, db, dest.ID); c["pending"] != 3 {
		t.Fatalf("rows %v, want 3 pending", c)
	}
	// Exits are not sent to a destination that asked for entries only,
	// nor are changes of other segments.
	dest2, _, err := d.Create(ctx, "enter-only", "webhook", webhookSettings("http://127.0.0.1:9/y", map[string]any{"events": []string{"enter"}}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Enqueue(ctx, append(changes("seg-1", "exit", at, "p1"), changes("seg-2", "enter", at, "p1")...)); err != nil {
		t.Fatal(err)
	}
	if c := counts(t, db, dest2.ID); len(c) != 0 {
		t.Fatalf("enter-only destination got %v", c)
	}
}

// Consent: with a purpose, members without a current grant are excluded
// with the reason, and the counts say how many were included and excluded.
// A grant withdrawn while a row waits excludes it before sending.
func TestConsentExcludesAndCounts(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, t.TempDir())
	addSegment(t, db, "seg-1", "buyers")
	addProfile(t, db, "granted", map[string]any{"email": "a@example.com", "first_name": "Ana", "secret_note": "x"})
	addProfile(t, db, "withdrawn", nil)
	addProfile(t, db, "denied", nil)
	addProfile(t, db, "nothing", nil)
	addProfile(t, db, "other-purpose", nil)
	addConsents(t, db, "granted", "email_marketing", "denied", "granted")
	addConsents(t, db, "withdrawn", "email_marketing", "granted", "withdrawn")
	addConsents(t, db, "denied", "email_marketing", "denied")
	addConsents(t, db, "other-purpose", "sms", "granted")
	addProfile(t, db, "later-withdrawn", nil)
	addConsents(t, db, "later-withdrawn", "email_marketing", "granted")
	// A visitor who consented before logging in: their anonymous profile,
	// merged into the identified one, holds the grant.
	addProfile(t, db, "merged-survivor", nil)
	addProfile(t, db, "merged-anon", nil)
	exec(t, db, `UPDATE profiles SET merged_into = 'merged-survivor' WHERE id = 'merged-anon'`)
	addConsents(t, db, "merged-anon", "email_marketing", "granted")

	rc := newReceiver(t, nil)
	d := activate.New(db, fastOptions(activate.NewScaledClock(time.Now(), 50)))
	dest, _, err := d.Create(ctx, "newsletter", "webhook", webhookSettings(rc.srv.URL, map[string]any{
		"purpose": "email_marketing", "traits": []string{"email", "first_name"}, "segments": []string{"buyers"}}))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	got, err := d.Enqueue(ctx, changes("seg-1", "enter", at, "granted", "withdrawn", "denied", "nothing", "other-purpose", "later-withdrawn", "merged-survivor"))
	if err != nil {
		t.Fatal(err)
	}
	if got != (activate.Counts{Included: 3, Excluded: 4}) {
		t.Fatalf("counts %+v, want 3 included, 4 excluded", got)
	}
	// Withdraw before any worker runs: the send-time check catches it.
	exec(t, db, `INSERT INTO consents (id, profile_id, purpose, status, source_id, occurred_at, recorded_at, prev_hash, hash)
		SELECT 'w2', profile_id, purpose, 'withdrawn', 'src-web', occurred_at + INTERVAL 1 DAY, recorded_at + INTERVAL 1 DAY, hash, 'h-w2'
		FROM consents WHERE profile_id = 'later-withdrawn'`)
	run(t, d)
	waitFor(t, 10*time.Second, "the granted members' deliveries", func() bool { return counts(t, db, dest.ID)["delivered"] == 2 })
	waitFor(t, 10*time.Second, "the send-time exclusion", func() bool { return counts(t, db, dest.ID)["excluded"] == 5 })
	reasons := map[string]string{}
	rows, err := db.SQL().Query(`SELECT profile_id, consent_reason FROM deliveries WHERE destination_id = ?`, dest.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p, r string
		if err := rows.Scan(&p, &r); err != nil {
			t.Fatal(err)
		}
		reasons[p] = r
	}
	rows.Close()
	want := map[string]string{
		"granted":         "email_marketing granted 2026-03-02T11:00:00Z (source src-web)",
		"withdrawn":       "email_marketing withdrawn 2026-03-02T11:00:00Z (source src-web)",
		"denied":          "email_marketing denied 2026-03-02T10:00:00Z (source src-web)",
		"nothing":         "no consent recorded for email_marketing",
		"other-purpose":   "no consent recorded for email_marketing",
		"later-withdrawn": "email_marketing withdrawn 2026-03-03T10:00:00Z (source src-web) (checked before sending)",
		"merged-survivor": "email_marketing granted 2026-03-02T10:00:00Z (source src-web)",
	}
	for p, w := range want {
		if reasons[p] != w {
			t.Errorf("%s: reason %q, want %q", p, reasons[p], w)
		}
	}
	var reqs []request
	for _, r := range rc.requests() {
		if strings.Contains(string(r.Body), `"id":"granted"`) {
			reqs = append(reqs, r)
		}
	}
	if n := len(rc.requests()); n != 2 || len(reqs) != 1 {
		t.Fatalf("receiver saw %d requests (%d for the granted profile), want 2 and 1", n, len(reqs))
	}
	var p struct {
		Type    string `json:"type"`
		Segment struct{ ID, Name string }
		Profile struct {
			ID     string         `json:"id"`
			Traits map[string]any `json:"traits"`
		}
		OccurredAt     time.Time `json:"occurred_at"`
		DeliveryID     string    `json:"delivery_id"`
		IdempotencyKey string    `json:"idempotency_key"`
	}
	if err := json.Unmarshal(reqs[0].Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != "segment.entered" || p.Segment.ID != "seg-1" || p.Segment.Name != "buyers" || p.Profile.ID != "granted" ||
		!p.OccurredAt.Equal(at) || p.DeliveryID != reqs[0].DeliveryID || p.IdempotencyKey != reqs[0].Key {
		t.Fatalf("payload %+v", p)
	}
	if len(p.Profile.Traits) != 2 || p.Profile.Traits["email"] != "a@example.com" || p.Profile.Traits["first_name"] != "Ana" {
		t.Fatalf("traits %v: want exactly email and first_name", p.Profile.Traits)
	}
}

// A full sync queues every current member once per sync; members who
// exited are not sent; a second sync sends again under new keys.
func TestFullSyncQueuesCurrentMembers(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, t.TempDir())
	addSegment(t, db, "seg-1", "buyers")
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range []string{"m1", "m2", "m3"} {
		exec(t, db, `INSERT INTO segment_memberships (profile_id, segment_id, entered_at) VALUES (?, 'seg-1', ?)`, p, t0)
	}
	exec(t, db, `INSERT INTO segment_memberships (profile_id, segment_id, entered_at, exited_at) VALUES ('gone', 'seg-1', ?, ?)`, t0, t0.Add(time.Hour))
	clock := activate.NewScaledClock(time.Now(), 1)
	d := activate.New(db, fastOptions(clock))
	dest, _, err := d.Create(ctx, "crm", "webhook", webhookSettings("http://127.0.0.1:9/", map[string]any{"full_sync_every": "24h"}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.FullSync(ctx, "crm")
	if err != nil || c.Included != 3 {
		t.Fatalf("first sync %+v %v, want 3 included", c, err)
	}
	time.Sleep(2 * time.Millisecond)
	if c, err = d.FullSync(ctx, dest.ID); err != nil || c.Included != 3 {
		t.Fatalf("second sync %+v %v", c, err)
	}
	var rows, profiles, keys int
	if err := db.SQL().QueryRow(`SELECT count(*), count(DISTINCT profile_id), count(DISTINCT idempotency_key) FROM deliveries WHERE kind = 'sync'`).Scan(&rows, &profiles, &keys); err != nil {
		t.Fatal(err)
	}
	if rows != 6 || profiles != 3 || keys != 6 {
		t.Fatalf("rows %d profiles %d keys %d, want 6, 3, 6", rows, profiles, keys)
	}
	v, err := d.Get(ctx, "crm")
	if err != nil || v.LastFullSyncAt == nil {
		t.Fatalf("last full sync not recorded: %+v %v", v, err)
	}
}

// The change feed: the first run starts at its end; later changes are
// queued from the cursor, and a change already handed over by the listener
// is not queued twice.
func TestCatchUpFromTheChangeFeed(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, t.TempDir())
	addSegment(t, db, "seg-1", "buyers")
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	feed := func(p, kind string) {
		exec(t, db, `INSERT INTO segment_changes (segment_id, profile_id, kind, changed_at) VALUES ('seg-1', ?, ?, ?)`, p, kind, at)
	}
	feed("old", "enter") // history before activation ever ran
	d := activate.New(db, fastOptions(activate.RealClock{}))
	dest, _, err := d.Create(ctx, "crm", "webhook", webhookSettings("http://127.0.0.1:9/", nil))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := d.CatchUp(ctx); err != nil || c != (activate.Counts{}) {
		t.Fatalf("first catch-up %+v %v: want nothing queued", c, err)
	}
	feed("a", "enter")
	feed("b", "enter")
	feed("a", "exit")
	// The listener hands over seq 2 (a's enter) first.
	if err := d.SegmentChanged(ctx, []activate.Change{{Seq: 2, SegmentID: "seg-1", ProfileID: "a", Kind: "enter", At: at}}); err != nil {
		t.Fatal(err)
	}
	c, err := d.CatchUp(ctx)
	if err != nil || c != (activate.Counts{Included: 2}) {
		t.Fatalf("catch-up %+v %v, want the 2 changes after the listener's", c, err)
	}
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM deliveries WHERE destination_id = ? AND profile_id <> 'old'`, dest.ID).Scan(&n); err != nil || n != 3 {
		t.Fatalf("rows %d %v, want 3", n, err)
	}
	// A reopened dispatcher resumes from the stored cursor.
	feed("c", "enter")
	d2 := activate.New(db, fastOptions(activate.RealClock{}))
	if c, err := d2.CatchUp(ctx); err != nil || c != (activate.Counts{Included: 1}) {
		t.Fatalf("catch-up after reopen %+v %v", c, err)
	}
}

// A 429 with Retry-After delays the next attempt by at least that long
// (dispatcher clock), though the backoff alone would retry within seconds;
// a receiver failing every time kills the delivery after max_attempts, with
// the last error.
func TestRetryAfterAndMaxAttempts(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, t.TempDir())
	addSegment(t, db, "seg-1", "buyers")
	clock := activate.NewScaledClock(time.Now(), 200)
	var mu sync.Mutex
	var slowAt []time.Time
	slow := newReceiver(t, func(r *http.Request) int {
		mu.Lock()
		defer mu.Unlock()
		slowAt = append(slowAt, clock.Now())
		if len(slowAt) == 1 {
			return http.StatusTooManyRequests
		}
		return http.StatusOK
	})
	slow.setHeader("Retry-After", "120")
	broken := newReceiver(t, func(r *http.Request) int { return http.StatusInternalServerError })
	d := activate.New(db, fastOptions(clock))
	if _, _, err := d.Create(ctx, "slow", "webhook", webhookSettings(slow.srv.URL, nil)); err != nil {
		t.Fatal(err)
	}
	dest, _, err := d.Create(ctx, "broken", "webhook", webhookSettings(broken.srv.URL, map[string]any{"max_attempts": 3}))
	if err != nil {
		t.Fatal(err)
	}
	run(t, d)
	if _, err := d.Enqueue(ctx, changes("seg-1", "enter", time.Now(), "p1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the retried delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(slowAt) == 2
	})
	mu.Lock()
	gap := slowAt[1].Sub(slowAt[0])
	mu.Unlock()
	if gap < 120*time.Second {
		t.Fatalf("retried %s after a Retry-After of 120 s", gap)
	}
	waitFor(t, 10*time.Second, "the dead delivery", func() bool { return counts(t, db, dest.ID)["dead"] == 1 })
	dead, err := d.Deliveries(ctx, "broken", activate.StatusDead, 1)
	if err != nil {
		t.Fatal(err)
	}
	if dead[0].Attempts != 3 || dead[0].LastError != "gave up after 3 attempts (max_attempts): receiver answered 500 Internal Server Error" {
		t.Fatalf("dead row: %d attempts, %q", dead[0].Attempts, dead[0].LastError)
	}
	if n := len(broken.requests()); n != 3 {
		t.Fatalf("broken receiver saw %d requests, want 3", n)
	}
}
