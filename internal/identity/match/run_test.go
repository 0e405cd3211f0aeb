package match

import (
	"context"
	"math"
	"reflect"
	"slices"
	"strconv"
	"testing"
)

// The chain guard: two tight groups of three joined by one strong bridging
// pair stay two clusters; a group with one weak inner pair stays one.
func TestGuardRefusesBridge(t *testing.T) {
	t.Parallel()
	p := map[uint64]float64{}
	set := func(a, b int32, v float64) { p[pairKey(a, b)] = v }
	for _, g := range [][]int32{{0, 1, 2}, {3, 4, 5}} {
		set(g[0], g[1], 0.99)
		set(g[0], g[2], 0.99)
		set(g[1], g[2], 0.99)
	}
	set(2, 3, 0.99) // the bridge
	// A third group whose inner pair 6-8 is weak but whose average is high.
	set(6, 7, 0.99)
	set(7, 8, 0.99)
	set(6, 8, 0.3)

	final := newUnionFind(9)
	scored := 0
	g := guard{mergeW: logit2(0.95), link: 0.5, final: final, score: func(a, b int32) float64 {
		scored++
		return p[pairKey(a, b)] // unknown pairs are 0 here: the test knows them all
	}}
	var comp1 []ScoredPair
	for _, k := range []uint64{pairKey(0, 1), pairKey(0, 2), pairKey(1, 2), pairKey(3, 4), pairKey(3, 5), pairKey(4, 5), pairKey(2, 3)} {
		a, b := int32(k>>32), int32(uint32(k))
		comp1 = append(comp1, ScoredPair{A: a, B: b, Weight: logit2(p[k])})
	}
	g.component([]int32{0, 1, 2, 3, 4, 5}, comp1)
	if final.find(0) == final.find(5) {
		t.Error("the bridge glued two groups")
	}
	if final.find(0) != final.find(2) || final.find(3) != final.find(5) {
		t.Error("a group was split")
	}
	if g.splits != 1 {
		t.Errorf("splits = %d, want 1", g.splits)
	}
	if scored == 0 {
		t.Error("the cross pairs blocking never saw were not scored")
	}
	comp2 := []ScoredPair{{A: 6, B: 7, Weight: logit2(0.99)}, {A: 7, B: 8, Weight: logit2(0.99)}}
	g.component([]int32{6, 7, 8}, comp2)
	if final.find(6) != final.find(8) {
		t.Error("average 0.645 should keep 6-7-8 together")
	}
}

func TestRunDeterministicAcrossWorkers(t *testing.T) {
	t.Parallel()
	recs, _ := febrl("febrl1.csv")(t)
	var prev *Result
	for _, w := range []int{1, 2, 3} {
		cfg := DefaultConfig()
		cfg.Workers = w
		cfg.USamplePairs = 100_000
		res, err := Run(context.Background(), cfg, recs)
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil {
			if res.Model.Prior != prev.Model.Prior || !reflect.DeepEqual(res.Model.Comparisons, prev.Model.Comparisons) {
				t.Fatalf("workers=%d: model differs", w)
			}
			if !reflect.DeepEqual(res.Clusters, prev.Clusters) || !reflect.DeepEqual(res.Pairs, prev.Pairs) {
				t.Fatalf("workers=%d: clusters or pairs differ", w)
			}
		}
		prev = res
	}
}

