package rule

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// The data set of the semantics tests, built by hand; every expected set
// below is worked out from these rows, not from the compiler's output.
//
// Live profiles: p1 p2 p3 p4 p7. p5 is merged into p1, p6 into p5 (chain
// p6 → p5 → p1): their events, orders, consents, identities, scores and
// memberships count for p1.
var (
	semNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	live   = []string{"p1", "p2", "p3", "p4", "p7"}
)

func ago(d time.Duration) time.Time { return semNow.Add(-d) }

const day = 24 * time.Hour

func openSemantics(t *testing.T) *sql.DB {
	t.Helper()
	ctx := context.Background()
	db, err := duckdb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	s := db.SQL()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	profile := func(id, mergedInto, traits, normalized string) {
		var m any
		if mergedInto != "" {
			m = mergedInto
		}
		exec(`INSERT INTO profiles (id, merged_into, traits, normalized, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			id, m, traits, normalized, semNow, semNow)
	}
	profile("p1", "", `{"city":"Lyon","age":34,"vip":true,"tags":["vip","newsletter"],"signup":"2026-01-10T23:30:00Z","address":{"zip":"69001"}}`,
		`{"email":{"value":"a@example.com","status":"valid"}}`)
	profile("p2", "", `{"city":"Paris","age":"41","tags":"vipers","signup":"2026-01-11T00:30:00+02:00"}`, `{"email":{"status":"invalid"}}`)
	profile("p3", "", `{"city":"Lyon","age":"abc","vip":"true"}`, `{}`)
	profile("p4", "", `{}`, `{}`)
	profile("p5", "p1", `{"city":"Marseille"}`, `{}`)
	profile("p6", "p5", `{"city":"Lyon"}`, `{}`)
	profile("p7", "", `{"city":"lyon"}`, `{}`)

	seq := 0
	event := func(pid, name string, at time.Time, props string) {
		seq++
		exec(`INSERT INTO events (seq, profile_id, source_id, message_id, dedup_hash, type, event, timestamp, received_at, properties)
			VALUES (?, ?, 'src', ?, ?, 'track', ?, ?, ?, ?)`, seq, pid, "m"+string(rune('a'+seq)), seq, name, at, at, props)
	}
	event("p1", "Order Completed", ago(10*day), `{}`)
	event("p5", "Order Completed", ago(20*day), `{}`)
	event("p2", "Order Completed", ago(5*day), `{}`)
	event("p2", "Order Completed", ago(100*day), `{}`)
	event("p3", "Order Completed", ago(1*day), `{}`)
	event("p3", "Order Completed", ago(2*day), `{}`)
	event("p3", "Order Completed", ago(3*day), `{}`)
	event("p2", "Email Opened", ago(7*day+time.Minute), `{}`)  // just outside "last 7 days"
	event("p3", "Email Opened", ago(6*day+23*time.Hour), `{}`) // just inside
	event("p6", "Email Opened", ago(time.Hour), `{}`)          // counts for p1
	event("p1", "Plan Changed", ago(day), `{"plan":"pro","amount":10}`)
	event("p2", "Plan Changed", ago(day), `{"plan":"free","amount":"5"}`)
	event("p3", "Plan Changed", ago(day), `{"plan":"pro","amount":"x"}`)
	event("ghost", "Ghost Event", ago(day), `{}`) // a profile id with no profile row

	ident := func(typ, value, pid string) {
		exec(`INSERT INTO identities (type, value, profile_id, display, source_id, first_seen_at) VALUES (?, ?, ?, ?, 'src', ?)`,
			typ, value, pid, value, semNow)
	}
	ident("email", "a@example.com", "p1")
	ident("phone", "+33600000006", "p6")
	ident("crm_id", "C-2", "p2")
	ident("phone", "+33600000003", "p3")

	n := 0
	consent := func(pid, purpose, status string, occurred, recorded time.Time) {
		n++
		exec(`INSERT INTO consents (id, profile_id, purpose, status, source_id, occurred_at, recorded_at, prev_hash, hash)
			VALUES (?, ?, ?, ?, 'src', ?, ?, '', '')`, "k"+string(rune('a'+n)), pid, purpose, status, occurred, recorded)
	}
	consent("p1", "email_marketing", "granted", ago(30*day), ago(30*day))
	consent("p1", "email_marketing", "withdrawn", ago(2*day), ago(2*day))
	consent("p2", "email_marketing", "granted", ago(3*day), ago(3*day))
	consent("p3", "email_marketing", "denied", ago(10*day), ago(10*day))
	consent("p3", "email_marketing", "granted", ago(1*day), ago(1*day))
	consent("p6", "sms", "granted", ago(1*day), ago(1*day))
	// A withdrawal recorded last but that occurred first: the occurrence
	// time decides, so p4 is granted.
	consent("p4", "email_marketing", "granted", ago(5*day), ago(5*day))
	consent("p4", "email_marketing", "withdrawn", ago(6*day), ago(1*day))
	// A tie on both times: the refusal wins.
	consent("p7", "email_marketing", "granted", ago(day), ago(day))
	consent("p7", "email_marketing", "withdrawn", ago(day), ago(day))

	order := func(pid any, id, status string, total float64, at time.Time) {
		exec(`INSERT INTO orders (profile_id, source_id, order_id, status, total, ordered_at, created_at, updated_at)
			VALUES (?, 'shop', ?, ?, ?, ?, ?, ?)`, pid, id, status, total, at, at, at)
	}
	order("p1", "o1", "completed", 100, ago(10*day))
	order("p1", "o2", "refunded", 50, ago(5*day))
	order("p5", "o3", "completed", 200, ago(40*day))
	order("p2", "o4", "completed", 30, ago(400*day))
	order("p2", "o5", "cancelled", 1000, ago(day))
	order("p3", "o6", "returned", 20, ago(day))
	order(nil, "o7", "completed", 999, ago(day)) // a guest order
	line := func(orderID string, no int, product, name, category, status string) {
		exec(`INSERT INTO order_items (source_id, order_id, line_no, product_id, name, category, quantity, status)
			VALUES ('shop', ?, ?, ?, ?, ?, 1, ?)`, orderID, no, product, name, category, status)
	}
	line("o1", 1, "SKU-1", "Mug", "Kitchen", "completed")
	line("o2", 1, "SKU-2", "Rake", "Garden", "refunded")
	line("o3", 1, "SKU-3", "Hose", "Garden", "returned") // the line was returned, its order not
	line("o4", 1, "SKU-2", "Rake", "Garden", "completed")
	line("o7", 1, "SKU-9", "Gift", "Garden", "completed")

	score := func(pid, name, value string) {
		exec(`INSERT INTO profile_scores (profile_id, name, value, computed_at) VALUES (?, ?, ?, ?)`, pid, name, value, semNow)
	}
	score("p1", "rfm_segment", `"Champions"`)
	score("p1", "revenue", `300`)
	score("p2", "rfm_segment", `"Lost"`)
	score("p2", "revenue", `30`)
	score("p5", "clv", `1000`)
	// Text that casts to a non-finite double is not a number: none of
	// these may match a numeric comparison.
	score("p3", "revenue", `"NaN"`)
	score("p4", "revenue", `"Infinity"`)
	score("p7", "revenue", `"1e999"`)

	member := func(pid, seg string, exited bool) {
		var ex any
		if exited {
			ex = ago(day)
		}
		exec(`INSERT INTO segment_memberships (profile_id, segment_id, entered_at, exited_at) VALUES (?, ?, ?, ?)`,
			pid, seg, ago(10*day), ex)
	}
	member("p2", "seg-a", false)
	member("p3", "seg-a", true)
	member("p5", "seg-a", false)
	return s
}

var semanticCases = []struct {
	rule string
	want []string
}{
	// Events and windows: 7 days and 1 minute is out, 6 days 23 hours in.
	{`did event "Email Opened" in last 7 days`, []string{"p1", "p3"}},
	{`did not event "Email Opened" in last 7 days`, []string{"p2", "p4", "p7"}},
	{`did event "Email Opened" in last 169 hours`, []string{"p1", "p2", "p3"}},
	{`did event "Order Completed" at least 2 times in last 90 days`, []string{"p1", "p3"}},
	{`did event "Order Completed" at most 1 times in last 90 days`, []string{"p2", "p4", "p7"}},
	{`did event "Order Completed" exactly 3 times`, []string{"p3"}},
	{`did event "Order Completed" more than 1 times`, []string{"p1", "p2", "p3"}},
	{`did event "Order Completed" fewer than 2 times in last 90 days`, []string{"p2", "p4", "p7"}},
	{`did event "Plan Changed" where properties.plan = "pro"`, []string{"p1", "p3"}},
	{`did event "Plan Changed" where properties.plan = "pro" and properties.amount > 1`, []string{"p1"}},
	{`did event "Plan Changed" with sum properties.amount >= 5`, []string{"p1", "p2"}},
	{`did event "Plan Changed" with sum properties.amount < 1`, []string{"p3", "p4", "p7"}},
	{`did event "Plan Changed" with max properties.amount > 6`, []string{"p1"}},
	{`did event "Plan Changed" with avg properties.amount = 5`, []string{"p2"}},
	// Paris days: 2026-06-05 is [06-04 22:00Z, 06-05 22:00Z).
	{`did event "Order Completed" between 2026-06-05 and 2026-06-05`, []string{"p1"}},
	{`did event "Order Completed" since 2026-06-10`, []string{"p2", "p3"}},
	{`did event "Order Completed" before 2026-03-08`, []string{"p2"}},
	{`did event "Ghost Event"`, nil},
	// Traits.
	{`trait.city = "Lyon"`, []string{"p1", "p3"}},
	{`trait.city != "Lyon"`, []string{"p2", "p7"}},
	{`not trait.city = "Lyon"`, []string{"p2", "p4", "p7"}},
	{`not not trait.city = "Lyon"`, []string{"p1", "p3"}},
	{`trait.age > 35`, []string{"p2"}},
	{`trait.age > "35"`, []string{"p2", "p3"}},
	{`trait.vip = true`, []string{"p1"}},
	{`trait.vip != true`, nil},
	{`trait.tags contains "vip"`, []string{"p1", "p2"}},
	{`trait.signup < 2026-01-11`, []string{"p2"}},
	{`trait.signup = 2026-01-11`, []string{"p1"}},
	{`trait.signup >= 2026-01-11`, []string{"p1"}},
	{`trait.address.zip starts with "69"`, []string{"p1"}},
	{`trait.city in ["Lyon", "Paris"]`, []string{"p1", "p2", "p3"}},
	{`trait.city not in ["Lyon"]`, []string{"p2", "p7"}},
	{`trait.age in [34, 41]`, []string{"p1", "p2"}},
	{`trait.city exists`, []string{"p1", "p2", "p3", "p7"}},
	{`trait.city not exists`, []string{"p4"}},
	{`normalized.email.status = "valid"`, []string{"p1"}},
	{`normalized.email.status in ["valid", "corrected"]`, []string{"p1"}},
	// Identities, consents, scores, segments.
	{`has phone`, []string{"p1", "p3"}},
	{`has email`, []string{"p1"}},
	{`has identity "crm_id"`, []string{"p2"}},
	{`consent email_marketing`, []string{"p2", "p3", "p4"}},
	{`consent sms`, []string{"p1"}},
	{`rfm = "champions"`, []string{"p1"}},
	{`rfm in ["Lost", "At risk"]`, []string{"p2"}},
	{`score.revenue > 100`, []string{"p1"}},
	{`score.clv >= 500`, []string{"p1"}},
	{`score.rfm_segment != "Champions"`, []string{"p2"}},
	{`in segment "A"`, []string{"p1", "p2"}},
	// Orders: refunded, cancelled and returned orders and guest orders left out.
	{`order revenue > 250`, []string{"p1"}},
	{`order revenue >= 100 in last 30 days`, []string{"p1"}},
	{`order count >= 1 in last 365 days`, []string{"p1"}},
	{`order count = 0`, []string{"p3", "p4", "p7"}},
	{`order revenue < 50`, []string{"p2", "p3", "p4", "p7"}},
	{`bought product "SKU-1"`, []string{"p1"}},
	{`bought product "Mug"`, []string{"p1"}},
	{`bought category "Garden"`, []string{"p2"}},
	{`bought category "Garden" in last 365 days`, nil},
	// Boolean structure.
	{`(trait.city = "Lyon" or trait.city = "Paris") and not consent email_marketing`, []string{"p1"}},
	{`trait.city = "Lyon" and did event "Order Completed" at least 2 times in last 90 days and consent email_marketing`, []string{"p3"}},
	{`trait.city = "Lyon" and did event "Order Completed" at least 2 times in last 90 days
	  and not did event "Email Opened" in last 30 days and consent email_marketing`, nil},
	{`has phone or has email or has identity "crm_id"`, []string{"p1", "p2", "p3"}},
	{`trait.city = "Paris" or trait.city = "Lyon" and has email`, []string{"p1", "p2"}},
	{`not has phone and not has email`, []string{"p2", "p4", "p7"}},
}

func segmentIDs(name string) (string, error) {
	if name == "A" {
		return "seg-a", nil
	}
	return "", errors.New("no such segment")
}

func runQuery(t *testing.T, db *sql.DB, q Query, extra ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q.SQL, append(q.Args, extra...)...)
	if err != nil {
		t.Fatalf("query: %v\n%s", err, q.SQL)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestSemantics(t *testing.T) {
	db := openSemantics(t)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	cands := []string{"p1", "p4", "p7", "p5", "ghost", "p1"} // a merged id, an unknown one, a repeat
	for _, c := range semanticCases {
		e, err := Parse(c.rule)
		if err != nil {
			t.Errorf("%s: %v", c.rule, err)
			continue
		}
		env := Env{Now: semNow, Location: paris, SegmentID: segmentIDs}
		q, err := Compile(e, env)
		if err != nil {
			t.Errorf("%s: %v", c.rule, err)
			continue
		}
		got := runQuery(t, db, q)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.rule, got, c.want)
		}
		for _, id := range got {
			if !slices.Contains(live, id) {
				t.Errorf("%s: %s is not a live profile", c.rule, id)
			}
		}
		// Only: the full result ∩ the live candidates, whether the
		// candidates are bound one by one too (Env.Candidates) or not.
		env.Only = true
		for _, cs := range [][]string{cands, {"p1"}, {"p5"}} {
			var want []string
			for _, id := range c.want {
				if slices.Contains(cs, id) {
					want = append(want, id)
				}
			}
			for _, bound := range []bool{false, true} {
				env.Candidates = nil
				if bound {
					env.Candidates = cs
				}
				q, err = Compile(e, env)
				if err != nil {
					t.Fatal(err)
				}
				if got := runQuery(t, db, q, cs); !slices.Equal(got, want) {
					t.Errorf("%s (only %v, bound %v):\n got %v\nwant %v", c.rule, cs, bound, got, want)
				}
			}
		}
	}
}
