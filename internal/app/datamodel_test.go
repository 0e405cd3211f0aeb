package app_test

// The data model's registries: personal-data tables and migrations.

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// Every table with a profile_id column is registered in store.PersonalData
// (so erasure and access exports reach it), and every registered table and
// column exists.
func TestEveryProfileTableIsPersonalData(t *testing.T) {
	t.Parallel()
	db, err := duckdb.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	columns := map[string][]string{}
	rows, err := db.SQL().Query(`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tbl, col string
		if err := rows.Scan(&tbl, &col); err != nil {
			t.Fatal(err)
		}
		columns[tbl] = append(columns[tbl], col)
	}
	rows.Close()
	registered := map[string]string{}
	for _, p := range store.PersonalData {
		registered[p.Table] = p.ProfileColumn
	}
	for tbl, cols := range columns {
		if slices.Contains(cols, "profile_id") {
			if _, ok := registered[tbl]; !ok {
				t.Errorf("table %s has a profile_id column but is not in store.PersonalData", tbl)
			}
		}
	}
	for tbl, col := range registered {
		cols, ok := columns[tbl]
		if !ok {
			t.Errorf("store.PersonalData names %s, which does not exist", tbl)
			continue
		}
		if col != "" && !slices.Contains(cols, col) {
			t.Errorf("store.PersonalData ties %s by %s, which it does not have", tbl, col)
		}
	}
	if len(columns) < 10 {
		t.Errorf("only %d tables found; the query is wrong", len(columns))
	}
}

// Migrations are recorded one row each; re-opening applies nothing twice and
// keeps the data.
func TestMigrationsAppliedOnce(t *testing.T) {
	t.Parallel()
	files, err := os.ReadDir("../store/duckdb/migrations")
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	for _, f := range files {
		if strings.HasSuffix(f.Name(), ".sql") {
			v, err := strconv.Atoi(strings.SplitN(f.Name(), "_", 2)[0])
			if err != nil {
				t.Fatalf("migration %s has no number", f.Name())
			}
			want = append(want, v)
		}
	}
	slices.Sort(want)
	dir := t.TempDir()
	ctx := context.Background()
	type rec struct {
		version int
		name    string
		at      time.Time
	}
	read := func(db *duckdb.DB) []rec {
		rows, err := db.SQL().Query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []rec
		for rows.Next() {
			var r rec
			if err := rows.Scan(&r.version, &r.name, &r.at); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	db, err := duckdb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	first := read(db)
	if err := db.PutSetting(ctx, "marker", `"kept"`, time.Now()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	var got []int
	for _, r := range first {
		got = append(got, r.version)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("schema_migrations holds versions %v, want %v (one per file)", got, want)
	}

	for i := 0; i < 2; i++ {
		db, err = duckdb.Open(ctx, dir)
		if err != nil {
			t.Fatalf("re-open %d: %v", i+1, err)
		}
		again := read(db)
		if len(again) != len(first) {
			t.Fatalf("re-open %d: %d migration rows, want %d", i+1, len(again), len(first))
		}
		for j := range again {
			if again[j] != first[j] && !(again[j].version == first[j].version && again[j].at.Equal(first[j].at)) {
				t.Errorf("re-open %d: migration %d re-applied (%v, was %v)", i+1, first[j].version, again[j], first[j])
			}
		}
		if v, err := db.Setting(ctx, "marker"); err != nil || v != `"kept"` {
			t.Errorf("re-open %d: data lost: %q %v", i+1, v, err)
		}
		if v, err := db.SchemaVersion(ctx); err != nil || v != want[len(want)-1] {
			t.Errorf("schema version %d %v, want %d", v, err, want[len(want)-1])
		}
		db.Close()
	}
}
