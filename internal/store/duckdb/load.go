package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
)

// The loaders below rebuild the ingest writer's in-memory state at start and
// fetch what one batch needs. They read committed data only.

// EachProfileNode calls fn for every profile that has not been merged away.
func (d *DB) EachProfileNode(ctx context.Context, fn func(store.ProfileNode)) error {
	rows, err := d.sql.QueryContext(ctx, `SELECT id, identified, created_at FROM profiles WHERE merged_into IS NULL`)
	if err != nil {
		return fmt.Errorf("load profiles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n store.ProfileNode
		if err := rows.Scan(&n.ID, &n.Identified, &n.CreatedAt); err != nil {
			return err
		}
		fn(n)
	}
	return rows.Err()
}

// EachIdentity calls fn for every identity row.
func (d *DB) EachIdentity(ctx context.Context, fn func(store.IdentityRow)) error {
	rows, err := d.sql.QueryContext(ctx, `SELECT type, value, profile_id, display, source_id, first_seen_at FROM identities`)
	if err != nil {
		return fmt.Errorf("load identities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r store.IdentityRow
		if err := rows.Scan(&r.Type, &r.Value, &r.ProfileID, &r.Display, &r.SourceID, &r.FirstSeenAt); err != nil {
			return err
		}
		fn(r)
	}
	return rows.Err()
}

// EachDedupHash calls fn with every stored event's dedup hash.
func (d *DB) EachDedupHash(ctx context.Context, fn func(hash int64)) error {
	rows, err := d.sql.QueryContext(ctx, `SELECT dedup_hash FROM events`)
	if err != nil {
		return fmt.Errorf("load dedup hashes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h int64
		if err := rows.Scan(&h); err != nil {
			return err
		}
		fn(h)
	}
	return rows.Err()
}

// StoredMessageIDs returns, among events with the given dedup hashes, the
// (source id, message id) pairs already stored, as "source\x00message" keys.
func (d *DB) StoredMessageIDs(ctx context.Context, hashes []int64) (map[string]bool, error) {
	out := map[string]bool{}
	if len(hashes) == 0 {
		return out, nil
	}
	rows, err := d.sql.QueryContext(ctx, `SELECT source_id, message_id FROM events WHERE dedup_hash IN (SELECT unnest(?::BIGINT[]))`, hashes)
	if err != nil {
		return nil, fmt.Errorf("check duplicates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s, m string
		if err := rows.Scan(&s, &m); err != nil {
			return nil, err
		}
		out[s+"\x00"+m] = true
	}
	return out, rows.Err()
}

// MaxSeq returns the highest event sequence number stored (0 when none).
func (d *DB) MaxSeq(ctx context.Context) (int64, error) {
	var v sql.NullInt64
	err := d.sql.QueryRowContext(ctx, `SELECT max(seq) FROM events`).Scan(&v)
	return v.Int64, err
}

// ProfileRows loads the stored state of the given profiles (missing ids are skipped).
func (d *DB) ProfileRows(ctx context.Context, ids []string) (map[string]store.ProfileRow, error) {
	out := make(map[string]store.ProfileRow, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := d.sql.QueryContext(ctx, `SELECT id, coalesce(merged_into, ''), identified, traits, trait_meta, normalized, created_at, updated_at
		FROM profiles WHERE id IN (SELECT unnest(?::VARCHAR[]))`, ids)
	if err != nil {
		return nil, fmt.Errorf("load profiles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p store.ProfileRow
		var traits, meta, norm string
		if err := rows.Scan(&p.ID, &p.MergedInto, &p.Identified, &traits, &meta, &norm, &p.CreatedAt, &p.UpdatedAt); err != nil {
			return nil, err
		}
		p.Traits, p.TraitMeta, p.Normalized = json.RawMessage(traits), json.RawMessage(meta), json.RawMessage(norm)
		out[p.ID] = p
	}
	return out, rows.Err()
}

// LatestConsents returns the last ledger row per (profile, purpose) for the given profiles.
//
// The last row is the tip of the (profile, purpose) hash chain: the row no
// other row names as its previous. Ordering by recorded_at alone could not
// tell apart the rows of one commit, which share it, so two decisions in one
// request showed the wrong state and the next row forked the chain.
func (d *DB) LatestConsents(ctx context.Context, profileIDs []string) (map[string]map[string]store.ConsentState, error) {
	out := map[string]map[string]store.ConsentState{}
	if len(profileIDs) == 0 {
		return out, nil
	}
	rows, err := d.sql.QueryContext(ctx, `SELECT profile_id, purpose, status, coalesce(channel, ''), source_id, coalesce(message_id, ''), occurred_at, hash
		FROM consents c WHERE profile_id IN (SELECT unnest(?::VARCHAR[]))
		AND NOT EXISTS (SELECT 1 FROM consents n WHERE n.profile_id = c.profile_id AND n.purpose = c.purpose AND n.prev_hash = c.hash)
		QUALIFY row_number() OVER (PARTITION BY profile_id, purpose ORDER BY recorded_at DESC, occurred_at DESC) = 1`, profileIDs)
	if err != nil {
		return nil, fmt.Errorf("load consents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pid string
		var c store.ConsentState
		var status string
		if err := rows.Scan(&pid, &c.Purpose, &status, &c.Channel, &c.SourceID, &c.MessageID, &c.At, &c.Hash); err != nil {
			return nil, err
		}
		c.Status = model.ConsentStatus(status)
		if out[pid] == nil {
			out[pid] = map[string]store.ConsentState{}
		}
		out[pid][c.Purpose] = c
	}
	return out, rows.Err()
}

// Merge returns one merge record, or store.ErrNotFound.
func (d *DB) Merge(ctx context.Context, id string) (model.Merge, error) {
	rows, err := d.sql.QueryContext(ctx, mergeSelect+` WHERE id = ?`, id)
	if err != nil {
		return model.Merge{}, fmt.Errorf("read merge: %w", err)
	}
	ms, err := scanMerges(rows)
	if err != nil {
		return model.Merge{}, err
	}
	if len(ms) == 0 {
		return model.Merge{}, fmt.Errorf("merge %q: %w", id, store.ErrNotFound)
	}
	return ms[0], nil
}

const mergeSelect = `SELECT id, survivor_id, merged_id, rule, evidence, coalesce(message_id, ''), actor, created_at, undone_at, undo FROM merges`

func scanMerges(rows *sql.Rows) ([]model.Merge, error) {
	defer rows.Close()
	var out []model.Merge
	for rows.Next() {
		var m model.Merge
		var evidence, undo string
		var undone sql.NullTime
		if err := rows.Scan(&m.ID, &m.SurvivorID, &m.MergedID, &m.Rule, &evidence, &m.MessageID, &m.Actor, &m.CreatedAt, &undone, &undo); err != nil {
			return nil, err
		}
		m.Evidence, m.Undo = json.RawMessage(evidence), json.RawMessage(undo)
		if undone.Valid {
			t := undone.Time.UTC()
			m.UndoneAt = &t
		}
		m.CreatedAt = m.CreatedAt.UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}
