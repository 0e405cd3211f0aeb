package computed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
	"github.com/atrium-cdp/atrium/internal/traits/computed"
)

// asOf is the instant every test computes at; days count back from it.
var asOf = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

func ago(d time.Duration) time.Time { return asOf.Add(-d) }

const day = 24 * time.Hour

// workspace is a real DuckDB file with a running ingest writer whose commits
// feed a tracker, as in the server.
type workspace struct {
	db      *duckdb.DB
	w       *ingest.Writer
	tracker *computed.Tracker
	svc     *computed.Service
	src     string
	clock   atomic.Int64 // computed_at stamps, Unix seconds
}

func newWorkspace(t *testing.T) *workspace {
	t.Helper()
	ctx := context.Background()
	db, err := duckdb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ws := &workspace{db: db, tracker: computed.NewTracker(), src: "src1"}
	var n atomic.Int64
	ws.w = ingest.New(db, identity.DefaultConfig(), ingest.Options{
		NewID:   func() string { return fmt.Sprintf("p%04d", n.Add(1)) },
		Observe: func(c ingest.Commit) { ws.tracker.Touch(c.Touched...); ws.tracker.Touch(c.Merged...) },
	})
	if err := ws.w.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ws.w.Run(runCtx) }()
	t.Cleanup(func() {
		ws.w.Stop()
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		db.Close()
	})
	ws.clock.Store(asOf.Add(time.Hour).Unix())
	ws.svc = computed.NewService(db, func() time.Time { return time.Unix(ws.clock.Load(), 0).UTC() })
	return ws
}

// event is one track call of a user.
type event struct {
	user, name string
	at         time.Time
	props      string
	bot        bool
}

var seq atomic.Int64

