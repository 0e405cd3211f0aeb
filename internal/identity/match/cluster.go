package match

import (
	"maps"
	"math"
	"slices"
)

// Clustering.
//
// Pairs at or above the auto-merge threshold are edges; their connected
// components are the raw groups. Connected components alone chain: A–B
// strong and B–C strong glue A and C even when A and C are plainly different
// people, and one bridging pair glues two whole clusters. So inside each
// component of three or more records the edges are replayed strongest first,
// and an edge merges its two current groups only when the average match
// probability over every pair between the groups reaches
// ClusterLinkThreshold (average linkage). A bridge between two groups of
// three has one strong pair and eight weak ones: its average is low and it
// is refused. Pairs between the groups that blocking never compared are
// scored on the spot (unknown is not a non-match), and so every pair inside
// a final cluster has been scored.

type unionFind []int32

func newUnionFind(n int) unionFind {
	u := make(unionFind, n)
	for i := range u {
		u[i] = int32(i)
	}
	return u
}

func (u unionFind) find(x int32) int32 {
	for u[x] != x {
		u[x] = u[u[x]]
		x = u[x]
	}
	return x
}

func logit2(p float64) float64 { return math.Log2(p / (1 - p)) }

func pairKey(a, b int32) uint64 {
	if a > b {
		a, b = b, a
	}
	return uint64(a)<<32 | uint64(uint32(b))
}

// clusterAndDecide fills Clusters, Review, LateScoredPairs and GuardSplits.
func clusterAndDecide(res *Result, bl *blocking) {
	cfg := res.Config
	mergeW := logit2(cfg.AutoMergeThreshold)

	uf := newUnionFind(res.Records)
	touched := make([]bool, res.Records)
	for _, p := range res.Pairs {
		if p.Weight >= mergeW {
			touched[p.A], touched[p.B] = true, true
			if ra, rb := uf.find(p.A), uf.find(p.B); ra != rb {
				uf[max(ra, rb)] = min(ra, rb)
			}
		}
	}
	// Group members and pairs by component; the root is the smallest
	// member, so iterating roots in order is deterministic.
	members := map[int32][]int32{}
	for i := range touched {
		if touched[i] {
			r := uf.find(int32(i))
			members[r] = append(members[r], int32(i))
		}
	}
	compPairs := map[int32][]ScoredPair{}
	for _, p := range res.Pairs {
		if !touched[p.A] || !touched[p.B] {
			continue
		}
		if r := uf.find(p.A); r == uf.find(p.B) {
			compPairs[r] = append(compPairs[r], p)
		}
	}
	roots := slices.Sorted(maps.Keys(members))

	final := newUnionFind(res.Records)
	g := guard{mergeW: mergeW, link: cfg.ClusterLinkThreshold, final: final}
	g.score = func(a, b int32) float64 {
		recs := res.recs
		pat := compareAll(res.cmps, &recs[a], &recs[b])
		w := res.scorer.weight(pat, &recs[a])
		if !bl.isCandidate(uint32(a), uint32(b)) {
			// Blocking never compared these two: keep the late score.
			g.late = append(g.late, ScoredPair{A: a, B: b, Pattern: pat, Weight: w, Late: true})
		}
		return Probability(w)
	}
	for _, r := range roots {
		g.component(members[r], compPairs[r])
	}
	res.Pairs = append(res.Pairs, g.late...)
	sortPairs(res.Pairs)

	byRoot := map[int32][]int{}
	for i := range touched {
		if touched[i] {
			r := final.find(int32(i))
			byRoot[r] = append(byRoot[r], i)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(byRoot)) {
		if len(byRoot[r]) >= 2 {
			res.Clusters = append(res.Clusters, byRoot[r])
		}
	}
	reviewW := logit2(cfg.ReviewThreshold)
	for _, p := range res.Pairs {
		if p.Weight >= reviewW && final.find(p.A) != final.find(p.B) {
			res.Review = append(res.Review, p)
		}
	}
	slices.SortStableFunc(res.Review, func(x, y ScoredPair) int {
		switch {
		case x.Weight > y.Weight:
			return -1
		case x.Weight < y.Weight:
			return 1
		}
		return 0
	})
	res.LateScoredPairs = len(g.late)
	res.GuardSplits = g.splits
}

// guard runs average linkage inside one component at a time.
type guard struct {
	// score returns the match probability of a pair not seen before (a < b).
	score  func(a, b int32) float64
	mergeW float64
	link   float64
	final  unionFind
	late   []ScoredPair
	splits int
	known  map[uint64]float64 // probability of pairs seen in this component
}

func (g *guard) component(mem []int32, pairs []ScoredPair) {
	if len(mem) == 2 {
		g.final[mem[1]] = mem[0]
		return
	}
	g.known = make(map[uint64]float64, len(pairs)*2)
	var edges []ScoredPair
	for _, p := range pairs {
		g.known[pairKey(p.A, p.B)] = Probability(p.Weight)
		if p.Weight >= g.mergeW {
			edges = append(edges, p)
		}
	}
	slices.SortStableFunc(edges, func(x, y ScoredPair) int {
		switch {
		case x.Weight > y.Weight:
			return -1
		case x.Weight < y.Weight:
			return 1
		}
		return 0
	})
	groups := map[int32][]int32{} // root -> members
	for _, m := range mem {
		groups[m] = []int32{m}
	}
	refused := map[[4]int32]bool{}
	for pass := 0; pass < 3; pass++ {
		merged := false
		for _, e := range edges {
			ra, rb := g.final.find(e.A), g.final.find(e.B)
			if ra == rb {
				continue
			}
			ga, gb := groups[ra], groups[rb]
			key := [4]int32{min(ra, rb), max(ra, rb), int32(len(ga)), int32(len(gb))}
			if refused[key] {
				continue
			}
			if g.averageLink(ga, gb) < g.link {
				refused[key] = true
				continue
			}
			root, other := min(ra, rb), max(ra, rb)
			g.final[other] = root
			groups[root] = append(groups[root], groups[other]...)
			delete(groups, other)
			merged = true
		}
		if !merged {
			break
		}
	}
	for _, e := range edges {
		if g.final.find(e.A) != g.final.find(e.B) {
			g.splits++
		}
	}
}

// averageLink is the mean match probability over all pairs between two
// groups, scoring the pairs it has not seen.
func (g *guard) averageLink(ga, gb []int32) float64 {
	var sum float64
	for _, a := range ga {
		for _, b := range gb {
			sum += g.prob(a, b)
		}
	}
	return sum / float64(len(ga)*len(gb))
}

func (g *guard) prob(a, b int32) float64 {
	k := pairKey(a, b)
	if p, ok := g.known[k]; ok {
		return p
	}
	p := g.score(min(a, b), max(a, b))
	g.known[k] = p
	return p
}
