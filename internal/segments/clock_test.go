package segments_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/segments"
)

// The scheduler's clock passes re-evaluate only the profiles with rows that
// crossed a window edge. Over 80 random clock steps (minutes to a day, some
// landing exactly on an edge), with new events, a merge and a segment that
// refers to a windowed one in between, every segment's members after each
// pass equal the members computed here in Go from the rows the test wrote
// (the rule semantics of docs/segments-language.md, written out by hand).
func TestClockPassesMatchAnIndependentComputation(t *testing.T) {
	f := newFixture(t, nil)
	rng := rand.New(rand.NewPCG(7, 11))
	m := &model{root: map[string]string{}, city: map[string]string{}}
	const n = 40
	for i := range n {
		id := fmt.Sprintf("p%02d", i)
		city := []string{"Lyon", "Paris", "Nantes"}[i%3]
		f.profile(id, fmt.Sprintf(`{"city":%q}`, city))
		m.profiles = append(m.profiles, id)
		m.city[id] = city
	}
	// Merged-away profiles from the start: their rows count for the root.
	for _, mg := range [][2]string{{"p01", "p00"}, {"p02", "p01"}, {"p05", "p04"}} {
		f.exec(`UPDATE profiles SET merged_into = ? WHERE id = ?`, mg[1], mg[0])
		m.root[mg[0]] = mg[1]
	}
	minute := func(lo, hi time.Duration) time.Time {
		span := int64((hi - lo) / time.Minute)
		return t0.Add(lo + time.Duration(rng.Int64N(span))*time.Minute)
	}
	addEvent := func(pid, name string, at time.Time) {
		f.event(pid, name, at)
		m.events = append(m.events, row{pid: pid, name: name, at: at})
	}
	for range 120 {
		pid := m.profiles[rng.IntN(n)]
		addEvent(pid, []string{"Purchase", "Visit"}[rng.IntN(2)], minute(-12*24*time.Hour, 2*24*time.Hour))
	}
	statuses := []string{"completed", "completed", "completed", "refunded", "cancelled"}
	for i := range 60 {
		var pid any
		if k := rng.IntN(n + 5); k < n {
			pid = m.profiles[k]
		} // else a guest order, which counts for nobody
		o := row{at: minute(-12*24*time.Hour, 2*24*time.Hour), status: statuses[rng.IntN(len(statuses))],
			total: float64(10 + rng.IntN(120)), category: []string{"Garden", "Kitchen"}[rng.IntN(2)],
			lineStatus: statuses[rng.IntN(len(statuses))]}
		if pid != nil {
			o.pid = pid.(string)
		}
		oid := fmt.Sprintf("o%d", i)
		f.exec(`INSERT INTO orders (profile_id, source_id, order_id, status, total, ordered_at, created_at, updated_at)
			VALUES (?, 'shop', ?, ?, ?, ?, ?, ?)`, pid, oid, o.status, o.total, o.at, t0, t0)
		f.exec(`INSERT INTO order_items (profile_id, source_id, order_id, line_no, product_id, name, category, quantity, status)
			VALUES (?, 'shop', ?, 1, 'sku', 'Thing', ?, 1, ?)`, pid, oid, o.category, o.lineStatus)
		m.orders = append(m.orders, o)
	}

	rules := map[string]string{
		"recent buyers":  `did event "Purchase" in last 7 days`,
		"no recent":      `not did event "Visit" in last 2 days`,
		"frequent":       `did event "Purchase" at least 2 times in last 3 days`,
		"quiet":          `did event "Visit" at most 1 times in last 36 hours`,
		"spenders":       `order revenue > 100 in last 5 days`,
		"gardeners":      `bought category "Garden" in last 4 days`,
		"buyers outside": `in segment "recent buyers" and not trait.city = "Lyon"`,
	}
	names := make([]string, 0, len(rules))
	for name := range rules {
		names = append(names, name)
	}
	sort.Strings(names)
	ids := map[string]string{}
	for _, name := range names {
		if name != "buyers outside" {
			ids[name] = f.create(name, rules[name]).ID
		}
	}
	// The referring segment after the one it refers to.
	ids["buyers outside"] = f.create("buyers outside", rules["buyers outside"]).ID
	check := func(step int) {
		t.Helper()
		now := f.clk.Now()
		for _, name := range names {
			want := sorted(m.members(name, now)...)
			if got := f.open(ids[name]); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("step %d (now %s), %q: members %v, want %v", step, now.Format(time.RFC3339), name, got, want)
			}
		}
	}
	check(0)

	windows := []struct {
		d      time.Duration
		event  string
		orders bool
	}{{7 * 24 * time.Hour, "Purchase", false}, {48 * time.Hour, "Visit", false}, {72 * time.Hour, "Purchase", false},
		{36 * time.Hour, "Visit", false}, {5 * 24 * time.Hour, "", true}, {4 * 24 * time.Hour, "", true}}
	const steps = 80
	clockPasses := 0
	for step := 1; step <= steps; step++ {
		var d time.Duration
		switch rng.IntN(5) {
		case 0, 3, 4: // land exactly on the next edge of some window: a row leaves it now
			w := windows[rng.IntN(len(windows))]
			rows := m.orders
			if !w.orders {
				rows = m.events
			}
			for _, r := range rows {
				if edge := r.at.Add(w.d); (w.orders || r.name == w.event) && edge.After(f.clk.Now()) && (d == 0 || edge.Sub(f.clk.Now()) < d) {
					d = edge.Sub(f.clk.Now())
				}
			}
		case 1:
			d = time.Duration(1+rng.IntN(24*60)) * time.Minute
		case 2:
			d = time.Duration(1+rng.IntN(180)) * time.Minute
		}
		if d == 0 {
			d = time.Minute
		}
		f.clk.Add(d)
		// Data changes in real time between passes.
		if rng.IntN(3) == 0 {
			pid := m.live()[rng.IntN(len(m.live()))]
			addEvent(pid, []string{"Purchase", "Visit"}[rng.IntN(2)], f.clk.Now().Add(-time.Duration(rng.IntN(72*60))*time.Minute))
			f.svc.Touched([]string{pid}, nil)
			if _, err := f.svc.EvaluateTouched(f.ctx); err != nil {
				t.Fatal(err)
			}
		}
		if step == 20 { // p10's data now counts for p11
			f.exec(`UPDATE profiles SET merged_into = 'p11' WHERE id = 'p10'`)
			m.root["p10"] = "p11"
			f.svc.Touched([]string{"p11"}, []string{"p10"})
			if _, err := f.svc.EvaluateTouched(f.ctx); err != nil {
				t.Fatal(err)
			}
		}
		res, err := f.svc.Refresh(f.ctx, segments.RefreshOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Segments {
			if c.Error != "" {
				t.Fatalf("step %d: %s: %s", step, c.Name, c.Error)
			}
			if c.Pass == "clock" {
				clockPasses++
			}
		}
		if len(res.Segments) != len(rules) {
			t.Fatalf("step %d: the scheduler computed %d segments, want the %d that move with the clock",
				step, len(res.Segments), len(rules))
		}
		check(step)
	}
	if clockPasses != steps*len(rules) {
		t.Errorf("%d clock passes, want every scheduled pass of every segment (%d)", clockPasses, 40*len(rules))
	}
}

