package duckdb

import (
	"context"
	"fmt"
	"time"
)

// Purchase is one revenue order of a live profile (cancelled, refunded and
// returned orders, and guest orders, are left out).
type Purchase struct {
	ProfileID string
	At        time.Time
	Amount    float64
}

// Purchases lists every revenue order, attributed to the live profile its
// profile was merged into.
func (d *DB) Purchases(ctx context.Context) ([]Purchase, error) {
	rows, err := d.sql.QueryContext(ctx, `WITH RECURSIVE chain(id, root) AS (
			SELECT id, id FROM profiles WHERE merged_into IS NULL
			UNION ALL SELECT p.id, c.root FROM profiles p JOIN chain c ON p.merged_into = c.id)
		SELECT c.root, o.ordered_at, coalesce(o.total, 0)
		FROM orders o JOIN chain c ON c.id = o.profile_id
		WHERE o.status NOT IN ('cancelled', 'refunded', 'returned')
		ORDER BY c.root, o.ordered_at`)
	if err != nil {
		return nil, fmt.Errorf("read purchases: %w", err)
	}
	defer rows.Close()
	var out []Purchase
	for rows.Next() {
		var p Purchase
		if err := rows.Scan(&p.ProfileID, &p.At, &p.Amount); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