func TestExplainAddsUp(t *testing.T) {
	t.Parallel()
	recs, _ := febrl("febrl1.csv")(t)
	cfg := DefaultConfig()
	cfg.USamplePairs = 100_000
	res, err := Run(context.Background(), cfg, recs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pairs) == 0 {
		t.Fatal("no pairs")
	}
	for _, p := range res.Pairs[:min(50, len(res.Pairs))] {
		e := res.Explain(int(p.A), int(p.B))
		sum := e.PriorWeight
		for _, c := range e.Contributions {
			sum += c.Weight
			if c.Level == 0 && c.Weight != 0 {
				t.Errorf("%s missing but weighs %v", c.Comparison, c.Weight)
			}
		}
		if math.Abs(sum-e.Weight) > 1e-9 || math.Abs(e.Weight-p.Weight) > 1e-9 {
			t.Errorf("pair %d-%d: contributions %v, explanation %v, pair %v", p.A, p.B, sum, e.Weight, p.Weight)
		}
		if e.A != recs[p.A].ID || e.B != recs[p.B].ID {
			t.Errorf("ids %s %s", e.A, e.B)
		}
	}
	// Decisions follow the thresholds.
	for _, tc := range []struct {
		p    float64
		want Decision
	}{{0.99, AutoMerge}, {0.95, AutoMerge}, {0.7, Review}, {0.2, NoMatch}} {
		if got := res.Decide(tc.p); got != tc.want {
			t.Errorf("Decide(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	// Every record of a cluster is paired with every other one by a scored
	// pair (blocking's or a late one) when the cluster has three or more.
	scored := map[uint64]bool{}
	for _, p := range res.Pairs {
		scored[pairKey(p.A, p.B)] = true
	}
	for _, c := range res.Clusters {
		if len(c) < 3 {
			continue
		}
		for i := range c {
			for j := i + 1; j < len(c); j++ {
				if !scored[pairKey(int32(c[i]), int32(c[j]))] && !res.bl.isCandidate(uint32(c[i]), uint32(c[j])) {
					t.Errorf("cluster pair %d-%d never scored", c[i], c[j])
				}
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Config){
		"thresholds":  func(c *Config) { c.ReviewThreshold = 0.99 },
		"block size":  func(c *Config) { c.MaxBlockSize = 1 },
		"unknown key": func(c *Config) { c.Blocking = []BlockingRule{{Name: "x", Keys: []string{"shoe_size"}}} },
		"no rule":     func(c *Config) { c.Blocking = nil },
		"comparison":  func(c *Config) { c.Comparisons = []string{"shoe_size"} },
		"link":        func(c *Config) { c.ClusterLinkThreshold = 1 },
		"sample":      func(c *Config) { c.USamplePairs = 10 },
	} {
		cfg := DefaultConfig()
		mutate(&cfg)
		if cfg.Validate() == nil {
			t.Errorf("%s: invalid config accepted", name)
		}
		if _, err := Run(context.Background(), cfg, nil); err == nil {
			t.Errorf("%s: Run accepted an invalid config", name)
		}
	}
}

func TestRunTinyInputs(t *testing.T) {
	t.Parallel()
	for _, recs := range [][]Record{nil, {{ID: "a"}}, {{ID: "a"}, {ID: "b"}}} {
		res, err := Run(context.Background(), DefaultConfig(), recs)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Clusters) != 0 {
			t.Errorf("%d records: clusters %v", len(recs), res.Clusters)
		}
	}
}

func TestRunCancelled(t *testing.T) {
	t.Parallel()
	recs, _ := Generate(2000, 0.2, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, DefaultConfig(), recs); err == nil {
		t.Error("cancelled run returned no error")
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	a, ea := Generate(3000, 0.3, 7)
	b, eb := Generate(3000, 0.3, 7)
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ea, eb) {
		t.Fatal("same seed, different records")
	}
	if len(a) != 3000 || len(ea) != 3000 {
		t.Fatalf("got %d records", len(a))
	}
	distinct := map[string]bool{}
	for _, e := range ea {
		distinct[e] = true
	}
	if got := len(a) - len(distinct); got != 900 {
		t.Errorf("%d duplicates, want 900", got)
	}
	c, _ := Generate(3000, 0.3, 8)
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds, same records")
	}
	ids := make([]string, len(a))
	for i, r := range a {
		ids[i] = r.ID
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != len(a) {
		t.Error("duplicate record ids")
	}
}

// The generator's duplicates are findable: the default configuration gets
// them with high F1, so the bench measures a realistic workload.
func TestGeneratedAccuracy(t *testing.T) {
	t.Parallel()
	recs, ents := Generate(20000, 0.25, 3)
	cfg := DefaultConfig()
	cfg.USamplePairs = 300_000
	res, err := Run(context.Background(), cfg, recs)
	if err != nil {
		t.Fatal(err)
	}
	truth := truthLabels(recs, func(r Record) string { return ents[indexOf(recs, r.ID)] })
	m := Score(res, truth)
	t.Logf("generated: precision %.4f recall %.4f f1 %.4f candidates %d", m.Precision, m.Recall, m.F1, m.CandidatePairs)
	if m.F1 < 0.95 {
		t.Errorf("F1 %.4f on generated data", m.F1)
	}
}

func indexOf(recs []Record, id string) int {
	// Generated ids are "gen-<index>".
	var n int
	for _, c := range id[len("gen-"):] {
		n = n*10 + int(c-'0')
	}
	return n
}

func BenchmarkRun(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		recs, _ := Generate(n, 0.25, 42)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			var pairs int64
			for b.Loop() {
				res, err := Run(context.Background(), DefaultConfig(), recs)
				if err != nil {
					b.Fatal(err)
				}
				pairs += res.ComparedPairs
			}
			b.ReportMetric(float64(pairs)/b.Elapsed().Seconds(), "pairs/s")
		})
	}
}

func BenchmarkCompare(b *testing.B) {
	recs, _ := Generate(10_000, 0.25, 42)
	ps := prepareAll(recs, 1)
	cmps := Comparisons()
	cr, _ := compileRules(DefaultBlockingRules(), cmps)
	bl := buildBlocking(cr, ps, 500)
	var pairs [][2]uint32
	for _, blk := range bl.blocks {
		m := bl.order[blk.rule][blk.start:blk.end]
		for x := range m {
			for y := x + 1; y < len(m); y++ {
				pairs = append(pairs, [2]uint32{m[x], m[y]})
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := pairs[i%len(pairs)]
		compareAll(cmps, &ps[p[0]], &ps[p[1]])
	}
}