type row struct {
	pid, name, status, category, lineStatus string
	at                                      time.Time
	total                                   float64
}

// model holds the rows the test wrote, and computes memberships from them.
type model struct {
	profiles []string
	root     map[string]string // merged-away → the profile it was merged into
	city     map[string]string
	events   []row
	orders   []row
}

func (m *model) live() []string {
	var out []string
	for _, p := range m.profiles {
		if m.root[p] == "" {
			out = append(out, p)
		}
	}
	return out
}

func (m *model) liveRoot(p string) string {
	for m.root[p] != "" {
		p = m.root[p]
	}
	return p
}

func revenue(status string) bool {
	return status != "cancelled" && status != "refunded" && status != "returned"
}

func (m *model) members(segment string, now time.Time) []string {
	in := func(at time.Time, d time.Duration) bool { return at.After(now.Add(-d)) }
	count := func(p, name string, d time.Duration) int {
		k := 0
		for _, e := range m.events {
			if m.liveRoot(e.pid) == p && e.name == name && in(e.at, d) {
				k++
			}
		}
		return k
	}
	var out []string
	for _, p := range m.live() {
		var ok bool
		switch segment {
		case "recent buyers":
			ok = count(p, "Purchase", 7*24*time.Hour) >= 1
		case "no recent":
			ok = count(p, "Visit", 48*time.Hour) == 0
		case "frequent":
			ok = count(p, "Purchase", 72*time.Hour) >= 2
		case "quiet":
			ok = count(p, "Visit", 36*time.Hour) <= 1
		case "spenders":
			sum := 0.0
			for _, o := range m.orders {
				if o.pid != "" && m.liveRoot(o.pid) == p && revenue(o.status) && in(o.at, 5*24*time.Hour) {
					sum += o.total
				}
			}
			ok = sum > 100
		case "gardeners":
			for _, o := range m.orders {
				if o.pid != "" && m.liveRoot(o.pid) == p && revenue(o.status) && revenue(o.lineStatus) &&
					o.category == "Garden" && in(o.at, 4*24*time.Hour) {
					ok = true
				}
			}
		case "buyers outside":
			ok = count(p, "Purchase", 7*24*time.Hour) >= 1 && m.city[p] != "Lyon"
		}
		if ok {
			out = append(out, p)
		}
	}
	return out
}
