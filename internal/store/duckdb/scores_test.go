package duckdb_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
	"github.com/atrium-cdp/atrium/internal/traits"
)

type storedScore struct {
	value string
	at    time.Time
}

// storedScores reads every row of profile_scores, keyed by profile and name.
func storedScores(t *testing.T, db *duckdb.DB) map[[2]string]storedScore {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT profile_id, name, value, computed_at FROM profile_scores`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[[2]string]storedScore{}
	for rows.Next() {
		var p, n string
		var s storedScore
		if err := rows.Scan(&p, &n, &s.value, &s.at); err != nil {
			t.Fatal(err)
		}
		out[[2]string{p, n}] = s
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// formulaIndicators runs traits.IndicatorsSQL as a plain query: the rows a
// batch must leave stored, whatever way it writes them.
func formulaIndicators(t *testing.T, db *duckdb.DB, asOf time.Time) map[[2]string]string {
	t.Helper()
	rows, err := db.SQL().Query(traits.IndicatorsSQL, asOf, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[[2]string]string{}
	for rows.Next() {
		var p, n, v string
		var at time.Time
		if err := rows.Scan(&p, &n, &v, &at); err != nil {
			t.Fatal(err)
		}
		out[[2]string{p, n}] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A batch replaces the indicator rows, stale ones included, and leaves the
// rows other steps wrote (CLV, computed traits) as they were, run after run.
func TestRefreshIndicatorsReplacesOnlyIndicators(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := retailWorkspace(t)
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	// r17968 bought once, so it has no mean days between orders; rnone has
	// no order at all.
	for _, q := range []string{
		`INSERT INTO profiles (id, created_at, updated_at) VALUES ('rnone', TIMESTAMP '2010-01-01', TIMESTAMP '2010-01-01')`,
		`INSERT INTO profile_scores VALUES
			('r12748', 'clv', '123.45', TIMESTAMP '2020-01-02 03:04:05'),
			('rnone', 'vip_customer', 'true', TIMESTAMP '2020-01-02 03:04:05'),
			('rnone', 'revenue', '9.99', TIMESTAMP '2020-01-02 03:04:05'),
			('r17968', 'mean_days_between_orders', '3.5', TIMESTAMP '2020-01-02 03:04:05'),
			('r12748', 'revenue', '1', TIMESTAMP '2020-01-02 03:04:05')`,
	} {
		if _, err := db.SQL().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	others := map[[2]string]string{{"r12748", "clv"}: "123.45", {"rnone", "vip_customer"}: "true"}
	var last time.Time
	for run := range 2 {
		n, err := db.RefreshIndicators(ctx, retailAsOf)
		if err != nil {
			t.Fatal(err)
		}
		got, want := storedScores(t, db), formulaIndicators(t, db, retailAsOf)
		profiles := map[string]bool{}
		for k, v := range want {
			profiles[k[0]] = true
			if s, ok := got[k]; !ok || !sameValue(s.value, v) {
				t.Errorf("run %d: %v stored %q, formula %s", run, k, s.value, v)
			}
		}
		if n != len(profiles) || n < 3000 {
			t.Errorf("run %d: %d profiles, formula %d", run, n, len(profiles))
		}
		var stamps []time.Time
		for k, s := range got {
			if v, ok := others[k]; ok {
				if s.value != v || !s.at.Equal(old) {
					t.Errorf("run %d: %v = %q at %v, want %q at %v untouched", run, k, s.value, s.at, v, old)
				}
				continue
			}
			if _, ok := want[k]; !ok {
				t.Errorf("run %d: %v = %q left over", run, k, s.value)
			}
			if !slices.ContainsFunc(stamps, s.at.Equal) {
				stamps = append(stamps, s.at)
			}
		}
		if len(stamps) != 1 || !stamps[0].After(last) {
			t.Errorf("run %d: stamps %v, want one after %v", run, stamps, last)
		}
		last = stamps[0]
		for k := range others {
			if _, ok := got[k]; !ok {
				t.Errorf("run %d: %v deleted", run, k)
			}
		}
	}
	// A profile whose only order is cancelled loses every indicator.
	if _, err := db.SQL().Exec(`UPDATE orders SET status = 'cancelled' WHERE profile_id = 'r17968'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RefreshIndicators(ctx, retailAsOf); err != nil {
		t.Fatal(err)
	}
	for k, s := range storedScores(t, db) {
		if k[0] == "r17968" {
			t.Errorf("%v = %q kept after its order was cancelled", k, s.value)
		}
	}
}

// A batch that fails (here on another transaction's uncommitted change to
// one of its rows) leaves every stored row as it was.
func TestRefreshIndicatorsFailureKeepsRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := retailWorkspace(t)
	if _, err := db.RefreshIndicators(ctx, retailAsOf); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec(`INSERT INTO profile_scores VALUES ('r12748', 'clv', '123.45', TIMESTAMP '2020-01-02 03:04:05')`); err != nil {
		t.Fatal(err)
	}
	before := storedScores(t, db)
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{`BEGIN TRANSACTION`, `UPDATE profile_scores SET value = '0' WHERE profile_id = 'r12748' AND name = 'revenue'`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.RefreshIndicators(ctx, retailAsOf.AddDate(0, 0, 30)); err == nil {
		t.Fatal("refresh succeeded over another transaction's change")
	} else {
		t.Logf("refresh failed as it should: %v", err)
	}
	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	after := storedScores(t, db)
	if len(after) != len(before) {
		t.Errorf("%d rows after the failed refresh, %d before", len(after), len(before))
	}
	for k, s := range before {
		if a, ok := after[k]; !ok || a.value != s.value || !a.at.Equal(s.at) {
			t.Errorf("%v: %q at %v after the failed refresh, %q at %v before", k, a.value, a.at, s.value, s.at)
		}
	}
}
