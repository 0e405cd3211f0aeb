package duckdb_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
	"github.com/atrium-cdp/atrium/internal/traits/recommend"
)

// recoBaskets holds a hand-built basket set (all dates 2024):
//
//	u1: A, B, C (Jan 10), A again (Jun 15); E on a cancelled line
//	u2: A (Jan 11); u2m, merged into u2: B (Jan 12)        → u2 has A, B
//	u3: B, C (Jan 13); D on a returned order
//	u4: A (Jan 14), D (Jun 20)
//	u5: D (Jun 30); C on a refunded order, B on a cancelled order,
//	    F with quantity 0 and G with quantity −1 on its Jun 30 order
//	u6: no order (a new profile)
//	guest (no profile): A, D
//
// Counted buyers (revenue orders, positive quantity, merges resolved):
//
//	A {u1,u2,u4}  B {u1,u2,u3}  C {u1,u3}  D {u4,u5}
//
// Cosine similarity of the binary customer vectors, |Ui ∩ Uj| / √(|Ui|·|Uj|):
//
//	A–B 2/√9 = 0.6667   A–C 1/√6 = 0.4082   A–D 1/√6 = 0.4082
//	B–C 2/√6 = 0.8165   B–D 0               C–D 0
//
// With K = 2 neighbours (ties to the smaller id):
//
//	A: B 0.6667, C 0.4082 (D ties with C and loses)
//	B: C 0.8165, A 0.6667
//	C: B 0.8165, A 0.4082
//	D: A 0.4082
//
// Had the refund (u5 C), the cancelled line (u1 E), the returned order
// (u3 D) or the guest order counted, these numbers would differ; had the
// merge not been followed, B would have four buyers.
//
// Popularity over a 30-day window up to the latest purchase (Jun 30 10:00):
// D bought by u4 and u5, A by u1 (its repeat on Jun 15): D 2/3, A 1/3.
func recoBaskets(t *testing.T) *duckdb.DB {
	t.Helper()
	return testDB(t,
		`INSERT INTO profiles (id, merged_into, created_at, updated_at) VALUES
			('u1', NULL, now(), now()), ('u2', NULL, now(), now()), ('u2m', 'u2', now(), now()), ('u3', NULL, now(), now()),
			('u4', NULL, now(), now()), ('u5', NULL, now(), now()), ('u6', NULL, now(), now())`,
		`INSERT INTO orders (profile_id, source_id, order_id, status, ordered_at, created_at, updated_at) VALUES
			('u1', 's', 'o1', 'completed', TIMESTAMP '2024-01-10 10:00', now(), now()),
			('u1', 's', 'o1b', 'completed', TIMESTAMP '2024-06-15 10:00', now(), now()),
			('u2', 's', 'o2', 'completed', TIMESTAMP '2024-01-11 10:00', now(), now()),
			('u2m', 's', 'o2m', 'completed', TIMESTAMP '2024-01-12 10:00', now(), now()),
			('u3', 's', 'o3', 'completed', TIMESTAMP '2024-01-13 10:00', now(), now()),
			('u3', 's', 'o3r', 'returned', TIMESTAMP '2024-01-20 10:00', now(), now()),
			('u4', 's', 'o4', 'completed', TIMESTAMP '2024-01-14 10:00', now(), now()),
			('u4', 's', 'o4b', 'completed', TIMESTAMP '2024-06-20 10:00', now(), now()),
			('u5', 's', 'o5', 'completed', TIMESTAMP '2024-06-30 10:00', now(), now()),
			('u5', 's', 'o5r', 'refunded', TIMESTAMP '2024-02-01 10:00', now(), now()),
			('u5', 's', 'o5c', 'cancelled', TIMESTAMP '2024-02-02 10:00', now(), now()),
			(NULL, 's', 'og', 'completed', TIMESTAMP '2024-01-15 10:00', now(), now())`,
		`INSERT INTO order_items (profile_id, source_id, order_id, line_no, product_id, name, quantity, status) VALUES
			('u1', 's', 'o1', 1, 'A', 'Apple', 1, 'completed'), ('u1', 's', 'o1', 2, 'B', 'Banana', 2, 'completed'),
			('u1', 's', 'o1', 3, 'C', 'Cherry', 1, 'completed'), ('u1', 's', 'o1', 4, 'E', 'Elder', 1, 'cancelled'),
			('u1', 's', 'o1b', 1, 'A', 'Apple', 1, 'completed'),
			('u2', 's', 'o2', 1, 'A', 'Apple', 1, 'completed'),
			('u2m', 's', 'o2m', 1, 'B', 'Banana', 1, 'completed'),
			('u3', 's', 'o3', 1, 'B', 'Banana', 1, 'completed'), ('u3', 's', 'o3', 2, 'C', 'Cherry', 3, 'completed'),
			('u3', 's', 'o3r', 1, 'D', 'Date', 1, 'returned'),
			('u4', 's', 'o4', 1, 'A', 'Apple', 1, 'completed'),
			('u4', 's', 'o4b', 1, 'D', 'Date', 1, 'completed'),
			('u5', 's', 'o5', 1, 'D', 'Date', 1, 'completed'), ('u5', 's', 'o5', 2, 'F', 'Fig', 0, 'completed'),
			('u5', 's', 'o5', 3, 'G', 'Grape', -1, 'completed'),
			('u5', 's', 'o5r', 1, 'C', 'Cherry', 1, 'refunded'),
			('u5', 's', 'o5c', 1, 'B', 'Banana', 1, 'cancelled'),
			(NULL, 's', 'og', 1, 'A', 'Apple', 1, 'completed'), (NULL, 's', 'og', 2, 'D', 'Date', 1, 'completed')`,
	)
}

