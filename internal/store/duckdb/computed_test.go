package duckdb_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
	"github.com/atrium-cdp/atrium/internal/traits/computed"
)

// computedDB is a workspace with a merge chain c → b → a (c merged into b,
// b into a), a live profile d, and one order per profile.
func computedDB(t *testing.T) *duckdb.DB {
	t.Helper()
	return testDB(t,
		`INSERT INTO profiles (id, merged_into, created_at, updated_at) VALUES
			('a', NULL, now(), now()), ('b', 'a', now(), now()), ('c', 'b', now(), now()), ('d', NULL, now(), now())`,
		`INSERT INTO orders (profile_id, source_id, order_id, status, total, ordered_at, created_at, updated_at) VALUES
			('a', 's', 'o1', 'completed', 1, '2024-01-01', now(), now()),
			('b', 's', 'o2', 'completed', 2, '2024-01-02', now(), now()),
			('c', 's', 'o3', 'completed', 4, '2024-01-03', now(), now()),
			('d', 's', 'o4', 'completed', 8, '2024-01-04', now(), now())`,
	)
}

func scoreRows(t *testing.T, db *duckdb.DB, name string) map[string]string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT profile_id, value FROM profile_scores WHERE name = ?`, name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, v string
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		out[id] = v
	}
	return out
}

var sumTotal = computed.Definition{Name: "spend", Aggregate: "sum", Over: "orders", Value: "total"}

func TestComputedTraitsFollowMergeChains(t *testing.T) {
	ctx := context.Background()
	db := computedDB(t)
	asOf := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	q, _ := computed.Compile(sumTotal, false)
	if _, err := db.SaveComputedTraits(ctx, []computed.Definition{sumTotal}, []computed.Query{q}, asOf, asOf); err != nil {
		t.Fatal(err)
	}
	// a holds its own order and those of b and c (c → b → a): 1 + 2 + 4.
	if got := scoreRows(t, db, "spend"); !reflect.DeepEqual(got, map[string]string{"a": "7.0", "d": "8.0"}) {
		t.Fatalf("batch: %v", got)
	}
	// A stale row on the merged-away c, and a new order of c: touching c
	// alone recomputes a (its chain's root) and clears c.
	if _, err := db.SQL().Exec(`INSERT INTO profile_scores VALUES ('c', 'spend', '99', now());
		INSERT INTO orders (profile_id, source_id, order_id, status, total, ordered_at, created_at, updated_at)
		VALUES ('c', 's', 'o5', 'completed', 16, '2024-01-05', now(), now())`); err != nil {
		t.Fatal(err)
	}
	scoped, _ := computed.Compile(sumTotal, true)
	n, err := db.RefreshComputedTraits(ctx, []computed.Query{scoped}, []string{"c"}, asOf, asOf.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n["spend"] != 1 {
		t.Errorf("incremental wrote %d rows, want 1 (a)", n["spend"])
	}
	if got := scoreRows(t, db, "spend"); !reflect.DeepEqual(got, map[string]string{"a": "23.0", "d": "8.0"}) {
		t.Errorf("incremental: %v", got)
	}
	// A batch statement cannot run as an incremental one and vice versa.
	if _, err := db.RefreshComputedTraits(ctx, []computed.Query{q}, []string{"c"}, asOf, asOf); err == nil {
		t.Error("a batch statement ran in incremental mode")
	}
	profiles, err := db.OrderProfiles(ctx, "s", []string{"o3", "o4", "nope"})
	if err != nil || !reflect.DeepEqual(profiles, []string{"c", "d"}) {
		t.Errorf("OrderProfiles = %v (%v)", profiles, err)
	}
}

// A refresh that fails on its second definition leaves the first one's
// values as they were: one transaction.
func TestComputedRefreshIsAtomic(t *testing.T) {
	ctx := context.Background()
	db := computedDB(t)
	asOf := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	q, _ := computed.Compile(sumTotal, false)
	if _, err := db.SaveComputedTraits(ctx, []computed.Definition{sumTotal}, []computed.Query{q}, asOf, asOf); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec(`UPDATE orders SET total = 100 WHERE order_id = 'o4'`); err != nil {
		t.Fatal(err)
	}
	broken := computed.Query{Name: "broken", SQL: "SELECT no_such_column FROM profiles"}
	if _, err := db.RefreshComputedTraits(ctx, []computed.Query{q, broken}, nil, asOf, asOf); err == nil {
		t.Fatal("the broken statement succeeded")
	}
	if got := scoreRows(t, db, "spend"); got["d"] != "8.0" {
		t.Errorf("after a failed refresh d = %s, want the old 8.0", got["d"])
	}
	// Saving a definition that fails to compute stores nothing either.
	bad := computed.Definition{Name: "bad", Aggregate: "count", Over: "orders"}
	if _, err := db.SaveComputedTraits(ctx, []computed.Definition{bad}, []computed.Query{broken}, asOf, asOf); err == nil {
		t.Fatal("saved with a broken statement")
	}
	if _, err := db.ComputedTrait(ctx, "bad"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the failed definition was kept: %v", err)
	}
	if err := db.DeleteComputedTrait(ctx, "bad"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete of a missing trait: %v", err)
	}
	list, err := db.ComputedTraits(ctx)
	if err != nil || len(list) != 1 || list[0].Definition.Name != "spend" || list[0].RefreshedAt == nil || list[0].Profiles != 2 {
		t.Errorf("list %+v (%v)", list, err)
	}
}
