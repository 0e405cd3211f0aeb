package computed_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
	"github.com/atrium-cdp/atrium/internal/traits/computed"
)

// benchDefs are four typical traits: a windowed event count, a property sum,
// an order-line favourite and an order list.
const benchDefs = `
computed_traits:
  - {name: views_30d, aggregate: count, over: events, event: Product Viewed, window: {last_days: 30}}
  - {name: viewed_price_sum, aggregate: sum, over: events, event: Product Viewed, value: properties.price}
  - {name: top_category, aggregate: most_frequent, over: lines, value: category}
  - {name: recent_orders, aggregate: list, over: orders, value: order_id, limit: 5}
`

// BenchmarkRefresh on generated data (ATRIUM_BENCH_PROFILES profiles,
// default 100,000, each with 10 events and 3 orders of 2 lines): the batch
// refresh of benchDefs, the same aggregates as hand-written SQL, and the
// incremental refresh of one profile.
//
//	go test ./internal/traits/computed -run XXX -bench Refresh -benchtime 3x
func BenchmarkRefresh(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("ATRIUM_BENCH_PROFILES")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	db, err := duckdb.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	asOf := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO profiles (id, created_at, updated_at) SELECT 'p' || i, now(), now() FROM range(%d) t(i)`, n),
		fmt.Sprintf(`INSERT INTO events (seq, profile_id, source_id, message_id, dedup_hash, type, event, timestamp, received_at, properties)
			SELECT i, 'p' || (i %% %d), 's', 'm' || i, i, 'track', CASE WHEN i %% 3 = 0 THEN 'Signed Up' ELSE 'Product Viewed' END,
			TIMESTAMP '2024-06-01' - to_minutes(CAST(i %% 86400 AS BIGINT)), now(), '{"price": ' || (i %% 50) || '}'
			FROM range(%d) t(i)`, n, n*10),
		fmt.Sprintf(`INSERT INTO orders (profile_id, source_id, order_id, status, total, ordered_at, created_at, updated_at)
			SELECT 'p' || (i %% %d), 's', 'o' || i, CASE WHEN i %% 10 = 0 THEN 'refunded' ELSE 'completed' END, i %% 100,
			TIMESTAMP '2024-05-31' - to_hours(CAST(i %% 9000 AS BIGINT)), now(), now() FROM range(%d) t(i)`, n, n*3),
		`INSERT INTO order_items (profile_id, source_id, order_id, line_no, product_id, category, quantity, amount, status)
			SELECT o.profile_id, 's', o.order_id, l, 'sku' || (l * 7 + length(o.order_id)) % 40, 'cat' || (l + length(o.order_id)) % 6, 1, 5, o.status
			FROM orders o, range(2) t(l)`,
	} {
		if _, err := db.SQL().Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	defs, err := computed.ParseYAML([]byte(benchDefs))
	if err != nil {
		b.Fatal(err)
	}
	svc := computed.NewService(db, time.Now)
	if _, err := svc.Save(ctx, defs); err != nil {
		b.Fatal(err)
	}
	b.Run("batch", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := svc.Refresh(ctx, nil, asOf); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The same aggregates written by hand, computed into a scratch table:
	// the floor the engine's generated SQL is compared with.
	b.Run("hand-written", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := db.SQL().Exec(handSQL, asOf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("incremental-one-profile", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := svc.RefreshProfiles(ctx, []string{"p" + strconv.Itoa(i%n)}, asOf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

const handSQL = `CREATE OR REPLACE TEMP TABLE hand AS
WITH p AS (SELECT CAST(? AS TIMESTAMP) AS as_of),
v AS (SELECT profile_id, count(*) FILTER (WHERE timestamp >= p.as_of - INTERVAL 30 DAY) AS views_30d,
	sum(TRY_CAST(json_extract_string(properties, '$.price') AS DOUBLE)) AS price_sum
	FROM events, p WHERE type = 'track' AND event = 'Product Viewed' AND timestamp < p.as_of GROUP BY profile_id),
c AS (SELECT profile_id, category FROM (SELECT i.profile_id, i.category, count(*) AS n FROM order_items i
	JOIN orders o USING (source_id, order_id), p WHERE o.status NOT IN ('cancelled', 'refunded', 'returned')
	AND i.status NOT IN ('cancelled', 'refunded', 'returned') AND o.ordered_at < p.as_of GROUP BY ALL)
	QUALIFY row_number() OVER (PARTITION BY profile_id ORDER BY n DESC, category) = 1),
o AS (SELECT profile_id, list(order_id ORDER BY ordered_at DESC, order_id) [1:5] AS recent FROM orders, p
	WHERE status NOT IN ('cancelled', 'refunded', 'returned') AND ordered_at < p.as_of GROUP BY profile_id)
SELECT * FROM v FULL JOIN c USING (profile_id) FULL JOIN o USING (profile_id)`
