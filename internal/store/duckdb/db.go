// Package duckdb is the embedded storage engine: one DuckDB file in the data
// folder, owned by one process. Writes go through one dedicated connection in
// batches (appender inside an explicit transaction); reads use the pool, which
// DuckDB's MVCC serves concurrently with the writer.
package duckdb

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" driver

	"github.com/atrium-cdp/atrium/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// FileName is the database file inside the data folder.
const FileName = "atrium.duckdb"

// DB is an open workspace. Safe for concurrent use; ApplyBatch and the other
// write methods are meant to be called from one goroutine (the ingest writer),
// the read methods from anywhere.
type DB struct {
	sql  *sql.DB
	path string
}

// Open opens (creating if needed) the workspace database in dir and applies
// pending migrations. It returns store.ErrLocked when another process holds it.
func Open(ctx context.Context, dir string) (*DB, error) {
	return OpenWith(ctx, dir, Options{})
}

// Options tune the engine. Zero values keep DuckDB's defaults.
type Options struct {
	// MemoryLimit caps DuckDB's buffer pool ("512MB", "2GB"); beyond it,
	// DuckDB evicts cached blocks and spills to temporary files.
	MemoryLimit string
}

// OpenWith is Open with engine options.
func OpenWith(ctx context.Context, dir string, o Options) (*DB, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	path := filepath.Join(dir, FileName)
	dsn := path
	if o.MemoryLimit != "" {
		if !validSize(o.MemoryLimit) {
			return nil, fmt.Errorf("memory limit %q: want a size such as 512MB or 2GB", o.MemoryLimit)
		}
		dsn += "?memory_limit=" + o.MemoryLimit
	}
	db, err := sql.Open("duckdb", dsn)
	if err == nil {
		if err = db.PingContext(ctx); err != nil {
			db.Close()
		}
	}
	if err != nil {
		if strings.Contains(err.Error(), "Could not set lock") || strings.Contains(err.Error(), "Conflicting lock") {
			return nil, fmt.Errorf("open %s: %w", path, store.ErrLocked)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// DuckDB checkpoints when the WAL passes this size, inside the commit
	// that crossed it. At the 16 MB default a steady ingest checkpoints every
	// ~20,000 events and rewrites the table's last, partly filled row group
	// each time; a larger WAL lets each checkpoint write whole row groups.
	if _, err := db.ExecContext(ctx, "SET checkpoint_threshold = '256MB'"); err != nil {
		db.Close()
		return nil, fmt.Errorf("configure %s: %w", path, err)
	}
	d := &DB{sql: db, path: path}
	if err := d.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// Exists reports whether dir already holds a workspace database.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, FileName))
	return err == nil
}

// Close checkpoints and closes the database.
func (d *DB) Close() error {
	_, _ = d.sql.Exec("CHECKPOINT")
	return d.sql.Close()
}

// SQL exposes the pool to engine-aware code in this module (benchmarks, tests).
func (d *DB) SQL() *sql.DB { return d.sql }

// Path is the database file.
func (d *DB) Path() string { return d.path }

// migrate applies the embedded migrations not yet recorded, each in its own
// transaction, in version order.
func (d *DB) migrate(ctx context.Context) error {
	if _, err := d.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		name := e.Name()
		version, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with its number", name)
		}
		var n int
		if err := d.sql.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
			return fmt.Errorf("read migrations: %w", err)
		}
		if n > 0 {
			continue
		}
		body, err := migrationFiles.ReadFile("migrations/" + name)
		if err != nil {
			return err
		}
		tx, err := d.sql.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, ?)`, version, name, time.Now().UTC()); err != nil {
			tx.Rollback()
			return fmt.Errorf("record migration %s: %w", name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit migration %s: %w", name, err)
		}
	}
	return nil
}

// SchemaVersion returns the highest applied migration.
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := d.sql.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), err
}

// Ping checks the database answers (readiness).
func (d *DB) Ping(ctx context.Context) error {
	var one int
	return d.sql.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// ValidSize reports whether s is a memory size DuckDB accepts, such as
// 256MB, 1.5GB or 512MiB.
func ValidSize(s string) bool { return validSize(s) }

func validSize(s string) bool {
	num := strings.TrimRight(s, "KMGTiBkmgtib")
	unit := strings.ToUpper(s[len(num):])
	if _, err := strconv.ParseFloat(num, 64); err != nil || num == "" {
		return false
	}
	switch unit {
	case "KB", "MB", "GB", "TB", "KIB", "MIB", "GIB", "TIB":
		return true
	}
	return false
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func jsonText(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}
