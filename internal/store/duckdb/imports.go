package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
)

// OrderHashes returns the fingerprint of every order a source already holds,
// keyed by order id.
func (d *DB) OrderHashes(ctx context.Context, sourceID string) (map[string]string, error) {
	return d.hashes(ctx, `SELECT order_id, coalesce(row_hash, '') FROM orders WHERE source_id = ?`, sourceID)
}

// ProductHashes returns the fingerprint of every product a source holds.
func (d *DB) ProductHashes(ctx context.Context, sourceID string) (map[string]string, error) {
	return d.hashes(ctx, `SELECT product_id, coalesce(row_hash, '') FROM products WHERE source_id = ?`, sourceID)
}

// ImportState returns the fingerprint of the last version of every record
// of one kind a source's imports wrote through the message writer, by
// record key.
func (d *DB) ImportState(ctx context.Context, sourceID, kind string) (map[string]string, error) {
	return d.hashes(ctx, `SELECT record_key, arg_max(row_hash, seq) FROM import_state WHERE source_id = ? AND kind = ?
		GROUP BY record_key`, sourceID, kind)
}

// SaveImportState records the fingerprints of records just written (keys,
// hashes and the profiles they resolved to, in parallel; "" for none): the
// newest row of a key is its state. Rows are appended in list order.
func (d *DB) SaveImportState(ctx context.Context, sourceID, kind string, keys, hashes, profiles []string, at time.Time) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := d.sql.ExecContext(ctx, `INSERT INTO import_state (source_id, kind, record_key, row_hash, profile_id, updated_at)
		SELECT ?, ?, k, h, nullif(p, ''), ? FROM (SELECT unnest(CAST(? AS VARCHAR[])) AS k, unnest(CAST(? AS VARCHAR[])) AS h,
			unnest(CAST(? AS VARCHAR[])) AS p, generate_subscripts(CAST(? AS VARCHAR[]), 1) AS i) ORDER BY i`,
		sourceID, kind, at.UTC(), keys, hashes, profiles, keys)
	if err != nil {
		return fmt.Errorf("save import state: %w", err)
	}
	return nil
}

func (d *DB) hashes(ctx context.Context, q string, args ...any) (map[string]string, error) {
	rows, err := d.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read fingerprints: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, h string
		if err := rows.Scan(&id, &h); err != nil {
			return nil, err
		}
		out[id] = h
	}
	return out, rows.Err()
}

// ApplyOrders upserts orders with their lines in one transaction: the orders
// named in replace are deleted (header and lines) and every order of orders
// is inserted. Called from the ingest writer goroutine only.
func (d *DB) ApplyOrders(ctx context.Context, sourceID string, orders []store.OrderRow, replace []string, now time.Time) error {
	return d.inTx(ctx, func(conn *sql.Conn) error {
		for start := 0; start < len(replace); start += 500 {
			ids := replace[start:min(start+500, len(replace))]
			ph := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
			args := []any{sourceID}
			for _, id := range ids {
				args = append(args, id)
			}
			for _, t := range []string{"order_items", "orders"} {
				if _, err := conn.ExecContext(ctx, `DELETE FROM `+t+` WHERE source_id = ? AND order_id IN (`+ph+`)`, args...); err != nil {
					return fmt.Errorf("replace %s: %w", t, err)
				}
			}
		}
		if err := appendRows(conn, "orders", len(orders), func(i int) []driver.Value {
			o := &orders[i]
			return []driver.Value{nullStr(o.ProfileID), sourceID, o.OrderID, nullStr(o.CustomerKey), o.Status, nullStr(o.Currency),
				o.Total, nullF(o.Subtotal), nullF(o.Tax), nullF(o.Shipping), nullF(o.Discount), o.OrderedAt.UTC(),
				jsonOr(o.Attributes), now.UTC(), now.UTC(), o.RowHash}
		}); err != nil {
			return err
		}
		n := 0
		for i := range orders {
			n += len(orders[i].Items)
		}
		flat := make([]*store.OrderItemRow, 0, n)
		owner := make([]*store.OrderRow, 0, n)
		for i := range orders {
			for j := range orders[i].Items {
				flat = append(flat, &orders[i].Items[j])
				owner = append(owner, &orders[i])
			}
		}
		return appendRows(conn, "order_items", n, func(i int) []driver.Value {
			it, o := flat[i], owner[i]
			return []driver.Value{nullStr(o.ProfileID), sourceID, o.OrderID, int32(it.LineNo), nullStr(it.ProductID), nullStr(it.Name),
				nullStr(it.Category), it.Quantity, nullF(it.UnitPrice), it.Amount, it.Status}
		})
	})
}