func (ws *workspace) track(t *testing.T, evs ...event) {
	t.Helper()
	var msgs []model.Message
	for _, e := range evs {
		m := model.Message{Type: model.Track, MessageID: fmt.Sprintf("m%d", seq.Add(1)), SourceID: ws.src, UserID: e.user,
			Event: e.name, Timestamp: e.at, ReceivedAt: e.at, Properties: json.RawMessage(e.props)}
		if e.bot {
			m.UserAgent = "curl/8.0"
		}
		msgs = append(msgs, m)
	}
	if _, err := ws.w.Submit(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
}

// order is an order of a user with its lines.
type order struct {
	user, id, status string
	total            float64
	at               time.Time
	lines            []store.OrderItemRow
}

func line(no int, product, category string, qty, price float64) store.OrderItemRow {
	return store.OrderItemRow{LineNo: no, ProductID: product, Category: category, Quantity: qty, UnitPrice: &price, Amount: qty * price}
}

// orders writes orders through the writer, as imports do, and records
// their profiles as touched (what the server's import wrapper does).
func (ws *workspace) orders(t *testing.T, os ...order) {
	t.Helper()
	err := ws.w.Exclusive(context.Background(), func(ctx context.Context, l ingest.Lookup) error {
		var rows []store.OrderRow
		for _, o := range os {
			r := store.OrderRow{SourceID: ws.src, OrderID: o.id, Status: o.status, Total: o.total, OrderedAt: o.at, RowHash: o.id}
			if o.user != "" {
				r.ProfileID = l.ProfileFor([]model.Identifier{{Type: model.IDUserID, Value: o.user}})
				if r.ProfileID == "" {
					return fmt.Errorf("user %s unknown", o.user)
				}
			}
			for _, it := range o.lines {
				if it.Status == "" {
					it.Status = o.status
				}
				r.Items = append(r.Items, it)
			}
			rows = append(rows, r)
			ws.tracker.Touch(r.ProfileID)
		}
		return ws.db.ApplyOrders(ctx, ws.src, rows, nil, asOf)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (ws *workspace) merge(t *testing.T, survivor, merged string) {
	t.Helper()
	if _, err := ws.w.Merge(context.Background(), ws.pid(t, survivor), ws.pid(t, merged), "test"); err != nil {
		t.Fatal(err)
	}
}

func (ws *workspace) pid(t *testing.T, user string) string {
	t.Helper()
	id, err := ws.db.Lookup(context.Background(), model.IDUserID, user)
	if err != nil {
		t.Fatalf("lookup %s: %v", user, err)
	}
	return id
}

// values reads every computed value as user → trait → JSON text, naming
// profiles by their user id (ids differ between workspaces).
func (ws *workspace) values(t *testing.T) map[string]map[string]string {
	t.Helper()
	// A survivor holds its merged profiles' user ids too: it is named by
	// the smallest (u1 holds u1 and u3).
	rows, err := ws.db.SQL().Query(`WITH names AS (
			SELECT profile_id, min(value) AS user_id FROM identities WHERE type = 'user_id' GROUP BY profile_id)
		SELECT n.user_id, s.name, s.value FROM profile_scores s
		JOIN names n ON n.profile_id = s.profile_id
		JOIN computed_traits c ON c.name = s.name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[string]string{}
	for rows.Next() {
		var user, name, value string
		if err := rows.Scan(&user, &name, &value); err != nil {
			t.Fatal(err)
		}
		if out[user] == nil {
			out[user] = map[string]string{}
		}
		if _, dup := out[user][name]; dup {
			t.Fatalf("%s has two values of %s", user, name)
		}
		out[user][name] = value
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The data set D. u3 is merged into u1 (its data counts for u1); u4 has no
// data; u5 has only a guest-like refunded order. Every value below is worked
// out by hand from these rows.
var (
	eventsD = []event{
		{"u1", "Product Viewed", ago(1 * day), `{"product":"A","price":10,"plan":"pro"}`, false},
		{"u1", "Product Viewed", ago(30 * day), `{"product":"B","price":20}`, false},            // exactly 30 days old: in last 30 days
		{"u1", "Product Viewed", ago(30*day + time.Second), `{"product":"D","price":5}`, false}, // a second older: out
		{"u1", "Product Viewed", asOf.Add(time.Hour), `{"product":"C","price":"7"}`, false},     // after as-of: never
		{"u1", "Signed Up", ago(100 * day), `{"plan":"pro"}`, false},
		{"u2", "Product Viewed", ago(2 * day), `{"product":"B","price":3}`, false},
		{"u2", "Product Viewed", ago(3 * day), `{"product":"B"}`, false},
		{"u2", "Product Viewed", ago(4 * day), `{"product":null,"price":null}`, false},
		{"u2", "Product Viewed", ago(1 * day), `{"product":"Z","price":1000}`, true}, // a bot: never
		{"u3", "Product Viewed", ago(10 * day), `{"product":"A","price":"1"}`, false},
		{"u4", "Signed Up", ago(200 * day), `{}`, false},
	}
	ordersD = []order{
		{"u1", "O1", "completed", 100, ago(10 * day), []store.OrderItemRow{line(1, "A", "Books", 2, 30), line(2, "B", "Toys", 1, 40)}},
		{"u1", "O2", "refunded", 50, ago(5 * day), []store.OrderItemRow{line(1, "A", "Books", 1, 50)}},
		{"u2", "O3", "completed", 30, ago(40 * day), []store.OrderItemRow{line(1, "C", "Books", 3, 10)}},
		{"u3", "O4", "completed", 20, ago(2 * day), []store.OrderItemRow{line(1, "B", "Toys", 2, 10)}},
		{"", "O5", "completed", 999, ago(1 * day), []store.OrderItemRow{line(1, "A", "Books", 9, 111)}}, // guest
	}
)

const definitionsYAML = `
computed_traits:
  - name: views_30d
    aggregate: count
    over: events
    event: Product Viewed
    window: {last_days: 30}
  - name: viewed_price_sum
    aggregate: sum
    over: events
    event: Product Viewed
    value: properties.price
  - name: viewed_price_avg
    aggregate: avg
    over: events
    event: Product Viewed
    value: properties.price
  - name: viewed_price_min
    aggregate: min
    over: events
    event: Product Viewed
    value: properties.price
  - name: viewed_price_max
    aggregate: max
    over: events
    event: Product Viewed
    value: properties.price
  - name: first_product
    aggregate: first
    over: events
    event: Product Viewed
    value: properties.product
  - name: last_product
    aggregate: last
    over: events
    event: Product Viewed
    value: properties.product
  - name: top_product
    aggregate: most_frequent
    over: events
    event: Product Viewed
    value: properties.product
  - name: products_seen
    aggregate: distinct_count
    over: events
    event: Product Viewed
    value: properties.product
  - name: recent_products
    aggregate: list
    over: events
    event: Product Viewed
    value: properties.product
    limit: 2
  - name: pricey_views
    aggregate: count
    over: events
    event: Product Viewed
    where: [{field: properties.price, op: ">", value: 5}]
  - name: pro_views
    aggregate: count
    over: events
    event: Product Viewed
    where: [{field: properties.plan, op: "=", value: pro}]
  - name: ad_views
    aggregate: count
    over: events
    event: Product Viewed
    where: [{field: properties.product, op: in, value: [A, D]}]
  - name: priced_views
    aggregate: count
    over: events
    event: Product Viewed
    where: [{field: properties.price, op: exists}]
  - name: not_a_views
    aggregate: count
    over: events
    event: Product Viewed
    where: [{field: properties.product, op: "!=", value: A}]
  - name: cheap_views
    aggregate: count
    over: events
    event: Product Viewed
    where: [{field: properties.price, op: "<", value: 5}]
  - name: last_seen_at
    aggregate: max
    over: events
    value: timestamp
  - name: revenue_all
    aggregate: sum
    over: orders
    value: total
  - name: orders_between
    aggregate: count
    over: orders
    window: {from: "2024-05-20", to: "2024-05-29"}
  - name: orders_on_22nd
    aggregate: count
    over: orders
    window: {from: "2024-05-22", to: "2024-05-22"}
  - name: orders_on_21st
    aggregate: count
    over: orders
    window: {from: "2024-05-21", to: "2024-05-21"}
  - name: orders_10d
    aggregate: count
    over: orders
    window: {last_days: 10}
  - name: refunds
    aggregate: count
    over: orders
    status: [refunded]
  - name: biggest_order
    aggregate: max
    over: orders
    value: total
  - name: first_order
    aggregate: first
    over: orders
    value: timestamp
  - name: last_order
    aggregate: last
    over: orders
    value: order_id
  - name: book_units
    aggregate: sum
    over: lines
    category: [Books]
    value: quantity
  - name: top_category
    aggregate: most_frequent
    over: lines
    value: category
  - name: distinct_products
    aggregate: distinct_count
    over: lines
    value: product_id
  - name: b_amount
    aggregate: sum
    over: lines
    product: [B]
    value: amount
  - name: bought_products
    aggregate: list
    over: lines
    value: product_id
  - name: avg_unit_price
    aggregate: avg
    over: lines
    value: unit_price
  - name: min_quantity
    aggregate: min
    over: lines
    value: quantity
`

// wantD is every value of the data set, worked out by hand (see eventsD and
// ordersD). Absent entries mean no value (no matching data).
var wantD = map[string]map[string]string{
	"u1": {
		// u1's own views: −1d, −30d (edge, in), −30d−1s (out), future (out);
		// u3's view at −10d counts for u1 (merged).
		"views_30d": "3",
		// Prices before as-of: 10, 20, 5 and u3's "1" (a string holding a number).
		"viewed_price_sum": "36.0", "viewed_price_avg": "9.0", "viewed_price_min": "1.0", "viewed_price_max": "20.0",
		// Product Viewed in time order: D (−30d−1s), B (−30d), A (u3, −10d), A (−1d).
		"first_product": `"D"`, "last_product": `"A"`, "top_product": `"A"`, "products_seen": "3",
		"recent_products": `["A","B"]`,
		"pricey_views":    "2", // 10 and 20 (5 is not > 5, "1" neither)
		"pro_views":       "1", // the −1d view
		"ad_views":        "3", // D, A, A
		"priced_views":    "4",
		"not_a_views":     "2", // B, D
		"cheap_views":     "1", // u3's "1"
		"last_seen_at":    `"2024-05-31T00:00:00Z"`,
		// O1 100 + O4 20 (u3's); O2 refunded is left out.
		"revenue_all":       "120.0",
		"orders_between":    "1", // O1 on 05-22 is in [05-20, 05-29]; O4 on 05-30 is not
		"orders_10d":        "2", // O1 exactly 10 days old, O4
		"orders_on_22nd":    "1", // O1 at 05-22 00:00: the first instant of from is in
		"orders_on_21st":    "0", // ... and the first instant after to is out
		"refunds":           "1",
		"biggest_order":     "100.0",
		"first_order":       `"2024-05-22T00:00:00Z"`,
		"last_order":        `"O4"`,
		"book_units":        "2.0",    // O1's 2 × A (O2 refunded)
		"top_category":      `"Toys"`, // Toys: O1 line 2, O4 line 1; Books: O1 line 1
		"distinct_products": "2",
		"b_amount":          "60.0",      // 40 (O1) + 20 (O4)
		"bought_products":   `["B","A"]`, // B last seen 05-30 (O4), A 05-22
		"avg_unit_price":    "26.666667", // (30 + 40 + 10) / 3
		"min_quantity":      "1.0",
	},
	"u2": {
		"views_30d":        "3", // −2d, −3d, −4d; the bot's view is left out
		"viewed_price_sum": "3.0", "viewed_price_avg": "3.0", "viewed_price_min": "3.0", "viewed_price_max": "3.0",
		"first_product": `"B"`, "last_product": `"B"`, "top_product": `"B"`, "products_seen": "1",
		"recent_products": `["B"]`,
		"pricey_views":    "0", "pro_views": "0", "ad_views": "0",
		"priced_views":   "1", // a JSON null is no value
		"not_a_views":    "2", // B, B; the null product matches no operator
		"cheap_views":    "1",
		"last_seen_at":   `"2024-05-30T00:00:00Z"`,
		"revenue_all":    "30.0",
		"orders_between": "0", "orders_10d": "0", "refunds": "0", "orders_on_22nd": "0", "orders_on_21st": "0",
		"biggest_order": "30.0", "first_order": `"2024-04-22T00:00:00Z"`, "last_order": `"O3"`,
		"book_units": "3.0", "top_category": `"Books"`, "distinct_products": "1",
		"bought_products": `["C"]`, "avg_unit_price": "10.0", "min_quantity": "3.0",
	},
	"u4": {
		"views_30d": "0", "products_seen": "0", "pricey_views": "0", "pro_views": "0", "ad_views": "0", "priced_views": "0",
		"not_a_views": "0", "cheap_views": "0", "orders_between": "0", "orders_10d": "0", "refunds": "0", "distinct_products": "0",
		"orders_on_22nd": "0", "orders_on_21st": "0",
		"last_seen_at": `"2023-11-14T00:00:00Z"`,
	},
}

// computedAt is the one computed_at of a user's computed values.
func (ws *workspace) computedAt(t *testing.T, user string) time.Time {
	t.Helper()
	var n int
	var at time.Time
	err := ws.db.SQL().QueryRow(`SELECT count(DISTINCT computed_at), max(computed_at) FROM profile_scores
		WHERE profile_id = ? AND name IN (SELECT name FROM computed_traits)`, ws.pid(t, user)).Scan(&n, &at)
	if err != nil || n != 1 {
		t.Fatalf("computed_at of %s: %d distinct (%v)", user, n, err)
	}
	return at.UTC()
}

func loadD(t *testing.T, ws *workspace) {
	ws.track(t, eventsD...)
	ws.orders(t, ordersD...)
	ws.merge(t, "u1", "u3")
}

func applyDefinitions(t *testing.T, ws *workspace) {
	t.Helper()
	defs, err := computed.ParseYAML([]byte(definitionsYAML))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.svc.Save(context.Background(), defs); err != nil {
		t.Fatal(err)
	}
}

func TestBatchValues(t *testing.T) {
	ws := newWorkspace(t)
	loadD(t, ws)
	applyDefinitions(t, ws)
	if _, err := ws.svc.Refresh(context.Background(), nil, asOf); err != nil {
		t.Fatal(err)
	}
	compareValues(t, ws.values(t), wantD)
}

// compareValues checks JSON values, numbers compared as numbers.
func compareValues(t *testing.T, got, want map[string]map[string]string) {
	t.Helper()
	for _, user := range sortedKeys(want) {
		for _, name := range sortedKeys(want[user]) {
			g, ok := got[user][name]
			if !ok {
				t.Errorf("%s.%s: no value, want %s", user, name, want[user][name])
				continue
			}
			if !sameJSON(g, want[user][name]) {
				t.Errorf("%s.%s = %s, want %s", user, name, g, want[user][name])
			}
		}
		for name, g := range got[user] {
			if _, ok := want[user][name]; !ok {
				t.Errorf("%s.%s = %s, want no value", user, name, g)
			}
		}
	}
	for user := range got {
		if _, ok := want[user]; !ok {
			t.Errorf("%s has values %v, want none", user, got[user])
		}
	}
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	if fx, ok := x.(float64); ok {
		fy, ok := y.(float64)
		return ok && (fx-fy < 1e-9 && fy-fx < 1e-9)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestIncrementalMatchesBatch: start from D minus some events and orders and
// the merge, batch, then add the rest through the writer and refresh only
// the touched profiles; every row must equal the batch over the whole of D.
func TestIncrementalMatchesBatch(t *testing.T) {
	ctx := context.Background()
	full := newWorkspace(t)
	loadD(t, full)
	applyDefinitions(t, full)
	if _, err := full.svc.Refresh(ctx, nil, asOf); err != nil {
		t.Fatal(err)
	}
	want := full.values(t)

	inc := newWorkspace(t)
	late := map[int]bool{0: true, 5: true, 9: true} // u1's −1d view, u2's −2d view, u3's view
	var early, rest []event
	for i, e := range eventsD {
		if late[i] {
			rest = append(rest, e)
		} else {
			early = append(early, e)
		}
	}
	inc.track(t, early...)
	inc.track(t, event{"u3", "Signed Up", ago(50 * day), `{}`, false}) // u3 exists before its late data
	inc.orders(t, ordersD[0], ordersD[2])
	applyDefinitions(t, inc)
	if _, err := inc.svc.Refresh(ctx, nil, asOf); err != nil {
		t.Fatal(err)
	}
	inc.tracker.Take() // the batch covered everything so far
	if before := inc.values(t); before["u2"]["views_30d"] != "2" || before["u1"]["revenue_all"] != "100.0" {
		t.Fatalf("the partial data set already has the full values: %v", before)
	}
	batchAt := inc.computedAt(t, "u4")
	inc.clock.Add(3600)
	inc.track(t, rest...)
	inc.orders(t, ordersD[1], ordersD[3], ordersD[4])
	inc.merge(t, "u1", "u3")
	touched := inc.tracker.Take()
	if len(touched) == 0 {
		t.Fatal("no profile was reported as touched")
	}
	rep, err := inc.svc.RefreshProfiles(ctx, touched, asOf)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Touched != len(touched) {
		t.Errorf("report: %d touched, want %d", rep.Touched, len(touched))
	}
	for _, id := range touched {
		if id == inc.pid(t, "u4") {
			t.Errorf("u4 got no new data but was touched")
		}
	}
	if at := inc.computedAt(t, "u4"); !at.Equal(batchAt) {
		t.Errorf("u4 (untouched) was recomputed: computed_at %s, batch %s", at, batchAt)
	}
	if at := inc.computedAt(t, "u2"); !at.Equal(batchAt.Add(time.Hour)) {
		t.Errorf("u2 (touched) computed_at %s, want %s", at, batchAt.Add(time.Hour))
	}
	got := inc.values(t)
	// u3's extra Signed Up changes only last_seen_at of u1 (older than u1's own).
	compareValues(t, got, want)
	compareValues(t, got, wantD)
}

func TestRefreshOnlyAndDelete(t *testing.T) {
	ctx := context.Background()
	ws := newWorkspace(t)
	loadD(t, ws)
	applyDefinitions(t, ws)
	if _, err := ws.svc.Refresh(ctx, []string{"nope"}, asOf); err == nil {
		t.Error("refresh of an unknown trait succeeded")
	}
	rep, err := ws.svc.Refresh(ctx, []string{"revenue_all"}, asOf)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Profiles) != 1 || rep.Profiles["revenue_all"] != 2 {
		t.Errorf("refresh --only revenue_all: %v, want 2 profiles for revenue_all only", rep.Profiles)
	}
	if err := ws.svc.Delete(ctx, "revenue_all"); err != nil {
		t.Fatal(err)
	}
	if _, ok := ws.values(t)["u1"]["revenue_all"]; ok {
		t.Error("values of a deleted trait are still there")
	}
	var n int
	if err := ws.db.SQL().QueryRow(`SELECT count(*) FROM profile_scores WHERE name = 'revenue_all'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("profile_scores still has %d rows of the deleted trait (%v)", n, err)
	}
	if err := ws.svc.Delete(ctx, "revenue_all"); err == nil {
		t.Error("deleting twice succeeded")
	}
}

func TestNameClashWithAnotherScore(t *testing.T) {
	ctx := context.Background()
	ws := newWorkspace(t)
	loadD(t, ws)
	if _, err := ws.db.SQL().Exec(`INSERT INTO profile_scores VALUES ('x', 'propensity', '0.5', now())`); err != nil {
		t.Fatal(err)
	}
	_, err := ws.svc.Save(ctx, []computed.Definition{{Name: "propensity", Aggregate: "count", Over: "orders"}})
	if err == nil {
		t.Fatal("a trait took the name of another score")
	}
	if got, _ := ws.svc.List(ctx); len(got) != 0 {
		t.Errorf("the refused definition was stored: %v", got)
	}
}

// TestRunIncremental: the background worker picks touched profiles up and
// refreshes them; run with -race.
func TestRunIncremental(t *testing.T) {
	ws := newWorkspace(t)
	ws.track(t, eventsD[5])
	ws.svc = computed.NewService(ws.db, time.Now) // as of now: the events are in the past
	if _, err := ws.svc.Save(context.Background(), []computed.Definition{{Name: "views", Aggregate: "count", Over: "events"}}); err != nil {
		t.Fatal(err)
	}
	ws.tracker.Take()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		ws.svc.RunIncremental(ctx, ws.tracker, 10*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	defer func() { cancel(); <-done }()
	ws.track(t, eventsD[6], eventsD[7])
	deadline := time.Now().Add(10 * time.Second)
	for ws.values(t)["u2"]["views"] != "3" {
		if time.Now().After(deadline) {
			t.Fatalf("u2 views = %s after the incremental refresh, want 3", ws.values(t)["u2"]["views"])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
