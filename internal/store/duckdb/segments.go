package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
)

// Segment SQL. A compiled rule (package segments/rule: parameterised SQL
// built from an allow-list, never from user text) is materialised once per
// evaluation into the temporary table seg_eval; every other statement reads
// that table with its own parameters.
const (
	segColumns = `id, name, coalesce(description, ''), definition, coalesce(rule_json, '{}'), coalesce(time_zone, 'UTC'),
		coalesce(status, 'pending'), coalesce(size, 0), last_computed_at, coalesce(last_error, ''), coalesce(retries, 0),
		next_retry_at, created_at, updated_at`
	segInsert = `INSERT INTO segments (id, name, description, definition, rule_json, time_zone, status, size, last_error, retries,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, '', 0, ?, ?)`
	// segUpdate changes the definition and makes the segment due at once.
	segUpdate = `UPDATE segments SET name = ?, description = ?, definition = ?, rule_json = ?, time_zone = ?,
		status = 'pending', retries = 0, next_retry_at = NULL, updated_at = ? WHERE id = ?`
	segByID   = `SELECT ` + segColumns + ` FROM segments WHERE id = ?`
	segByName = `SELECT ` + segColumns + ` FROM segments WHERE name = ?`
	segAll    = `SELECT ` + segColumns + ` FROM segments ORDER BY name`

	segEvalTable  = `CREATE OR REPLACE TEMP TABLE seg_eval AS SELECT DISTINCT profile_id FROM (%s) q`
	segScopeTable = `CREATE OR REPLACE TEMP TABLE seg_scope AS SELECT DISTINCT unnest(?::VARCHAR[]) AS profile_id`
	segDropTemp   = `DROP TABLE IF EXISTS seg_eval; DROP TABLE IF EXISTS seg_scope`
	// segLeaving selects the open rows that end: members no longer matching
	// (within the scope of an incremental evaluation).
	segLeaving = `segment_id = ? AND exited_at IS NULL AND profile_id NOT IN (SELECT profile_id FROM seg_eval)`
	segInScope = ` AND profile_id IN (SELECT profile_id FROM seg_scope)`
	// segArriving selects the matching profiles without an open row.
	segArriving = `FROM seg_eval e WHERE e.profile_id NOT IN
		(SELECT profile_id FROM segment_memberships WHERE segment_id = ? AND exited_at IS NULL)`
	segMaxSeq     = `SELECT coalesce(max(seq), 0) FROM segment_changes`
	segOpenCount  = `SELECT count(*) FROM segment_memberships WHERE segment_id = ? AND exited_at IS NULL`
	segComputedOK = `UPDATE segments SET status = 'ok', size = ?, last_computed_at = ?, last_error = '', retries = 0,
		next_retry_at = NULL WHERE id = ?`
	segSizeOnly  = `UPDATE segments SET size = ? WHERE id = ?`
	segSizeAdd   = `INSERT INTO segment_sizes VALUES (?, ?, ?, ?, ?, ?)`
	segFailed    = `UPDATE segments SET status = 'error', last_error = ?, retries = ?, next_retry_at = ? WHERE id = ?`
	segExitAll   = `INSERT INTO segment_changes (segment_id, profile_id, kind, changed_at) SELECT segment_id, profile_id, 'exit', ? FROM segment_memberships WHERE segment_id = ? AND exited_at IS NULL ORDER BY profile_id`
	segDelMember = `DELETE FROM segment_memberships WHERE segment_id = ?`
	segDelSizes  = `DELETE FROM segment_sizes WHERE segment_id = ?`
	segDelete    = `DELETE FROM segments WHERE id = ?`
	segSizes     = `SELECT computed_at, size, entered, exited, duration_ms FROM segment_sizes WHERE segment_id = ?
		ORDER BY computed_at DESC LIMIT ?`
	segMembers = `SELECT profile_id, entered_at FROM segment_memberships WHERE segment_id = ? AND exited_at IS NULL
		AND profile_id > ? ORDER BY profile_id LIMIT ?`
	segIsMember = `SELECT profile_id, entered_at FROM segment_memberships WHERE segment_id = ? AND exited_at IS NULL
		AND profile_id = ?`
	segOverlap = `WITH a AS (SELECT DISTINCT profile_id FROM segment_memberships WHERE segment_id = ? AND exited_at IS NULL),
		b AS (SELECT DISTINCT profile_id FROM segment_memberships WHERE segment_id = ? AND exited_at IS NULL)
		SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b), (SELECT count(*) FROM a JOIN b USING (profile_id))`
	segChanges = `SELECT seq, segment_id, profile_id, kind, changed_at FROM segment_changes WHERE seq > ? ORDER BY seq LIMIT ?`
	segCount   = `SELECT count(*) FROM (%s) q`
	segSample  = `SELECT p.id, p.traits, p.normalized FROM profiles p WHERE p.id IN (SELECT profile_id FROM (%s) q)
		ORDER BY p.id LIMIT %d`
	// segExport reads current members with what an export needs. The
	// consent of a purpose is the newest decision recorded on the member or
	// on any profile merged into it (ledger order: occurred_at, recorded_at).
	segExport = `WITH RECURSIVE m AS (SELECT profile_id FROM segment_memberships WHERE segment_id = ? AND exited_at IS NULL),
		chain(id, root) AS (SELECT profile_id, profile_id FROM m
			UNION ALL SELECT p.id, c.root FROM profiles p JOIN chain c ON p.merged_into = c.id),
		consent AS (SELECT c.root AS profile_id, first(k.status ORDER BY k.occurred_at DESC, k.recorded_at DESC) AS status
			FROM consents k JOIN chain c ON c.id = k.profile_id WHERE k.purpose = ? GROUP BY c.root)
		SELECT p.id, p.traits, p.normalized, coalesce(consent.status, '')%s
		FROM m JOIN profiles p ON p.id = m.profile_id LEFT JOIN consent ON consent.profile_id = p.id
		ORDER BY p.id`
	segExportScore = `, (SELECT s.value FROM profile_scores s WHERE s.profile_id = p.id AND s.name = ?)`
)

