package duckdb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/activate"
	"github.com/atrium-cdp/atrium/internal/store"
)

func queued(dest, id, profile, key string, at time.Time) activate.DeliveryRow {
	return activate.DeliveryRow{ID: id, DestinationID: dest, ProfileID: profile, SegmentID: "s", Kind: "enter", IdempotencyKey: key,
		Payload: []byte(`{"k":"` + key + `"}`), Status: activate.StatusPending, NextAttemptAt: at, CreatedAt: at, QueuedAt: at, UpdatedAt: at}
}

// The queue's store contract: a key is queued once per destination and
// profile, due rows come oldest first without the skipped ones, a batch of
// outcomes lands in one statement, replay brings dead rows back with their
// key, and deleting a destination takes its deliveries with it.
func TestDeliveryQueueStore(t *testing.T) {
	ctx := context.Background()
	db := testDB(t)
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, name := range []string{"a", "b"} {
		if err := db.CreateDestination(ctx, activate.DestinationRow{ID: "d-" + name, Kind: "webhook", Name: name, Settings: []byte(`{}`), CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateDestination(ctx, activate.DestinationRow{ID: "d-c", Kind: "webhook", Name: "a", Settings: []byte(`{}`), CreatedAt: t0, UpdatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("taken name: %v", err)
	}
	var rows []activate.DeliveryRow
	for i := 0; i < 5; i++ {
		rows = append(rows, queued("d-a", fmt.Sprint("a", i), fmt.Sprint("p", i), fmt.Sprint("k", i), t0.Add(time.Duration(i)*time.Minute)))
	}
	rows = append(rows, queued("d-b", "b0", "p0", "k0", t0)) // same key, other destination: another row
	n, err := db.EnqueueDeliveries(ctx, rows)
	if err != nil || n != 6 {
		t.Fatalf("enqueue: %d %v", n, err)
	}
	again := []activate.DeliveryRow{queued("d-a", "other-id", "p0", "k0", t0), queued("d-a", "a9", "p9", "k9", t0)}
	if n, err = db.EnqueueDeliveries(ctx, again); err != nil || n != 1 {
		t.Fatalf("re-enqueue: inserted %d (%v), want only the new key", n, err)
	}
	due, err := db.DueDeliveries(ctx, "d-a", t0.Add(2*time.Minute), 10, []string{"a1"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range due {
		ids = append(ids, r.ID)
	}
	if fmt.Sprint(ids) != "[a0 a9 a2]" {
		t.Fatalf("due %v, want [a0 a9 a2] (due by then, oldest first, a1 skipped)", ids)
	}
	if next, err := db.NextDue(ctx, "d-a", []string{"a0", "a9"}); err != nil || !next.Equal(t0.Add(time.Minute)) {
		t.Fatalf("next due %v %v", next, err)
	}
	t1 := t0.Add(time.Hour)
	err = db.FinishAttempts(ctx, []activate.Result{
		{ID: "a0", Status: activate.StatusDelivered, Attempts: 1, NextAttemptAt: t0, LastStatus: 200, At: t1},
		{ID: "a1", Status: activate.StatusDead, Attempts: 1, NextAttemptAt: t0, LastStatus: 410, LastError: "refused: receiver answered 410 Gone", At: t1},
		{ID: "a2", Status: activate.StatusPending, Attempts: 3, NextAttemptAt: t1.Add(time.Minute), LastError: "timed out", At: t1},
		{ID: "a3", Status: activate.StatusExcluded, Attempts: 0, NextAttemptAt: t0, ConsentReason: "no consent recorded for sms", At: t1},
	})
	if err != nil {
		t.Fatal(err)
	}
	var status, lastErr, reason string
	var attempts, http int
	var next, deadAt time.Time
	if err := db.SQL().QueryRow(`SELECT status, attempts, next_attempt_at, coalesce(last_error, ''), coalesce(last_status, 0) FROM deliveries WHERE id = 'a2'`).
		Scan(&status, &attempts, &next, &lastErr, &http); err != nil {
		t.Fatal(err)
	}
	if status != "pending" || attempts != 3 || !next.Equal(t1.Add(time.Minute)) || lastErr != "timed out" || http != 0 {
		t.Fatalf("a2: %s %d %v %q %d", status, attempts, next, lastErr, http)
	}
	if err := db.SQL().QueryRow(`SELECT status, dead_at, last_error FROM deliveries WHERE id = 'a1'`).Scan(&status, &deadAt, &lastErr); err != nil {
		t.Fatal(err)
	}
	if status != "dead" || !deadAt.Equal(t1) || lastErr != "refused: receiver answered 410 Gone" {
		t.Fatalf("a1: %s %v %q", status, deadAt, lastErr)
	}
	if err := db.SQL().QueryRow(`SELECT consent_reason FROM deliveries WHERE id = 'a3'`).Scan(&reason); err != nil || reason != "no consent recorded for sms" {
		t.Fatalf("a3 reason %q %v", reason, err)
	}
	c, err := db.DeliveryCounts(ctx, "d-a")
	if err != nil {
		t.Fatal(err)
	}
	if c[activate.StatusPending] != 3 || c[activate.StatusDelivered] != 1 || c[activate.StatusDead] != 1 || c[activate.StatusExcluded] != 1 {
		t.Fatalf("counts %v", c)
	}
	dead, err := db.Deliveries(ctx, activate.DeliveryFilter{DestinationID: "d-a", Status: activate.StatusDead, Limit: 10})
	if err != nil || len(dead) != 1 || dead[0].ID != "a1" || dead[0].DeadAt == nil || dead[0].LastStatus != 410 {
		t.Fatalf("dead list %+v %v", dead, err)
	}
	if _, err := db.Replay(ctx, "d-a", "a0", t1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("replay of a delivered row: %v", err)
	}
	if _, err := db.Replay(ctx, "d-b", "a1", t1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("replay through another destination: %v", err)
	}
	t2 := t1.Add(time.Hour)
	if n, err := db.Replay(ctx, "d-a", "", t2); err != nil || n != 1 {
		t.Fatalf("replay all: %d %v", n, err)
	}
	back, err := db.DueDeliveries(ctx, "d-a", t2, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range back {
		if r.ID == "a1" {
			found = true
			if r.IdempotencyKey != "k1" || r.Attempts != 0 || !r.QueuedAt.Equal(t2) || !r.CreatedAt.Equal(t0.Add(time.Minute)) || r.DeadAt != nil {
				t.Fatalf("replayed row %+v", r)
			}
		}
	}
	if !found {
		t.Fatal("the replayed row is not due")
	}
	if err := db.DeleteDestination(ctx, "d-a"); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM deliveries WHERE destination_id = 'd-a'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d deliveries left after delete (%v)", left, err)
	}
	if _, err := db.Destination(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted destination: %v", err)
	}
	if err := db.DeleteDestination(ctx, "d-a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if seq, ok, err := db.FeedCursor(ctx); err != nil || ok || seq != 0 {
		t.Fatalf("fresh cursor %d %v %v", seq, ok, err)
	}
	if err := db.SetFeedCursor(ctx, 42, t2); err != nil {
		t.Fatal(err)
	}
	if err := db.SetFeedCursor(ctx, 43, t2); err != nil {
		t.Fatal(err)
	}
	if seq, ok, err := db.FeedCursor(ctx); err != nil || !ok || seq != 43 {
		t.Fatalf("cursor %d %v %v", seq, ok, err)
	}
}