// UpdateOrderHeaders rewrites the header of stored orders in place, keeping
// their lines (an orders file without line columns, re-imported after the
// lines came from an order_items file); the lines follow the order's
// profile. One transaction.
func (d *DB) UpdateOrderHeaders(ctx context.Context, sourceID string, orders []store.OrderRow, now time.Time) error {
	return d.inTx(ctx, func(conn *sql.Conn) error {
		for i := range orders {
			o := &orders[i]
			if _, err := conn.ExecContext(ctx, `UPDATE orders SET profile_id = ?, customer_key = ?, status = ?, currency = ?, total = ?,
				subtotal = ?, tax = ?, shipping = ?, discount = ?, ordered_at = ?, attributes = ?, updated_at = ?
				WHERE source_id = ? AND order_id = ?`, nullStr(o.ProfileID), nullStr(o.CustomerKey), o.Status, nullStr(o.Currency),
				o.Total, nullF(o.Subtotal), nullF(o.Tax), nullF(o.Shipping), nullF(o.Discount), o.OrderedAt.UTC(), jsonOr(o.Attributes),
				now.UTC(), sourceID, o.OrderID); err != nil {
				return fmt.Errorf("update order %s: %w", o.OrderID, err)
			}
			if _, err := conn.ExecContext(ctx, `UPDATE order_items SET profile_id = ? WHERE source_id = ? AND order_id = ?
				AND profile_id IS DISTINCT FROM ?`, nullStr(o.ProfileID), sourceID, o.OrderID, nullStr(o.ProfileID)); err != nil {
				return fmt.Errorf("update order %s lines: %w", o.OrderID, err)
			}
		}
		return nil
	})
}

// ApplyProducts upserts catalogue entries in one transaction.
func (d *DB) ApplyProducts(ctx context.Context, sourceID string, products []store.ProductRow, replace []string, now time.Time) error {
	return d.inTx(ctx, func(conn *sql.Conn) error {
		for _, id := range replace {
			if _, err := conn.ExecContext(ctx, `DELETE FROM products WHERE source_id = ? AND product_id = ?`, sourceID, id); err != nil {
				return fmt.Errorf("replace product: %w", err)
			}
		}
		return appendRows(conn, "products", len(products), func(i int) []driver.Value {
			p := &products[i]
			return []driver.Value{sourceID, p.ProductID, nullStr(p.Name), nullStr(p.Category), nullStr(p.Brand), nullF(p.Price),
				nullStr(p.Currency), jsonOr(p.Attributes), now.UTC(), p.RowHash}
		})
	})
}

// SaveImport inserts or replaces an import job's row.
func (d *DB) SaveImport(ctx context.Context, r store.ImportRow) error {
	var fin any
	if r.FinishedAt != nil {
		fin = r.FinishedAt.UTC()
	}
	_, err := d.sql.ExecContext(ctx, `INSERT INTO imports (id, kind, source_id, file_name, status, started_at, finished_at, report)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, finished_at = excluded.finished_at, report = excluded.report`,
		r.ID, r.Kind, r.SourceID, r.FileName, r.Status, r.StartedAt.UTC(), fin, jsonOr(r.Report))
	if err != nil {
		return fmt.Errorf("save import: %w", err)
	}
	return nil
}

// Import returns one import job; store.ErrNotFound when there is none.
func (d *DB) Import(ctx context.Context, id string) (store.ImportRow, error) {
	var r store.ImportRow
	var fin sql.NullTime
	var rep string
	err := d.sql.QueryRowContext(ctx, `SELECT id, kind, source_id, file_name, status, started_at, finished_at, report FROM imports WHERE id = ?`, id).
		Scan(&r.ID, &r.Kind, &r.SourceID, &r.FileName, &r.Status, &r.StartedAt, &fin, &rep)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("import %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read import: %w", err)
	}
	if fin.Valid {
		t := fin.Time.UTC()
		r.FinishedAt = &t
	}
	r.StartedAt = r.StartedAt.UTC()
	r.Report = []byte(rep)
	return r, nil
}

func nullF(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// OrderHeaders returns a source's orders without their lines, keyed by order
// id (order_items imports complete them).
func (d *DB) OrderHeaders(ctx context.Context, sourceID string) (map[string]store.OrderRow, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT coalesce(profile_id, ''), order_id, coalesce(customer_key, ''), status, coalesce(currency, ''),
		coalesce(total, 0), subtotal, tax, shipping, discount, ordered_at, attributes,
		(SELECT count(*) FROM order_items i WHERE i.source_id = o.source_id AND i.order_id = o.order_id),
		(SELECT coalesce(sum(amount), 0) FROM order_items i WHERE i.source_id = o.source_id AND i.order_id = o.order_id)
		FROM orders o WHERE source_id = ?`, sourceID)
	if err != nil {
		return nil, fmt.Errorf("read orders: %w", err)
	}
	defer rows.Close()
	out := map[string]store.OrderRow{}
	for rows.Next() {
		var o store.OrderRow
		var sub, tax, ship, disc sql.NullFloat64
		var attrs string
		var lines int
		if err := rows.Scan(&o.ProfileID, &o.OrderID, &o.CustomerKey, &o.Status, &o.Currency, &o.Total, &sub, &tax, &ship, &disc, &o.OrderedAt, &attrs, &lines, &o.LinesTotal); err != nil {
			return nil, err
		}
		for _, p := range []struct {
			n   sql.NullFloat64
			dst **float64
		}{{sub, &o.Subtotal}, {tax, &o.Tax}, {ship, &o.Shipping}, {disc, &o.Discount}} {
			if p.n.Valid {
				v := p.n.Float64
				*p.dst = &v
			}
		}
		o.SourceID, o.OrderedAt, o.Attributes = sourceID, o.OrderedAt.UTC(), []byte(attrs)
		o.Items = make([]store.OrderItemRow, lines) // only the count is meaningful
		out[o.OrderID] = o
	}
	return out, rows.Err()
}