// CreateSegment stores a new segment (status pending). A taken name is
// store.ErrConflict.
func (d *DB) CreateSegment(ctx context.Context, s store.SegmentRow) error {
	if _, err := d.SegmentByName(ctx, s.Name); err == nil {
		return fmt.Errorf("segment %q already exists: %w", s.Name, store.ErrConflict)
	}
	_, err := d.sql.ExecContext(ctx, segInsert, s.ID, s.Name, s.Description, s.Rule, string(s.RuleJSON), s.TimeZone,
		s.CreatedAt.UTC(), s.UpdatedAt.UTC())
	if err != nil {
		if isConstraint(err) {
			return fmt.Errorf("segment %q already exists: %w", s.Name, store.ErrConflict)
		}
		return fmt.Errorf("create segment: %w", err)
	}
	return nil
}

// UpdateSegment replaces a segment's definition and makes it due for
// computation. store.ErrNotFound when the id is unknown, ErrConflict when the
// new name is taken.
func (d *DB) UpdateSegment(ctx context.Context, s store.SegmentRow) error {
	if o, err := d.SegmentByName(ctx, s.Name); err == nil && o.ID != s.ID {
		return fmt.Errorf("segment %q already exists: %w", s.Name, store.ErrConflict)
	}
	res, err := d.sql.ExecContext(ctx, segUpdate, s.Name, s.Description, s.Rule, string(s.RuleJSON), s.TimeZone, s.UpdatedAt.UTC(), s.ID)
	if err != nil {
		if isConstraint(err) {
			return fmt.Errorf("segment %q already exists: %w", s.Name, store.ErrConflict)
		}
		return fmt.Errorf("update segment: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("segment %q: %w", s.ID, store.ErrNotFound)
	}
	return nil
}

// DeleteSegment removes a segment, its membership rows and its size history
// in one transaction; its current members get an exit in the change feed
// (so a destination learns they left). It returns how many were members.
func (d *DB) DeleteSegment(ctx context.Context, id string, at time.Time) (int64, error) {
	var n int64
	err := d.inTx(ctx, func(conn *sql.Conn) error {
		res, err := conn.ExecContext(ctx, segDelete, id)
		if err != nil {
			return fmt.Errorf("delete segment: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return fmt.Errorf("segment %q: %w", id, store.ErrNotFound)
		}
		res, err = conn.ExecContext(ctx, segExitAll, at.UTC(), id)
		if err != nil {
			return fmt.Errorf("record exits: %w", err)
		}
		n, _ = res.RowsAffected()
		for _, q := range []string{segDelMember, segDelSizes} {
			if _, err := conn.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("delete segment rows: %w", err)
			}
		}
		return nil
	})
	return n, err
}

// Segments lists every segment by name.
func (d *DB) Segments(ctx context.Context) ([]store.SegmentRow, error) {
	rows, err := d.sql.QueryContext(ctx, segAll)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	defer rows.Close()
	var out []store.SegmentRow
	for rows.Next() {
		s, err := scanSegment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SegmentByID returns one segment or store.ErrNotFound.
func (d *DB) SegmentByID(ctx context.Context, id string) (store.SegmentRow, error) {
	return d.oneSegment(ctx, segByID, id)
}

// SegmentByName returns one segment or store.ErrNotFound.
func (d *DB) SegmentByName(ctx context.Context, name string) (store.SegmentRow, error) {
	return d.oneSegment(ctx, segByName, name)
}

func (d *DB) oneSegment(ctx context.Context, q, key string) (store.SegmentRow, error) {
	s, err := scanSegment(d.sql.QueryRowContext(ctx, q, key))
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("segment %q: %w", key, store.ErrNotFound)
	}
	return s, err
}

type scanner interface{ Scan(dest ...any) error }

func scanSegment(r scanner) (store.SegmentRow, error) {
	var s store.SegmentRow
	var ruleJSON string
	var last, next sql.NullTime
	err := r.Scan(&s.ID, &s.Name, &s.Description, &s.Rule, &ruleJSON, &s.TimeZone, &s.Status, &s.Size, &last,
		&s.LastError, &s.Retries, &next, &s.CreatedAt, &s.UpdatedAt)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return s, err
		}
		return s, fmt.Errorf("read segment: %w", err)
	}
	s.RuleJSON = json.RawMessage(ruleJSON)
	if last.Valid {
		t := last.Time.UTC()
		s.LastComputedAt = &t
	}
	if next.Valid {
		t := next.Time.UTC()
		s.NextRetryAt = &t
	}
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return s, nil
}

