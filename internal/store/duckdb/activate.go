package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/atrium-cdp/atrium/internal/activate"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
)

// SQL of the destinations and their delivery queue (package activate).
const (
	destinationCols   = `id, kind, name, settings, created_at, coalesce(updated_at, created_at), last_full_sync_at`
	destinationSelect = `SELECT ` + destinationCols + ` FROM destinations`

	deliveryCols = `id, destination_id, coalesce(profile_id, ''), coalesce(segment_id, ''), coalesce(kind, ''), idempotency_key,
		payload, status, attempts, coalesce(next_attempt_at, created_at), coalesce(last_error, ''), coalesce(last_status, 0),
		coalesce(consent_reason, ''), created_at, coalesce(queued_at, created_at), updated_at, delivered_at, dead_at`

	// insertDeliveries queues rows given as parallel lists; a key already
	// queued for the destination and profile is skipped (the unique index
	// deliveries_idempotency decides).
	insertDeliveries = `INSERT INTO deliveries (id, destination_id, profile_id, segment_id, kind, idempotency_key, payload,
		status, attempts, next_attempt_at, consent_reason, created_at, queued_at, updated_at)
		SELECT unnest(?::VARCHAR[]), ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]),
			unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), 0, unnest(?::VARCHAR[])::TIMESTAMP,
			unnest(?::VARCHAR[]), unnest(?::VARCHAR[])::TIMESTAMP, unnest(?::VARCHAR[])::TIMESTAMP, unnest(?::VARCHAR[])::TIMESTAMP
		ON CONFLICT DO NOTHING`

	// dueDeliveries is the worker's next batch: pending, due, not in flight.
	dueDeliveries = `SELECT ` + deliveryCols + ` FROM deliveries
		WHERE destination_id = ? AND status = 'pending' AND next_attempt_at <= ?
		AND id NOT IN (SELECT unnest(?::VARCHAR[]))
		ORDER BY next_attempt_at, created_at, id LIMIT ?`

	nextDue = `SELECT min(next_attempt_at) FROM deliveries WHERE destination_id = ? AND status = 'pending'
		AND id NOT IN (SELECT unnest(?::VARCHAR[]))`

	// finishAttempts records a batch of attempts in one statement (one
	// commit): results come as parallel text lists, cast here. An empty
	// consent reason keeps the stored one; delivered_at and dead_at are
	// set when the row settles in that state.
	finishAttempts = `UPDATE deliveries SET status = u.status, attempts = u.attempts, next_attempt_at = u.next_at,
		last_error = nullif(u.err, ''), last_status = nullif(u.http, 0),
		consent_reason = coalesce(nullif(u.reason, ''), deliveries.consent_reason), updated_at = u.at,
		delivered_at = CASE WHEN u.status = 'delivered' THEN u.at ELSE deliveries.delivered_at END,
		dead_at = CASE WHEN u.status = 'dead' THEN u.at ELSE NULL END
		FROM (SELECT unnest(?::VARCHAR[]) AS id, unnest(?::VARCHAR[]) AS status, unnest(?::INTEGER[]) AS attempts,
			unnest(?::VARCHAR[])::TIMESTAMP AS next_at, unnest(?::VARCHAR[]) AS err, unnest(?::INTEGER[]) AS http,
			unnest(?::VARCHAR[]) AS reason, unnest(?::VARCHAR[])::TIMESTAMP AS at) u
		WHERE deliveries.id = u.id`

	// replayDeliveries puts dead rows back in the queue, key and payload
	// unchanged, attempts reset and age counted from the replay.
	replayDeliveries = `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, queued_at = ?, updated_at = ?, dead_at = NULL
		WHERE destination_id = ? AND status = 'dead'`

	// consentStates is the current state of one purpose for each given live
	// profile, over the profile and every profile merged into it: the tip
	// of each ledger chain, then the most recent decision (the rule the
	// profile API shows).
	consentStates = `WITH RECURSIVE cl(root, id) AS (
			SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[])
			UNION SELECT cl.root, p.id FROM profiles p JOIN cl ON p.merged_into = cl.id)
		SELECT cl.root, c.status, coalesce(c.channel, ''), c.source_id, coalesce(c.message_id, ''), c.occurred_at, c.hash
		FROM consents c JOIN cl ON c.profile_id = cl.id
		WHERE c.purpose = ?
		AND NOT EXISTS (SELECT 1 FROM consents n WHERE n.profile_id = c.profile_id AND n.purpose = c.purpose AND n.prev_hash = c.hash)
		QUALIFY row_number() OVER (PARTITION BY cl.root ORDER BY c.occurred_at DESC, c.recorded_at DESC) = 1`

	deliveryCounts = `SELECT status, count(*) FROM deliveries WHERE destination_id = ? GROUP BY status`
)

