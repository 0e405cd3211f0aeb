package rule

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Aging compiles the query for the clock's side of keeping segments current:
// the live profiles (column profile_id, each once) whose result under one of
// exprs may differ between an evaluation at from and one at to (from < to)
// when no data changed in between (from and to in either order, not equal). Only "in last N days|hours" windows move
// with the clock (DependsOnNow), and such a window holds the rows with
// column > now − N, so a row changes sides exactly when
// from − N < column ≤ to − N. The query returns the live profiles that such
// rows count for (merged-away owners mapped to their root); every other
// profile has the same rows in every window at to as at from. ok is false
// when no expr has a moving window.
//
// The set is deliberately wider than the profiles whose membership changes:
// an order row counts whatever its status, and an event row of any property.
func Aging(exprs []Expr, from, to time.Time) (q Query, ok bool, err error) {
	if to.Before(from) {
		from, to = to, from // a clock set back: the same rows cross back
	}
	if to.Equal(from) {
		return Query{}, false, fmt.Errorf("aging query: %w: the interval starts and ends at %s", ErrInvalid,
			to.Format(time.RFC3339Nano))
	}
	events := map[time.Duration]map[string]bool{} // window length → event names
	orders := map[time.Duration]bool{}
	for _, e := range exprs {
		if err := validate(e, 0, new(int)); err != nil {
			return Query{}, false, err
		}
		walk(e, func(x Expr) {
			switch c := x.(type) {
			case *Event:
				if d := c.Window.length(); d > 0 {
					if events[d] == nil {
						events[d] = map[string]bool{}
					}
					events[d][c.Name] = true
				}
			case *Orders:
				if d := c.Window.length(); d > 0 {
					orders[d] = true
				}
			case *Bought:
				if d := c.Window.length(); d > 0 {
					orders[d] = true
				}
			}
		})
	}
	if len(events)+len(orders) == 0 {
		return Query{}, false, nil
	}
	c := &compiler{env: Env{Now: to, Location: time.UTC}}
	between := func(col string, d time.Duration) string {
		return col + " > " + c.ts(from.Add(-d)) + " AND " + col + " <= " + c.ts(to.Add(-d))
	}
	var parts []string
	for _, d := range sortedDurations(events) {
		var names []string
		for n := range events[d] {
			names = append(names, n)
		}
		sort.Strings(names)
		ph := make([]string, len(names))
		for i, n := range names {
			ph[i] = c.arg(n)
		}
		parts = append(parts, "SELECT profile_id FROM events WHERE event IN ("+strings.Join(ph, ", ")+") AND "+between("timestamp", d))
	}
	for _, d := range sortedDurations(orders) {
		parts = append(parts, "SELECT profile_id FROM orders WHERE profile_id IS NOT NULL AND "+between("ordered_at", d))
	}
	sql := "WITH RECURSIVE\n" + mergedCTE + "edge AS (\n\t" + strings.Join(parts, "\n\tUNION ") + ")\n" +
		"SELECT DISTINCT coalesce(m.root, e.profile_id) AS profile_id FROM edge e LEFT JOIN merged m ON m.id = e.profile_id\n" +
		"WHERE e.profile_id IS NOT NULL"
	return Query{SQL: sql, Args: c.args}, true, nil
}

// length is a moving window's N as a duration (0: the window does not move).
func (w Window) length() time.Duration {
	if w.Last <= 0 {
		return 0
	}
	d := time.Duration(w.Last) * time.Hour
	if w.Unit == "days" {
		d *= 24
	}
	return d
}

func sortedDurations[V any](m map[time.Duration]V) []time.Duration {
	out := make([]time.Duration, 0, len(m))
	for d := range m {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