// ApplySegment evaluates e and brings the segment's memberships in line in
// ONE transaction: open rows of profiles that no longer match get exited_at,
// matching profiles without an open row get a new row, and each of these
// enters and exits is appended to the change feed. Readers see the old
// memberships or the new ones, never a half. Calls must not overlap for the
// same segment (the segments service serialises them).
func (d *DB) ApplySegment(ctx context.Context, e store.SegmentEval) (store.SegmentApplied, error) {
	var out store.SegmentApplied
	at := e.At.UTC()
	err := d.inTx(ctx, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(segEvalTable, e.SQL), e.Args...); err != nil {
			return fmt.Errorf("evaluate rule: %w", err)
		}
		leaving := segLeaving
		if e.Only {
			scope := append(append([]string{}, e.Candidates...), e.Gone...)
			if _, err := conn.ExecContext(ctx, segScopeTable, scope); err != nil {
				return fmt.Errorf("evaluation scope: %w", err)
			}
			leaving += segInScope
		}
		var before int64
		if err := conn.QueryRowContext(ctx, segMaxSeq).Scan(&before); err != nil {
			return fmt.Errorf("read change feed: %w", err)
		}
		steps := []struct {
			q    string
			args []any
			n    *int64
		}{
			{`INSERT INTO segment_changes (segment_id, profile_id, kind, changed_at) SELECT segment_id, profile_id, 'exit', ?
				FROM segment_memberships WHERE ` + leaving + ` ORDER BY profile_id`, []any{at, e.SegmentID}, &out.Exited},
			{`UPDATE segment_memberships SET exited_at = ? WHERE ` + leaving, []any{at, e.SegmentID}, nil},
			{`INSERT INTO segment_changes (segment_id, profile_id, kind, changed_at) SELECT ?, e.profile_id, 'enter', ? ` +
				segArriving + ` ORDER BY e.profile_id`, []any{e.SegmentID, at, e.SegmentID}, &out.Entered},
			{`INSERT INTO segment_memberships (profile_id, segment_id, entered_at, exited_at) SELECT e.profile_id, ?, ?, NULL ` +
				segArriving, []any{e.SegmentID, at, e.SegmentID}, nil},
		}
		for _, s := range steps {
			res, err := conn.ExecContext(ctx, s.q, s.args...)
			if err != nil {
				return fmt.Errorf("apply memberships: %w", err)
			}
			if s.n != nil {
				*s.n, _ = res.RowsAffected()
			}
		}
		if out.Entered+out.Exited > 0 {
			out.FirstSeq = before + 1
			if err := conn.QueryRowContext(ctx, segMaxSeq).Scan(&out.LastSeq); err != nil {
				return fmt.Errorf("read change feed: %w", err)
			}
		}
		if err := conn.QueryRowContext(ctx, segOpenCount, e.SegmentID).Scan(&out.Size); err != nil {
			return fmt.Errorf("count members: %w", err)
		}
		if e.Full {
			if _, err := conn.ExecContext(ctx, segComputedOK, out.Size, at, e.SegmentID); err != nil {
				return fmt.Errorf("record computation: %w", err)
			}
			dur := time.Since(e.Started).Milliseconds()
			if _, err := conn.ExecContext(ctx, segSizeAdd, e.SegmentID, at, out.Size, out.Entered, out.Exited, dur); err != nil {
				return fmt.Errorf("record size: %w", err)
			}
		} else if _, err := conn.ExecContext(ctx, segSizeOnly, out.Size, e.SegmentID); err != nil {
			return fmt.Errorf("record size: %w", err)
		}
		_, err := conn.ExecContext(ctx, segDropTemp)
		return err
	})
	return out, err
}

