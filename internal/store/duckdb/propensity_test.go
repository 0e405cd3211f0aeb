package duckdb

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/traits/propensity"
)

// A small workspace whose features were worked out by hand (calendar
// arithmetic checked with Python's datetime): cut-off 2024-03-01, label
// window [2024-03-01, 2024-05-30).
//
//	profile a (live) ← b merged into a ← d merged into b
//	  a: 2023-01-10 100 (lines p1×2, p2), 2024-02-15 50 (p1), 2024-02-20 999 cancelled (p7)
//	  b: 2023-12-01 30 (line without product id, name "Gift card")
//	  d: 2024-02-28 23:00 20 (line p9 returned), 2024-04-01 10 → label
//	  events: b 2024-02-10, a 2024-02-29, a 2024-01-30 (before the 30-day window)
//	e (live): 2024-01-01 40; 2024-03-10 refunded; 2024-05-30 00:00 (at the label end)
//	f (live): first order at the cut-off instant: not in the set
//	guest order (no profile) inside the label window: counts for nobody
func propensityWorkspace(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.SQL().ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, p := range [][2]any{{"a", nil}, {"b", "a"}, {"d", "b"}, {"e", nil}, {"f", nil}} {
		exec(`INSERT INTO profiles (id, merged_into, created_at, updated_at) VALUES (?, ?, ?, ?)`, p[0], p[1], now, now)
	}
	order := func(profile any, id, status string, total float64, at string) {
		ts, err := time.Parse(time.DateTime, at)
		if err != nil {
			t.Fatal(err)
		}
		exec(`INSERT INTO orders (profile_id, source_id, order_id, status, total, ordered_at, created_at, updated_at)
			VALUES (?, 'shop', ?, ?, ?, ?, ?, ?)`, profile, id, status, total, ts, now, now)
	}
	line := func(id string, no int, product, name, status string, qty float64) {
		exec(`INSERT INTO order_items (source_id, order_id, line_no, product_id, name, quantity, status)
			VALUES ('shop', ?, ?, ?, ?, ?, ?)`, id, no, product, name, qty, status)
	}
	order("a", "a1", "completed", 100, "2023-01-10 10:00:00")
	line("a1", 1, "p1", "Mug", "completed", 2)
	line("a1", 2, "p2", "Plate", "completed", 1)
	order("a", "a2", "completed", 50, "2024-02-15 09:00:00")
	line("a2", 1, "p1", "Mug", "completed", 1)
	order("a", "a3", "cancelled", 999, "2024-02-20 12:00:00")
	line("a3", 1, "p7", "Lamp", "cancelled", 1)
	order("b", "b1", "paid", 30, "2023-12-01 08:00:00")
	line("b1", 1, "", "Gift card", "paid", 1)
	order("d", "d1", "completed", 20, "2024-02-28 23:00:00")
	line("d1", 1, "p9", "Vase", "returned", 1)
	order("d", "d2", "completed", 10, "2024-04-01 10:00:00")
	order("e", "e1", "completed", 40, "2024-01-01 12:00:00")
	order("e", "e2", "refunded", 40, "2024-03-10 12:00:00")
	order("e", "e3", "completed", 40, "2024-05-30 00:00:00")
	order("f", "f1", "completed", 15, "2024-03-01 00:00:00")
	order(nil, "g1", "completed", 15, "2024-03-05 00:00:00")
	for i, ev := range [][2]string{{"b", "2024-02-10 10:00:00"}, {"a", "2024-02-29 10:00:00"}, {"a", "2024-01-30 10:00:00"}} {
		ts, _ := time.Parse(time.DateTime, ev[1])
		exec(`INSERT INTO events (seq, profile_id, source_id, message_id, dedup_hash, type, event, timestamp, received_at)
			VALUES (?, ?, 'web', ?, ?, 'track', 'Page Viewed', ?, ?)`, i+1, ev[0], "m"+ev[1], i, ts, ts)
	}
	return db
}