var recoBasketOptions = recommend.Options{Neighbours: 2, WindowDays: 30, MinTogether: 1}

type recoNeighbour struct {
	product, neighbour string
	similarity         float64
	together, rank     int
}

func TestRecommendNeighboursByHand(t *testing.T) {
	db := recoBaskets(t)
	ctx := context.Background()
	until := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	m, err := db.BuildRecommendModel(ctx, until, recoBasketOptions)
	if err != nil {
		t.Fatal(err)
	}
	s6, s9 := math.Sqrt(6), 3.0
	want := []recoNeighbour{
		{"A", "B", 2 / s9, 2, 1}, {"A", "C", 1 / s6, 1, 2},
		{"B", "C", 2 / s6, 2, 1}, {"B", "A", 2 / s9, 2, 2},
		{"C", "B", 2 / s6, 2, 1}, {"C", "A", 1 / s6, 1, 2},
		{"D", "A", 1 / s6, 1, 1},
	}
	rows, err := db.SQL().Query(`SELECT product_id, neighbour_id, similarity, together, rank FROM reco_neighbours ORDER BY product_id, rank`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []recoNeighbour
	for rows.Next() {
		var n recoNeighbour
		if err := rows.Scan(&n.product, &n.neighbour, &n.similarity, &n.together, &n.rank); err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	if len(got) != len(want) {
		t.Fatalf("neighbours %+v,\nwant %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.product != w.product || g.neighbour != w.neighbour || g.together != w.together || g.rank != w.rank ||
			math.Abs(g.similarity-w.similarity) > 1e-12 {
			t.Errorf("neighbour %d: %+v, want %+v", i, g, w)
		}
	}
	if m.Products != 4 || m.Pairs != 7 || m.Profiles != 5 {
		t.Errorf("model %+v: want 4 products (A-D), 7 pairs, 5 profiles (u1-u5)", m)
	}
	wantEnd := time.Date(2024, 6, 30, 10, 0, 0, 0, time.UTC)
	if !m.WindowEnd.Equal(wantEnd) || !m.WindowStart.Equal(wantEnd.AddDate(0, 0, -30)) {
		t.Errorf("window %s … %s, want the 30 days up to %s", m.WindowStart, m.WindowEnd, wantEnd)
	}
	stored, err := db.RecommendModel(ctx)
	if err != nil || stored.Products != 4 || stored.Options != m.Options || !stored.TrainedUntil.Equal(until) {
		t.Errorf("stored model %+v (%v), want %+v", stored, err, m)
	}
	// A second build gives the same rows, not twice as many.
	if _, err := db.BuildRecommendModel(ctx, until, recoBasketOptions); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.SQL().QueryRow(`SELECT (SELECT count(*) FROM reco_neighbours) + (SELECT count(*) FROM reco_model)`).Scan(&n); err != nil || n != 8 {
		t.Errorf("after a rebuild: %d rows (%v), want 7 neighbours + 1 model", n, err)
	}
}

type recoRow struct {
	product  string
	score    float64
	fallback bool
	because  string
}

func recoRowsOf(t *testing.T, db *duckdb.DB, profile string, limit int) []recoRow {
	t.Helper()
	rs, _, err := db.Recommendations(context.Background(), profile, limit)
	if err != nil {
		t.Fatal(err)
	}
	out := []recoRow{}
	for i, r := range rs {
		if r.Rank != i+1 {
			t.Errorf("%s: rank %d at position %d", profile, r.Rank, i+1)
		}
		out = append(out, recoRow{r.ProductID, math.Round(r.Score*1e4) / 1e4, r.Fallback, r.Because})
	}
	return out
}

// Recommendations worked out by hand from the neighbours above: the score of
// a product is the sum of its similarities to the profile's products; bought
// products are left out; popular products (D, then A) fill up.
func TestRecommendationsByHand(t *testing.T) {
	db := recoBaskets(t)
	if _, err := db.BuildRecommendModel(context.Background(), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), recoBasketOptions); err != nil {
		t.Fatal(err)
	}
	r := func(x float64) float64 { return math.Round(x*1e4) / 1e4 }
	s6 := math.Sqrt(6)
	cases := []struct {
		profile string
		want    []recoRow
	}{
		// u1 bought A, B, C: every neighbour is bought; D fills up (A is bought).
		{"u1", []recoRow{{"D", r(2.0 / 3), true, ""}}},
		// u2 (A, and B through u2m): C = A–C + B–C = 1/√6 + 2/√6, mostly because of B; then D.
		{"u2", []recoRow{{"C", r(3 / s6), false, "B"}, {"D", r(2.0 / 3), true, ""}}},
		// u3 (B, C): A = B–A + C–A = 2/3 + 1/√6, mostly because of B; D popular.
		{"u3", []recoRow{{"A", r(2.0/3 + 1/s6), false, "B"}, {"D", r(2.0 / 3), true, ""}}},
		// u4 (A, D): B 2/3 and C 1/√6 from A; D's only neighbour A is bought; no popular product left.
		{"u4", []recoRow{{"B", r(2.0 / 3), false, "A"}, {"C", r(1 / s6), false, "A"}}},
		// u5 (D): A from D; D is bought, A already listed: nothing more.
		{"u5", []recoRow{{"A", r(1 / s6), false, "D"}}},
		// u6 bought nothing: the popular products.
		{"u6", []recoRow{{"D", r(2.0 / 3), true, ""}, {"A", r(1.0 / 3), true, ""}}},
	}
	for _, c := range cases {
		if got := recoRowsOf(t, db, c.profile, 10); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v,\nwant %+v", c.profile, got, c.want)
		}
	}
	// The limit cuts the list after ranking.
	if got := recoRowsOf(t, db, "u4", 1); !reflect.DeepEqual(got, []recoRow{{"B", r(2.0 / 3), false, "A"}}) {
		t.Errorf("u4 limit 1: %+v", got)
	}
	// A purchase after the build is excluded at once: u4 buys B.
	if _, err := db.SQL().Exec(`INSERT INTO orders (profile_id, source_id, order_id, status, ordered_at, created_at, updated_at)
		VALUES ('u4', 's', 'o4c', 'completed', TIMESTAMP '2024-07-01 10:00', now(), now());
		INSERT INTO order_items (source_id, order_id, line_no, product_id, quantity, status) VALUES ('s', 'o4c', 1, 'B', 1, 'completed')`); err != nil {
		t.Fatal(err)
	}
	// B leaves the list and, now in u4's history, adds B–C to C: 1/√6 + 2/√6.
	if got := recoRowsOf(t, db, "u4", 10); !reflect.DeepEqual(got, []recoRow{{"C", r(3 / s6), false, "B"}}) {
		t.Errorf("u4 after buying B: %+v, want only C", got)
	}
	// Reasons read as documented.
	rs, _, err := db.Recommendations(context.Background(), "u2", 10)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Reason != "bought with B" || rs[0].BecauseRelation != "bought" || rs[0].Together != 2 || rs[0].Name != "Cherry" {
		t.Errorf("u2 first: %+v", rs[0])
	}
	if rs[1].Reason != "popular: bought by 2 customers in the last 30 days of orders" || rs[1].Because != "" {
		t.Errorf("u2 second: %+v", rs[1])
	}
}

func TestRecommendationsBeforeAnyModel(t *testing.T) {
	db := recoBaskets(t)
	if _, _, err := db.Recommendations(context.Background(), "u1", 10); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("before a build: %v, want ErrNotFound", err)
	}
	if _, _, err := db.Recommendations(context.Background(), "u1", 0); err == nil {
		t.Error("limit 0 accepted")
	}
}

