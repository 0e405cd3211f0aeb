package recommend

import (
	"math"
	"strings"
	"testing"
)

// Three customers, k = 3, worked out by hand:
//
//	c1 recommended [a b c d], relevant {c, x}: first 3 = a b c → 1 found
//	   hit; precision 1/3; recall 1/2 (d is beyond k and does not count)
//	c2 recommended [a b],     relevant {y}:    0 found; precision 0; recall 0
//	c3 recommended [y y z],   relevant {y, z}: y (once) and z → 2 found
//	   hit; precision 2/3; recall 2/2
//	c4 relevant {} → not counted
//
// hit rate 2/3; precision (1/3 + 0 + 2/3) / 3 = 1/3; recall (1/2 + 0 + 1) / 3 = 1/2.
func TestEvaluateByHand(t *testing.T) {
	cases := []Case{
		{ProfileID: "c1", Recommended: []string{"a", "b", "c", "d"}, Relevant: []string{"c", "x"}},
		{ProfileID: "c2", Recommended: []string{"a", "b"}, Relevant: []string{"y"}},
		{ProfileID: "c3", Recommended: []string{"y", "y", "z"}, Relevant: []string{"y", "z"}},
		{ProfileID: "c4", Recommended: []string{"a"}},
	}
	got := Evaluate(cases, 3)
	want := Metrics{Customers: 3, Hits: 2, HitRate: 2.0 / 3, Precision: 1.0 / 3, Recall: 0.5}
	if got.Customers != want.Customers || got.Hits != want.Hits || !near(got.HitRate, want.HitRate) ||
		!near(got.Precision, want.Precision) || !near(got.Recall, want.Recall) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if z := Evaluate(nil, 10); z != (Metrics{}) {
		t.Errorf("no cases: %+v", z)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestOptionsBounds(t *testing.T) {
	o, err := Options{}.WithDefaults()
	if err != nil || o.Neighbours != DefaultNeighbours || o.WindowDays != DefaultWindowDays || o.MinTogether != DefaultMinTogether || o.ViewWeight != DefaultViewWeight {
		t.Fatalf("defaults %+v %v", o, err)
	}
	for _, bad := range []Options{{Neighbours: -1}, {Neighbours: 1001}, {WindowDays: -5}, {WindowDays: 4000}, {MaxItems: 1}, {MinTogether: -1}, {ViewWeight: 1.5}, {ViewWeight: -0.1}} {
		if _, err := bad.WithDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// Every placeholder of the statements is bound where they are used; Bind
// refuses a statement with one left over.
func TestBind(t *testing.T) {
	for name, stmt := range map[string]string{"profile": ProfileRecommendSQL, "incidence": IncidenceSQL} {
		if strings.Contains(stmt, "{{") {
			t.Errorf("%s statement has an unbound table", name)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Bind left {{history}} unbound without panicking")
		}
	}()
	Bind(BatchRecommendSQL, map[string]string{"neighbours": "n", "items": "i"})
}