// CreateDestination stores a destination; a taken name is store.ErrConflict.
func (d *DB) CreateDestination(ctx context.Context, r activate.DestinationRow) error {
	_, err := d.sql.ExecContext(ctx, `INSERT INTO destinations (id, kind, name, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ID, r.Kind, r.Name, string(r.Settings), r.CreatedAt.UTC(), r.UpdatedAt.UTC())
	if err != nil && isConstraint(err) {
		return fmt.Errorf("a destination named %q already exists: %w", r.Name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create destination: %w", err)
	}
	return nil
}

// UpdateDestination replaces a destination's name and settings.
func (d *DB) UpdateDestination(ctx context.Context, r activate.DestinationRow) error {
	res, err := d.sql.ExecContext(ctx, `UPDATE destinations SET name = ?, settings = ?, updated_at = ? WHERE id = ?`,
		r.Name, string(r.Settings), r.UpdatedAt.UTC(), r.ID)
	if err != nil && isConstraint(err) {
		return fmt.Errorf("a destination named %q already exists: %w", r.Name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update destination: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("destination %q: %w", r.ID, store.ErrNotFound)
	}
	return nil
}

// DeleteDestination removes a destination and its deliveries in one transaction.
func (d *DB) DeleteDestination(ctx context.Context, id string) error {
	return d.inTx(ctx, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, `DELETE FROM deliveries WHERE destination_id = ?`, id); err != nil {
			return fmt.Errorf("delete deliveries: %w", err)
		}
		res, err := conn.ExecContext(ctx, `DELETE FROM destinations WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete destination: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("destination %q: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

// Destinations lists every destination by creation.
func (d *DB) Destinations(ctx context.Context) ([]activate.DestinationRow, error) {
	rows, err := d.sql.QueryContext(ctx, destinationSelect+` ORDER BY created_at, name`)
	if err != nil {
		return nil, fmt.Errorf("list destinations: %w", err)
	}
	defer rows.Close()
	out := []activate.DestinationRow{}
	for rows.Next() {
		r, err := scanDestination(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Destination returns one destination by id or name, or store.ErrNotFound.
func (d *DB) Destination(ctx context.Context, idOrName string) (activate.DestinationRow, error) {
	rows, err := d.sql.QueryContext(ctx, destinationSelect+` WHERE id = ? OR name = ? ORDER BY (id = ?) DESC LIMIT 1`, idOrName, idOrName, idOrName)
	if err != nil {
		return activate.DestinationRow{}, fmt.Errorf("read destination: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return activate.DestinationRow{}, err
		}
		return activate.DestinationRow{}, fmt.Errorf("destination %q: %w", idOrName, store.ErrNotFound)
	}
	return scanDestination(rows)
}

func scanDestination(rows *sql.Rows) (activate.DestinationRow, error) {
	var r activate.DestinationRow
	var settings string
	var sync sql.NullTime
	if err := rows.Scan(&r.ID, &r.Kind, &r.Name, &settings, &r.CreatedAt, &r.UpdatedAt, &sync); err != nil {
		return r, fmt.Errorf("read destination: %w", err)
	}
	r.Settings = []byte(settings)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	if sync.Valid {
		r.LastFullSyncAt = sync.Time.UTC()
	}
	return r, nil
}

// MarkFullSync records when a destination last queued a full sync.
func (d *DB) MarkFullSync(ctx context.Context, id string, at time.Time) error {
	if _, err := d.sql.ExecContext(ctx, `UPDATE destinations SET last_full_sync_at = ? WHERE id = ?`, at.UTC(), id); err != nil {
		return fmt.Errorf("mark full sync: %w", err)
	}
	return nil
}

// EnqueueDeliveries inserts the rows whose key is new, in one statement per
// destination, and returns how many it inserted. Every row is durable when
// it returns nil.
func (d *DB) EnqueueDeliveries(ctx context.Context, rows []activate.DeliveryRow) (int, error) {
	byDest := map[string][]activate.DeliveryRow{}
	var order []string
	for _, r := range rows {
		if byDest[r.DestinationID] == nil {
			order = append(order, r.DestinationID)
		}
		byDest[r.DestinationID] = append(byDest[r.DestinationID], r)
	}
	total := 0
	for _, dest := range order {
		part := byDest[dest]
		text := func(f func(r activate.DeliveryRow) string) []string {
			out := make([]string, len(part))
			for i, r := range part {
				out[i] = f(r)
			}
			return out
		}
		res, err := d.sql.ExecContext(ctx, insertDeliveries,
			text(func(r activate.DeliveryRow) string { return r.ID }), dest,
			text(func(r activate.DeliveryRow) string { return r.ProfileID }),
			text(func(r activate.DeliveryRow) string { return r.SegmentID }),
			text(func(r activate.DeliveryRow) string { return r.Kind }),
			text(func(r activate.DeliveryRow) string { return r.IdempotencyKey }),
			text(func(r activate.DeliveryRow) string { return string(r.Payload) }),
			text(func(r activate.DeliveryRow) string { return string(r.Status) }),
			text(func(r activate.DeliveryRow) string { return tsText(r.NextAttemptAt) }),
			text(func(r activate.DeliveryRow) string { return r.ConsentReason }),
			text(func(r activate.DeliveryRow) string { return tsText(r.CreatedAt) }),
			text(func(r activate.DeliveryRow) string { return tsText(r.QueuedAt) }),
			text(func(r activate.DeliveryRow) string { return tsText(r.UpdatedAt) }))
		if err != nil {
			return total, fmt.Errorf("queue deliveries: %w", err)
		}
		k, _ := res.RowsAffected()
		total += int(k)
	}
	return total, nil
}

// DueDeliveries returns a destination's due pending rows (see activate.Store).
func (d *DB) DueDeliveries(ctx context.Context, destID string, now time.Time, limit int, skip []string) ([]activate.DeliveryRow, error) {
	if skip == nil {
		skip = []string{}
	}
	return d.queryDeliveries(ctx, dueDeliveries, destID, now.UTC(), skip, limit)
}

// NextDue returns the earliest next attempt among a destination's pending
// rows, leaving out the ids in skip.
func (d *DB) NextDue(ctx context.Context, destID string, skip []string) (time.Time, error) {
	if skip == nil {
		skip = []string{}
	}
	var t sql.NullTime
	if err := d.sql.QueryRowContext(ctx, nextDue, destID, skip).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("next due delivery: %w", err)
	}
	if !t.Valid {
		return time.Time{}, nil
	}
	return t.Time.UTC(), nil
}

// FinishAttempts records the outcomes of attempts in one statement.
func (d *DB) FinishAttempts(ctx context.Context, rs []activate.Result) error {
	if len(rs) == 0 {
		return nil
	}
	n := len(rs)
	ids, statuses, nexts, errs, reasons, ats := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	attempts, https := make([]int32, n), make([]int32, n)
	for i, r := range rs {
		ids[i], statuses[i], errs[i], reasons[i] = r.ID, string(r.Status), r.LastError, r.ConsentReason
		nexts[i], ats[i] = tsText(r.NextAttemptAt), tsText(r.At)
		attempts[i], https[i] = int32(r.Attempts), int32(r.LastStatus)
	}
	if _, err := d.sql.ExecContext(ctx, finishAttempts, ids, statuses, attempts, nexts, errs, https, reasons, ats); err != nil {
		return fmt.Errorf("record delivery attempts: %w", err)
	}
	return nil
}

// tsText writes a time as DuckDB reads a TIMESTAMP (UTC, microseconds).
func tsText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.999999") }

// Deliveries lists deliveries, newest first.
func (d *DB) Deliveries(ctx context.Context, f activate.DeliveryFilter) ([]activate.DeliveryRow, error) {
	q := `SELECT ` + deliveryCols + ` FROM deliveries WHERE destination_id = ?`
	args := []any{f.DestinationID}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	q += ` ORDER BY created_at DESC, id LIMIT ?`
	args = append(args, f.Limit)
	return d.queryDeliveries(ctx, q, args...)
}

func (d *DB) queryDeliveries(ctx context.Context, q string, args ...any) ([]activate.DeliveryRow, error) {
	rows, err := d.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read deliveries: %w", err)
	}
	defer rows.Close()
	out := []activate.DeliveryRow{}
	for rows.Next() {
		var r activate.DeliveryRow
		var payload, status string
		var delivered, dead sql.NullTime
		if err := rows.Scan(&r.ID, &r.DestinationID, &r.ProfileID, &r.SegmentID, &r.Kind, &r.IdempotencyKey, &payload, &status,
			&r.Attempts, &r.NextAttemptAt, &r.LastError, &r.LastStatus, &r.ConsentReason, &r.CreatedAt, &r.QueuedAt, &r.UpdatedAt,
			&delivered, &dead); err != nil {
			return nil, fmt.Errorf("read deliveries: %w", err)
		}
		r.Payload, r.Status = []byte(payload), activate.Status(status)
		r.NextAttemptAt, r.CreatedAt, r.QueuedAt, r.UpdatedAt = r.NextAttemptAt.UTC(), r.CreatedAt.UTC(), r.QueuedAt.UTC(), r.UpdatedAt.UTC()
		if delivered.Valid {
			t := delivered.Time.UTC()
			r.DeliveredAt = &t
		}
		if dead.Valid {
			t := dead.Time.UTC()
			r.DeadAt = &t
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ConsentStates returns the current state of purpose for each given live
// profile, merged profiles included; profiles with no decision are absent.
func (d *DB) ConsentStates(ctx context.Context, profileIDs []string, purpose string) (map[string]store.ConsentState, error) {
	out := map[string]store.ConsentState{}
	if len(profileIDs) == 0 {
		return out, nil
	}
	rows, err := d.sql.QueryContext(ctx, consentStates, profileIDs, profileIDs, purpose)
	if err != nil {
		return nil, fmt.Errorf("read consent states: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pid, status string
		c := store.ConsentState{Purpose: purpose}
		if err := rows.Scan(&pid, &status, &c.Channel, &c.SourceID, &c.MessageID, &c.At, &c.Hash); err != nil {
			return nil, fmt.Errorf("read consent states: %w", err)
		}
		c.Status, c.At = model.ConsentStatus(status), c.At.UTC()
		out[pid] = c
	}
	return out, rows.Err()
}

// DeliveryCounts counts a destination's deliveries by status (every status present).
func (d *DB) DeliveryCounts(ctx context.Context, destID string) (map[activate.Status]int, error) {
	out := map[activate.Status]int{}
	for _, s := range activate.Statuses {
		out[s] = 0
	}
	rows, err := d.sql.QueryContext(ctx, deliveryCounts, destID)
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[activate.Status(s)] = n
	}
	return out, rows.Err()
}

// Replay puts dead deliveries back in the queue: one by id (store.ErrNotFound
// when the destination has no such delivery, store.ErrConflict when it is
// not dead), or all of the destination's when id is empty.
func (d *DB) Replay(ctx context.Context, destID, id string, at time.Time) (int, error) {
	at = at.UTC()
	q, args := replayDeliveries, []any{at, at, at, destID}
	if id != "" {
		var status string
		err := d.sql.QueryRowContext(ctx, `SELECT status FROM deliveries WHERE destination_id = ? AND id = ?`, destID, id).Scan(&status)
		if err == sql.ErrNoRows {
			return 0, fmt.Errorf("delivery %q of destination %q: %w", id, destID, store.ErrNotFound)
		}
		if err != nil {
			return 0, fmt.Errorf("read delivery: %w", err)
		}
		if status != string(activate.StatusDead) {
			return 0, fmt.Errorf("delivery %q is %s; only dead deliveries are replayed: %w", id, status, store.ErrConflict)
		}
		q += ` AND id = ?`
		args = append(args, id)
	}
	res, err := d.sql.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("replay deliveries: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// FeedCursor returns the last segment change-feed seq activation handled.
func (d *DB) FeedCursor(ctx context.Context) (int64, bool, error) {
	var seq int64
	err := d.sql.QueryRowContext(ctx, `SELECT seq FROM activation_cursor WHERE name = 'segment_changes'`).Scan(&seq)
	if err == sql.ErrNoRows {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read activation cursor: %w", err)
	}
	return seq, true, nil
}

// SetFeedCursor records the last change-feed seq activation handled.
func (d *DB) SetFeedCursor(ctx context.Context, seq int64, at time.Time) error {
	_, err := d.sql.ExecContext(ctx, `INSERT OR REPLACE INTO activation_cursor (name, seq, updated_at) VALUES ('segment_changes', ?, ?)`, seq, at.UTC())
	if err != nil {
		return fmt.Errorf("write activation cursor: %w", err)
	}
	return nil
}