// SegmentFailed records a failed computation: the error shown to users, the
// number of consecutive failures and when to try again.
func (d *DB) SegmentFailed(ctx context.Context, id, msg string, retries int, next time.Time) error {
	if _, err := d.sql.ExecContext(ctx, segFailed, msg, retries, next.UTC(), id); err != nil {
		return fmt.Errorf("record segment error: %w", err)
	}
	return nil
}

// SegmentChanges returns up to limit change-feed rows after seq, oldest first.
func (d *DB) SegmentChanges(ctx context.Context, after int64, limit int) ([]store.SegmentChange, error) {
	rows, err := d.sql.QueryContext(ctx, segChanges, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read segment changes: %w", err)
	}
	defer rows.Close()
	var out []store.SegmentChange
	for rows.Next() {
		var c store.SegmentChange
		if err := rows.Scan(&c.Seq, &c.SegmentID, &c.ProfileID, &c.Kind, &c.At); err != nil {
			return nil, fmt.Errorf("read segment changes: %w", err)
		}
		c.At = c.At.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// SegmentSizes returns the newest limit points of a segment's size history,
// newest first.
func (d *DB) SegmentSizes(ctx context.Context, id string, limit int) ([]store.SegmentSize, error) {
	rows, err := d.sql.QueryContext(ctx, segSizes, id, limit)
	if err != nil {
		return nil, fmt.Errorf("read segment sizes: %w", err)
	}
	defer rows.Close()
	out := []store.SegmentSize{}
	for rows.Next() {
		var s store.SegmentSize
		if err := rows.Scan(&s.At, &s.Size, &s.Entered, &s.Exited, &s.DurationMS); err != nil {
			return nil, fmt.Errorf("read segment sizes: %w", err)
		}
		s.At = s.At.UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}

// SegmentMembers pages through current members by profile id (after: the
// last id of the previous page, "" for the first).
func (d *DB) SegmentMembers(ctx context.Context, id, after string, limit int) ([]store.SegmentMember, error) {
	return d.members(ctx, segMembers, id, after, limit)
}

// SegmentMember returns the open membership of one profile, or
// store.ErrNotFound when it is not a member.
func (d *DB) SegmentMember(ctx context.Context, id, profileID string) (store.SegmentMember, error) {
	m, err := d.members(ctx, segIsMember, id, profileID)
	if err != nil {
		return store.SegmentMember{}, err
	}
	if len(m) == 0 {
		return store.SegmentMember{}, fmt.Errorf("member %q: %w", profileID, store.ErrNotFound)
	}
	return m[0], nil
}

func (d *DB) members(ctx context.Context, q string, args ...any) ([]store.SegmentMember, error) {
	rows, err := d.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
	defer rows.Close()
	out := []store.SegmentMember{}
	for rows.Next() {
		var m store.SegmentMember
		if err := rows.Scan(&m.ProfileID, &m.EnteredAt); err != nil {
			return nil, fmt.Errorf("read members: %w", err)
		}
		m.EnteredAt = m.EnteredAt.UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// SegmentOverlap counts the current members of a, of b and of both.
func (d *DB) SegmentOverlap(ctx context.Context, a, b string) (na, nb, both int64, err error) {
	err = d.sql.QueryRowContext(ctx, segOverlap, a, b).Scan(&na, &nb, &both)
	if err != nil {
		err = fmt.Errorf("segment overlap: %w", err)
	}
	return na, nb, both, err
}

// CountQuery counts the rows of a compiled rule query.
func (d *DB) CountQuery(ctx context.Context, q string, args []any) (int64, error) {
	var n int64
	if err := d.sql.QueryRowContext(ctx, fmt.Sprintf(segCount, q), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count rule: %w", err)
	}
	return n, nil
}

// SampleQuery returns up to n profiles (id, traits, normalised fields) a
// compiled rule query selects, by id.
func (d *DB) SampleQuery(ctx context.Context, q string, args []any, n int) ([]store.MemberRecord, error) {
	rows, err := d.sql.QueryContext(ctx, fmt.Sprintf(segSample, q, n), args...)
	if err != nil {
		return nil, fmt.Errorf("sample rule: %w", err)
	}
	defer rows.Close()
	out := []store.MemberRecord{}
	for rows.Next() {
		var m store.MemberRecord
		var tr, nz string
		if err := rows.Scan(&m.ProfileID, &tr, &nz); err != nil {
			return nil, fmt.Errorf("sample rule: %w", err)
		}
		m.Traits, m.Normalized = json.RawMessage(tr), json.RawMessage(nz)
		out = append(out, m)
	}
	return out, rows.Err()
}

// EachMember streams the current members of a segment, by profile id, with
// the named scores and the current status of purpose (purpose "" reads
// none). fn's error stops the walk and is returned.
func (d *DB) EachMember(ctx context.Context, id string, scores []string, purpose string, fn func(store.MemberRecord) error) error {
	args := []any{id, purpose}
	for _, s := range scores {
		args = append(args, s)
	}
	q := fmt.Sprintf(segExport, strings.Repeat(segExportScore, len(scores)))
	rows, err := d.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read members: %w", err)
	}
	defer rows.Close()
	vals := make([]sql.NullString, len(scores))
	for rows.Next() {
		var m store.MemberRecord
		var tr, nz string
		dest := []any{&m.ProfileID, &tr, &nz, &m.Consent}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read members: %w", err)
		}
		m.Traits, m.Normalized = json.RawMessage(tr), json.RawMessage(nz)
		if len(scores) > 0 {
			m.Scores = make(map[string]json.RawMessage, len(scores))
			for i, s := range scores {
				if vals[i].Valid {
					m.Scores[s] = json.RawMessage(vals[i].String)
				}
			}
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return rows.Err()
}

// RuleIDs returns the distinct profile ids a compiled rule query selects, in
// no particular order. It reads outside any transaction of the caller's: the
// segments service evaluates a full computation with it before taking the
// lock that real-time evaluations need.
func (d *DB) RuleIDs(ctx context.Context, q string, args []any) ([]string, error) {
	return queryStrings(ctx, d.sql, "evaluate rule", fmt.Sprintf(segRuleIDs, q), args...)
}

// segRuleIDs reads a compiled rule's result (RuleIDs).
const segRuleIDs = `SELECT DISTINCT profile_id FROM (%s) q`

// DestinationsUsingSegment names the destinations whose settings route the
// segment (by id), in name order.
func (d *DB) DestinationsUsingSegment(ctx context.Context, segmentID string) ([]string, error) {
	return queryStrings(ctx, d.sql, "destinations using segment", `SELECT name FROM destinations
		WHERE list_contains(json_extract_string(settings, '$.segments[*]'), ?) ORDER BY name`, segmentID)
}
