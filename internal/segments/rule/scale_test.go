package rule

import (
	"context"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// TestScaleByHand checks, on demand, the compiled shape against the obvious
// hand-written SQL on a generated workspace of 1,000,000 profiles and
// 20,000,000 events. It is skipped unless ATRIUM_RULE_SCALE_DIR names a
// folder (the workspace is generated there once, then reused):
//
//	ATRIUM_RULE_SCALE_DIR=/tmp/rulescale go test -run TestScaleByHand -v ./internal/segments/rule/
//
// `atrium bench segments` is the benchmark proper; this is the compiler's
// own check that its shape is not the slow one.
func TestScaleByHand(t *testing.T) {
	dir := os.Getenv("ATRIUM_RULE_SCALE_DIR")
	if dir == "" {
		t.Skip("set ATRIUM_RULE_SCALE_DIR to run")
	}
	ctx := context.Background()
	fresh := !duckdb.Exists(dir)
	db, err := duckdb.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := db.SQL()
	if fresh {
		start := time.Now()
		for _, q := range scaleLoad {
			if _, err := s.ExecContext(ctx, q, scaleNow); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		t.Logf("generated in %v", time.Since(start))
	}
	rule := `trait.city = "Lyon" and did event "Order Completed" at least 2 times in last 90 days
		and order revenue > 500 in last 365 days and consent email_marketing`
	e, err := Parse(rule)
	if err != nil {
		t.Fatal(err)
	}
	q, err := Compile(e, Env{Now: scaleNow})
	if err != nil {
		t.Fatal(err)
	}
	count := func(sqlText string, args ...any) (int, time.Duration) {
		var times []time.Duration
		n := 0
		for i := 0; i < 5; i++ {
			start := time.Now()
			if err := s.QueryRowContext(ctx, "SELECT count(*) FROM ("+sqlText+")", args...).Scan(&n); err != nil {
				t.Fatalf("%v\n%s", err, sqlText)
			}
			times = append(times, time.Since(start))
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		return n, times[len(times)/2]
	}
	nc, tc := count(q.SQL, q.Args...)
	nh, th := count(handWritten, scaleNow)
	t.Logf("compiled: %d profiles, median of 5 %v", nc, tc)
	t.Logf("hand-written (merges ignored): %d profiles, median of 5 %v, ratio %.2f", nh, th, float64(tc)/float64(th))
	nm, tm := count(handWrittenMerges, scaleNow)
	t.Logf("hand-written with merges: %d profiles, median of 5 %v, ratio %.2f", nm, tm, float64(tc)/float64(tm))
	if nc != nm {
		t.Errorf("compiled %d profiles, hand-written with merges %d", nc, nm)
	}
}

var scaleNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// scaleLoad fills the workspace: 1% of profiles merged into another, 10
// event names over a year, 2M orders (5% refunded), consents granted then
// sometimes withdrawn. $1 is the generation instant.
var scaleLoad = []string{
	`INSERT INTO profiles (id, merged_into, traits, created_at, updated_at)
	 SELECT 'p' || i, CASE WHEN i % 100 = 7 THEN 'p' || ((i * 7919) % 1000000) END,
	        '{"city":"' || ['Lyon','Paris','Lille','Nantes','Nice','Brest','Metz','Dijon','Tours','Caen'][1 + i % 10] || '","age":' || (18 + i % 60) || '}',
	        $1::TIMESTAMP, $1::TIMESTAMP
	 FROM range(1000000) r(i)`,
	`INSERT INTO events (seq, profile_id, source_id, message_id, dedup_hash, type, event, timestamp, received_at, properties)
	 SELECT i, 'p' || (hash(i) % 1000000), 'src', 'm' || i, i, 'track',
	        ['Order Completed','Email Opened','Page Viewed','Product Viewed','Cart Viewed','Signed In','Signed Up','Search','Coupon Applied','Product Added'][1 + (hash(i * 3) % 10)::BIGINT],
	        $1::TIMESTAMP - INTERVAL ((hash(i * 5) % 31536000)::BIGINT) SECOND, $1::TIMESTAMP, '{"revenue":' || (i % 200) || '}'
	 FROM range(20000000) r(i)`,
	`INSERT INTO orders (profile_id, source_id, order_id, status, total, ordered_at, created_at, updated_at)
	 SELECT 'p' || (hash(i * 11) % 1000000), 'shop', 'o' || i, CASE WHEN i % 20 = 0 THEN 'refunded' ELSE 'completed' END,
	        (hash(i * 13) % 40000) / 100.0, $1::TIMESTAMP - INTERVAL ((hash(i * 17) % 63072000)::BIGINT) SECOND, $1::TIMESTAMP, $1::TIMESTAMP
	 FROM range(2000000) r(i)`,
	`INSERT INTO consents (id, profile_id, purpose, status, source_id, occurred_at, recorded_at, prev_hash, hash)
	 SELECT 'k' || i, 'p' || (i % 1000000), 'email_marketing', CASE WHEN i < 1000000 THEN 'granted' ELSE 'withdrawn' END, 'src',
	        $1::TIMESTAMP - INTERVAL (2000000 - i) SECOND, $1::TIMESTAMP - INTERVAL (2000000 - i) SECOND, '', ''
	 FROM range(1300000) r(i)`,
}

// handWritten is the obvious SQL for the benchmark rule, ignoring merges.
const handWritten = `
SELECT p.id FROM profiles p
WHERE p.merged_into IS NULL AND json_extract_string(p.traits, '$.city') = 'Lyon'
  AND p.id IN (SELECT profile_id FROM events WHERE event = 'Order Completed' AND timestamp > $1::TIMESTAMP - INTERVAL 90 DAY
               GROUP BY profile_id HAVING count(*) >= 2)
  AND p.id IN (SELECT profile_id FROM orders WHERE status NOT IN ('cancelled', 'refunded', 'returned')
               AND ordered_at > $1::TIMESTAMP - INTERVAL 365 DAY GROUP BY profile_id HAVING sum(total) > 500)
  AND p.id IN (SELECT profile_id FROM (SELECT profile_id, status FROM consents WHERE purpose = 'email_marketing'
               QUALIFY row_number() OVER (PARTITION BY profile_id ORDER BY occurred_at DESC, recorded_at DESC) = 1)
               WHERE status = 'granted')`

// handWrittenMerges is the same with merges resolved the way
// internal/traits does (a chain from every live profile).
const handWrittenMerges = `
WITH RECURSIVE chain(id, root) AS (
	SELECT id, id FROM profiles WHERE merged_into IS NULL
	UNION ALL SELECT p.id, c.root FROM profiles p JOIN chain c ON p.merged_into = c.id)
SELECT p.id FROM profiles p
WHERE p.merged_into IS NULL AND json_extract_string(p.traits, '$.city') = 'Lyon'
  AND p.id IN (SELECT c.root FROM events e JOIN chain c ON c.id = e.profile_id
               WHERE event = 'Order Completed' AND timestamp > $1::TIMESTAMP - INTERVAL 90 DAY
               GROUP BY c.root HAVING count(*) >= 2)
  AND p.id IN (SELECT c.root FROM orders o JOIN chain c ON c.id = o.profile_id WHERE status NOT IN ('cancelled', 'refunded', 'returned')
               AND ordered_at > $1::TIMESTAMP - INTERVAL 365 DAY GROUP BY c.root HAVING sum(total) > 500)
  AND p.id IN (SELECT root FROM (SELECT c.root, status FROM consents k JOIN chain c ON c.id = k.profile_id
               WHERE purpose = 'email_marketing'
               QUALIFY row_number() OVER (PARTITION BY c.root ORDER BY occurred_at DESC, recorded_at DESC, status = 'granted') = 1)
               WHERE status = 'granted')`