func TestPropensityExamplesHandComputed(t *testing.T) {
	db := propensityWorkspace(t)
	ctx := context.Background()
	cutoff := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	ex, err := db.PropensityExamples(ctx, cutoff, cutoff.AddDate(0, 0, 90))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		f     [propensity.NumFeatures]float64
		label bool
	}{
		// recency, frequency, monetary, tenure, 30d, 90d, 365d, aov, products, days between, events
		"a": {[propensity.NumFeatures]float64{2, 4, 200, 416, 2, 2, 3, 50, 3, 138, 2}, true},
		"e": {[propensity.NumFeatures]float64{60, 1, 40, 60, 0, 1, 1, 40, 0, 60, 0}, false},
	}
	if len(ex) != len(want) {
		t.Fatalf("%d examples %+v, want profiles a and e", len(ex), ex)
	}
	for _, e := range ex {
		w, ok := want[e.ProfileID]
		if !ok {
			t.Errorf("unexpected profile %s", e.ProfileID)
			continue
		}
		for j := range propensity.NumFeatures {
			if math.Abs(e.Features[j]-w.f[j]) > 1e-9 {
				t.Errorf("%s %s = %v, want %v", e.ProfileID, propensity.FeatureNames[j], e.Features[j], w.f[j])
			}
		}
		if e.Label != w.label {
			t.Errorf("%s label %v, want %v", e.ProfileID, e.Label, w.label)
		}
	}
	// A label window that ends at the cut-off labels nobody.
	ex, err = db.PropensityExamples(ctx, cutoff, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ex {
		if e.Label {
			t.Errorf("%s labelled with an empty window", e.ProfileID)
		}
	}
	span, err := db.PropensitySpan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 8 revenue orders of live profiles: a1 a2 b1 d1 d2 e1 e3 f1 (the guest,
	// cancelled and refunded orders are left out).
	if span.Orders != 8 || !span.First.Equal(time.Date(2023, 1, 10, 10, 0, 0, 0, time.UTC)) ||
		!span.Last.Equal(time.Date(2024, 5, 30, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("span %+v", span)
	}
	txns, err := db.PropensityTransactions(ctx, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	var forA int
	for _, tx := range txns {
		if tx.CustomerID == "a" {
			forA++
		}
	}
	if len(txns) != 5 || forA != 4 {
		t.Errorf("%d transactions before the cut-off (%d for a), want 5 (4 for a)", len(txns), forA)
	}
}

func TestPropensityEmptyWorkspace(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	span, err := db.PropensitySpan(ctx)
	if err != nil || span.Orders != 0 || !span.First.IsZero() {
		t.Fatalf("span %+v, %v", span, err)
	}
	ex, err := db.PropensityExamples(ctx, time.Now(), time.Now())
	if err != nil || len(ex) != 0 {
		t.Fatalf("%d examples, %v", len(ex), err)
	}
}

// Storing replaces the whole set: a profile left out loses its score, other
// score names are untouched.
func TestReplacePropensityScores(t *testing.T) {
	db := propensityWorkspace(t)
	ctx := context.Background()
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO profile_scores VALUES ('a', 'revenue', '200', ?)`, at); err != nil {
		t.Fatal(err)
	}
	first := []propensity.ProfileScore{
		{ProfileID: "a", Value: json.RawMessage(`{"p":0.7}`)},
		{ProfileID: "e", Value: json.RawMessage(`{"p":0.1}`)},
	}
	if err := db.ReplacePropensityScores(ctx, first, at); err != nil {
		t.Fatal(err)
	}
	if err := db.ReplacePropensityScores(ctx, first[:1], at); err != nil {
		t.Fatal(err)
	}
	sa, err := db.ProfileScores(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	se, err := db.ProfileScores(ctx, "e")
	if err != nil {
		t.Fatal(err)
	}
	if string(sa[propensity.ScoreName].Value) != `{"p":0.7}` || string(sa["revenue"].Value) != "200" || len(se) != 0 {
		t.Errorf("a %v, e %v", sa, se)
	}
	// A failing replace (a duplicate profile breaks the primary key) leaves
	// the previous set in place.
	dup := []propensity.ProfileScore{{ProfileID: "e", Value: json.RawMessage(`{"p":0.2}`)}, {ProfileID: "e", Value: json.RawMessage(`{"p":0.3}`)}}
	if err := db.ReplacePropensityScores(ctx, dup, at); err == nil {
		t.Fatal("duplicate profile accepted")
	}
	if sa, _ := db.ProfileScores(ctx, "a"); string(sa[propensity.ScoreName].Value) != `{"p":0.7}` {
		t.Errorf("after a failed replace a has %v", sa)
	}
	if se, _ := db.ProfileScores(ctx, "e"); len(se) != 0 {
		t.Errorf("after a failed replace e has %v", se)
	}
	if err := db.ReplacePropensityScores(ctx, nil, at); err != nil {
		t.Fatal(err)
	}
	if sa, _ = db.ProfileScores(ctx, "a"); len(sa) != 1 {
		t.Errorf("after an empty replace a has %v", sa)
	}
}
