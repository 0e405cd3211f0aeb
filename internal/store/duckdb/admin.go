package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
)

func sortConsents(cs []store.ConsentState) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].Purpose < cs[j].Purpose })
}

// CreateSource stores a new source. A taken name is store.ErrConflict.
func (d *DB) CreateSource(ctx context.Context, s store.Source) error {
	_, err := d.sql.ExecContext(ctx, `INSERT INTO sources (id, name, kind, write_key, created_at) VALUES (?, ?, ?, ?, ?)`,
		s.ID, s.Name, s.Kind, s.WriteKey, s.CreatedAt.UTC())
	if err != nil && isConstraint(err) {
		return fmt.Errorf("a source named %q already exists: %w", s.Name, store.ErrConflict)
	}
	return err
}

// Sources lists every source, revoked ones included.
func (d *DB) Sources(ctx context.Context) ([]store.Source, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT id, name, kind, write_key, created_at, revoked_at FROM sources ORDER BY created_at, name`)
	if err != nil {
		return nil, fmt.Errorf("list sources: %w", err)
	}
	defer rows.Close()
	out := []store.Source{}
	for rows.Next() {
		var s store.Source
		var rev sql.NullTime
		if err := rows.Scan(&s.ID, &s.Name, &s.Kind, &s.WriteKey, &s.CreatedAt, &rev); err != nil {
			return nil, err
		}
		if rev.Valid {
			t := rev.Time.UTC()
			s.RevokedAt = &t
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// RevokeSource revokes a source by id or name; its write key stops working.
func (d *DB) RevokeSource(ctx context.Context, idOrName string, at time.Time) error {
	res, err := d.sql.ExecContext(ctx, `UPDATE sources SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL`, at.UTC(), idOrName, idOrName)
	if err != nil {
		return fmt.Errorf("revoke source: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("source %q: %w", idOrName, store.ErrNotFound)
	}
	return nil
}

// CreateToken stores a token's hash.
func (d *DB) CreateToken(ctx context.Context, t store.Token, hash string) error {
	_, err := d.sql.ExecContext(ctx, `INSERT INTO api_tokens (id, name, token_hash, role, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.ID, t.Name, hash, t.Role, t.CreatedAt.UTC())
	return err
}

// Tokens lists token metadata.
func (d *DB) Tokens(ctx context.Context) ([]store.Token, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT id, name, role, created_at, revoked_at FROM api_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []store.Token{}
	for rows.Next() {
		var t store.Token
		var rev sql.NullTime
		if err := rows.Scan(&t.ID, &t.Name, &t.Role, &t.CreatedAt, &rev); err != nil {
			return nil, err
		}
		if rev.Valid {
			r := rev.Time.UTC()
			t.RevokedAt = &r
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a token by id.
func (d *DB) RevokeToken(ctx context.Context, id string, at time.Time) error {
	res, err := d.sql.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, at.UTC(), id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// TokenByHash returns the live token with that hash, or store.ErrNotFound.
func (d *DB) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	var t store.Token
	err := d.sql.QueryRowContext(ctx, `SELECT id, name, role, created_at FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL`, hash).
		Scan(&t.ID, &t.Name, &t.Role, &t.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return t, store.ErrNotFound
	}
	return t, err
}

// Setting reads one workspace setting's JSON value, or store.ErrNotFound.
func (d *DB) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := d.sql.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("setting %q: %w", key, store.ErrNotFound)
	}
	return v, err
}

// PutSetting writes one workspace setting.
func (d *DB) PutSetting(ctx context.Context, key, value string, at time.Time) error {
	_, err := d.sql.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, at.UTC())
	return err
}

func isConstraint(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Constraint Error") || strings.Contains(s, "constraint")
}
