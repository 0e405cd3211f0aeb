package duckdb_test

import (
	"context"
	"testing"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// testDB opens a fresh workspace in a temporary folder, closed when the test
// ends, and runs stmts in it (a statement that fails names itself).
func testDB(tb testing.TB, stmts ...string) *duckdb.DB {
	tb.Helper()
	db, err := duckdb.Open(context.Background(), tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	for _, q := range stmts {
		if _, err := db.SQL().Exec(q); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
	return db
}