// Product views (Segment e-commerce "Product Viewed", and its v1 alias)
// count with weight 0.5:
//
//	v1 bought X, Y; v2 viewed X, bought Y; v3 viewed X ("Viewed Product",
//	product_id sent as a string) and nothing else
//
//	X = (v1 1, v2 .5, v3 .5) ‖X‖ = √1.5;  Y = (v1 1, v2 1) ‖Y‖ = √2
//	X·Y = 1 + .5 = 1.5;  similarity = 1.5 / √3 = 0.8660
//
// v2 gets X (viewed, not bought) at 1 × 0.8660 because of Y; v3 gets Y at
// 0.5 × 0.8660 because of the X it viewed. Views with a product_id that is
// an object, with unreadable properties, or of another event name count for
// nothing; a numeric product_id is the same product as its digits.
func TestRecommendationsFromViews(t *testing.T) {
	ctx := context.Background()
	db, err := duckdb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ev := func(seq int, profile, name, props string) string {
		return `(` + recoItoa(seq) + `, '` + profile + `', 's', 'm` + recoItoa(seq) + `', ` + recoItoa(seq) + `, 'track', '` + name + `', TIMESTAMP '2024-03-01', now(), '` + props + `')`
	}
	for _, q := range []string{
		`INSERT INTO profiles (id, created_at, updated_at) VALUES ('v1', now(), now()), ('v2', now(), now()), ('v3', now(), now())`,
		`INSERT INTO orders (profile_id, source_id, order_id, status, ordered_at, created_at, updated_at) VALUES
			('v1', 's', 'a', 'completed', TIMESTAMP '2024-03-01', now(), now()), ('v2', 's', 'b', 'completed', TIMESTAMP '2024-03-01', now(), now())`,
		`INSERT INTO order_items (source_id, order_id, line_no, product_id, quantity, status) VALUES
			('s', 'a', 1, 'X', 1, 'completed'), ('s', 'a', 2, 'Y', 1, 'completed'), ('s', 'b', 1, 'Y', 1, 'completed')`,
		`INSERT INTO events (seq, profile_id, source_id, message_id, dedup_hash, type, event, timestamp, received_at, properties) VALUES ` +
			ev(1, "v2", "Product Viewed", `{"product_id": "X"}`) + `,` +
			ev(2, "v3", "Viewed Product", `{"product_id": "X", "price": 3}`) + `,` +
			ev(3, "v3", "Product Viewed", `{"product_id": {"id": "Y"}}`) + `,` +
			ev(4, "v3", "Product Viewed", `not json`) + `,` +
			ev(5, "v3", "Product Clicked", `{"product_id": "Y"}`) + `,` +
			ev(6, "v1", "Product Viewed", `{"product_id": 42}`),
	} {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := db.BuildRecommendModel(ctx, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), recommend.Options{MinTogether: 1}); err != nil {
		t.Fatal(err)
	}
	// v1 viewed "42" too: 42 = (v1 .5); 42·Y = .5, ‖42‖ = .5: 42–Y = .5/(.5·√2) = 0.7071, 42–X = .5/(.5·√1.5) = 0.8165.
	r := func(x float64) float64 { return math.Round(x*1e4) / 1e4 }
	s3, s2, s15 := math.Sqrt(3), math.Sqrt(2), math.Sqrt(1.5)
	// v2 (viewed X .5, bought Y 1): X from Y 1.5/√3; 42 from Y 1/√2 (X–42 × .5 = .5 × 1/√1.5 adds 0.4082).
	if got := recoRowsOf(t, db, "v2", 10); !reflect.DeepEqual(got, []recoRow{{"42", r(1/s2 + 0.5/s15), false, "Y"}, {"X", r(1.5 / s3), false, "Y"}}) {
		t.Errorf("v2: %+v", got)
	}
	// v3 (viewed X .5): Y .5 × 1.5/√3 = 0.4330, 42 .5 × 1/√1.5 = 0.4082; then the
	// popular products (bought in the window by v1 and v2: Y by both, X by
	// v1): Y is listed already, X was only viewed so it may come, at 1/2.
	got := recoRowsOf(t, db, "v3", 10)
	want := []recoRow{{"Y", r(0.5 * 1.5 / s3), false, "X"}, {"42", r(0.5 / s15), false, "X"}, {"X", 0.5, true, ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("v3: %+v, want %+v", got, want)
	}
	rs, _, _ := db.Recommendations(ctx, "v3", 10)
	if len(rs) != 3 || rs[0].BecauseRelation != "viewed" || rs[0].Reason != "often with X, which this profile viewed" {
		t.Errorf("v3 reason: %+v", rs)
	}
}

func recoItoa(i int) string { return strconv.Itoa(i) }

// Offline evaluation on the basket set, split at 2024-01-12 00:00:
//
//	before: u1 A, B, C; u2 A                  after: u2 B (through u2m), u3 B, C,
//	                                                 u4 A, D, u1 A again, u5 D
//
// Bought before and after: u1 and u2. u1 only bought A again, nothing new:
// not evaluated. u2: relevant {B}.
// Trained similarities: A {u1,u2}, B {u1}, C {u1}: A–B = A–C = 1/√2.
// u2 (A) gets B, C (a tie, by id) → B is a hit. Popularity up to Jan 11:
// A 2, B 1, C 1; without A (bought): B, C → a hit too.
func TestEvaluateRecommendationsByHand(t *testing.T) {
	db := recoBaskets(t)
	ev, err := db.EvaluateRecommendations(context.Background(), time.Date(2024, 1, 12, 0, 0, 0, 0, time.UTC), 2, recoBasketOptions)
	if err != nil {
		t.Fatal(err)
	}
	if ev.BoughtBeforeAndAfter != 2 || ev.Evaluated != 1 || ev.TrainProfiles != 2 || ev.TrainProducts != 3 {
		t.Fatalf("evaluation %+v", ev)
	}
	wantCase := recommend.Case{ProfileID: "u2", Recommended: []string{"B", "C"}, Relevant: []string{"B"}}
	for name, cs := range map[string][]recommend.Case{"model": ev.ModelCases, "popularity": ev.PopularityCases} {
		if len(cs) != 1 || !reflect.DeepEqual(cs[0], wantCase) {
			t.Errorf("%s cases %+v, want %+v", name, cs, wantCase)
		}
	}
	want := recommend.Metrics{Customers: 1, Hits: 1, HitRate: 1, Precision: 0.5, Recall: 1}
	if ev.Model != want || ev.Popularity != want {
		t.Errorf("model %+v, popularity %+v, want %+v", ev.Model, ev.Popularity, want)
	}
	// The evaluation leaves the stored model alone (there is none here) and
	// no temporary table behind on the pool.
	if _, err := db.RecommendModel(context.Background()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a stored model appeared: %v", err)
	}
	if _, err := db.EvaluateRecommendations(context.Background(), time.Date(2024, 1, 12, 0, 0, 0, 0, time.UTC), 0, recoBasketOptions); err == nil {
		t.Error("k 0 accepted")
	}
}

// recoRetail loads the Online Retail sample straight into the tables
// (one profile per CustomerID, one order per invoice, C invoices cancelled)
// for the benchmarks below.
func recoRetail(b testing.TB) *duckdb.DB {
	b.Helper()
	src := `(SELECT * FROM read_csv('../../imports/testdata/online_retail_sample_20k.csv', all_varchar = true) WHERE CustomerID <> 'NA')`
	return testDB(b,
		`INSERT INTO profiles (id, created_at, updated_at) SELECT DISTINCT 'c' || CustomerID, now(), now() FROM `+src,
		`INSERT INTO orders (profile_id, source_id, order_id, status, ordered_at, created_at, updated_at)
		 SELECT 'c' || any_value(CustomerID), 'retail', InvoiceNo, CASE WHEN InvoiceNo LIKE 'C%' THEN 'cancelled' ELSE 'completed' END,
		        min(CAST(InvoiceDate AS TIMESTAMP)), now(), now() FROM `+src+` GROUP BY InvoiceNo`,
		`INSERT INTO order_items (source_id, order_id, line_no, product_id, name, quantity, status)
		 SELECT 'retail', InvoiceNo, row_number() OVER (PARTITION BY InvoiceNo), StockCode, Description, CAST(Quantity AS DOUBLE),
		        CASE WHEN InvoiceNo LIKE 'C%' THEN 'cancelled' ELSE 'completed' END FROM `+src,
	)
}

// BenchmarkBuildRecommendModel: the whole build on the Online Retail sample
// (3,017 customers, 2,487 products).
func BenchmarkBuildRecommendModel(b *testing.B) {
	db := recoRetail(b)
	until := time.Date(2011, 12, 10, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		if _, err := db.BuildRecommendModel(context.Background(), until, recommend.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecommendations: one profile's top 10 from the stored model, the
// work behind one API call.
func BenchmarkRecommendations(b *testing.B) {
	db := recoRetail(b)
	ctx := context.Background()
	if _, err := db.BuildRecommendModel(ctx, time.Date(2011, 12, 10, 0, 0, 0, 0, time.UTC), recommend.Options{}); err != nil {
		b.Fatal(err)
	}
	var ids []string
	rows, err := db.SQL().Query(`SELECT id FROM profiles ORDER BY id LIMIT 200`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	i := 0
	for b.Loop() {
		if _, _, err := db.Recommendations(ctx, ids[i%len(ids)], 10); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// The metrics of the evaluation on the Online Retail sample, computed a
// second way: the evaluated cases written to a table and the three metrics
// in plain SQL.
func TestEvaluateRecommendationsMetricsInSQL(t *testing.T) {
	db := recoRetail(t)
	ev, err := db.EvaluateRecommendations(context.Background(), time.Date(2011, 9, 1, 0, 0, 0, 0, time.UTC), 10, recommend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Evaluated < 500 || len(ev.ModelCases) != ev.Evaluated || len(ev.PopularityCases) != ev.Evaluated {
		t.Fatalf("evaluation %+v", ev)
	}
	for name, c := range map[string]struct {
		cases []recommend.Case
		m     recommend.Metrics
	}{"model": {ev.ModelCases, ev.Model}, "popularity": {ev.PopularityCases, ev.Popularity}} {
		conn, err := db.SQL().Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`CREATE OR REPLACE TEMP TABLE t_rec (c TEXT, p TEXT, r INTEGER)`, `CREATE OR REPLACE TEMP TABLE t_rel (c TEXT, p TEXT)`} {
			if _, err := conn.ExecContext(context.Background(), q); err != nil {
				t.Fatal(err)
			}
		}
		// One multi-row INSERT per table (row-by-row inserts take seconds).
		var recRows, relRows []string
		var recArgs, relArgs []any
		for _, cs := range c.cases {
			for i, p := range cs.Recommended {
				recRows, recArgs = append(recRows, "(?, ?, ?)"), append(recArgs, cs.ProfileID, p, i+1)
			}
			for _, p := range cs.Relevant {
				relRows, relArgs = append(relRows, "(?, ?)"), append(relArgs, cs.ProfileID, p)
			}
		}
		if _, err := conn.ExecContext(context.Background(), `INSERT INTO t_rec VALUES `+strings.Join(recRows, ","), recArgs...); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(context.Background(), `INSERT INTO t_rel VALUES `+strings.Join(relRows, ","), relArgs...); err != nil {
			t.Fatal(err)
		}
		var customers, hits int
		var precision, recall float64
		err = conn.QueryRowContext(context.Background(), `
			WITH per AS (
				SELECT rel.c, count(DISTINCT rel.p) AS n_rel,
				       count(DISTINCT rec.p) FILTER (WHERE rec.r <= 10) AS found
				FROM t_rel rel LEFT JOIN t_rec rec ON rec.c = rel.c AND rec.p = rel.p
				GROUP BY rel.c)
			SELECT count(*), count(*) FILTER (WHERE found > 0), avg(found / 10), avg(found / n_rel) FROM per`).Scan(&customers, &hits, &precision, &recall)
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if customers != c.m.Customers || hits != c.m.Hits || math.Abs(precision-c.m.Precision) > 1e-12 || math.Abs(recall-c.m.Recall) > 1e-12 {
			t.Errorf("%s: Go %+v; SQL %d customers, %d hits, precision %v, recall %v", name, c.m, customers, hits, precision, recall)
		}
		t.Logf("%s: %+v", name, c.m)
	}
}
