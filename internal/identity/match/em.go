package match

import (
	"maps"
	"math"
	"math/bits"
	"slices"
)

// Fitting the model.
//
// u comes from random pairs: nearly all of them are non-matches, so the
// level frequencies among them are P(level | non-match).
//
// m comes from EM, one session per blocking rule, as Splink does. A
// session sees every candidate pair its rule blocks (whichever rule
// produced it first) and fits a two-class mixture with u held at the random
// values, estimating m and the session's match share. The comparisons the
// rule's keys touch are left out of the session: among pairs blocked on
// postcode, different people agree on postcode, locality and region far
// more often than random pairs do, and a mixture that saw those fields
// would call neighbours matches. Each m is then the average of the sessions
// that estimated it, weighted by their expected matches. Without that
// exclusion EM on all candidate pairs finds "same place" instead of "same
// person" as soon as localities are large (it did on generated data).

// covKey is a distinct comparison vector together with the set of rules that
// block the pair.
type covKey struct {
	pat   uint64
	rules uint32
}

// EMSession is the outcome of one EM run.
type EMSession struct {
	Rule       string  `json:"rule"`
	Pairs      int64   `json:"pairs"`
	MatchShare float64 `json:"match_share"`
	Iterations int     `json:"iterations"`
	Converged  bool    `json:"converged"`
	// Estimated names the comparisons this session estimated m for.
	Estimated []string `json:"estimated"`

	m      [][]float64
	active []bool
}

// levelDist estimates P(level) from pattern counts with a half-count
// smoothing, so that a level the sample never saw gets a small, not zero,
// probability. ok is false when the comparison was never non-missing.
func levelDist(counts map[uint64]int64, k, nLevels int) (dist []float64, ok bool) {
	dist = make([]float64, nLevels)
	var tot float64
	for pat, c := range counts {
		if l := levelOf(pat, k); l > 0 {
			dist[l-1] += float64(c)
			tot += float64(c)
		}
	}
	if tot == 0 {
		return dist, false
	}
	for l := range dist {
		dist[l] = (dist[l] + 0.5) / (tot + 0.5*float64(nLevels))
	}
	return dist, true
}

// patternCount is a distinct comparison vector and how many pairs had it.
type patternCount struct {
	pat uint64
	n   float64
}

func sortedPatterns(counts map[uint64]float64) []patternCount {
	out := make([]patternCount, 0, len(counts))
	for p, c := range counts {
		out = append(out, patternCount{p, c})
	}
	// Sorted so that EM's floating-point sums do not depend on map order.
	slices.SortFunc(out, func(a, b patternCount) int {
		switch {
		case a.pat < b.pat:
			return -1
		case a.pat > b.pat:
			return 1
		}
		return 0
	})
	return out
}

// startingM is EM's starting point: 0.8 on the strongest level, 0.05 on
// disagreement, the rest spread between. It is also the m of a comparison
// that no session could estimate.
func startingM(L int) []float64 {
	m := make([]float64, L)
	if L == 2 {
		return []float64{0.95, 0.05}
	}
	m[0], m[L-1] = 0.8, 0.05
	for l := 1; l < L-1; l++ {
		m[l] = 0.15 / float64(L-2)
	}
	return m
}

// runEM fits λ and m of the active comparisons with u fixed. It stops when
// no parameter moves by more than tol, or after maxIter iterations.
func runEM(pats []patternCount, nLevels []int, u [][]float64, active []bool, maxIter int, tol float64) (m [][]float64, share float64, iters int, converged bool) {
	K := len(nLevels)
	m = make([][]float64, K)
	acc := make([][]float64, K)
	logU := make([][]float64, K)
	for k, L := range nLevels {
		m[k] = startingM(L)
		acc[k] = make([]float64, L)
		logU[k] = make([]float64, L)
		for l := range L {
			logU[k][l] = math.Log(u[k][l])
		}
	}
	const alpha = 0.01 // pseudo-count keeping m off zero
	share = 0.1
	logM := make([][]float64, K)
	for k, L := range nLevels {
		logM[k] = make([]float64, L)
	}
	for iters = 1; iters <= maxIter; iters++ {
		for k := range acc {
			clear(acc[k])
			for l := range m[k] {
				logM[k][l] = math.Log(m[k][l])
			}
		}
		var sumW, sumN float64
		for _, pc := range pats {
			lm, lu := math.Log(share), math.Log(1-share)
			for k := range nLevels {
				if l := levelOf(pc.pat, k); l > 0 && active[k] {
					lm += logM[k][l-1]
					lu += logU[k][l-1]
				}
			}
			w := 1 / (1 + math.Exp(lu-lm)) // posterior P(match | vector)
			sumW += w * pc.n
			sumN += pc.n
			for k := range nLevels {
				if l := levelOf(pc.pat, k); l > 0 && active[k] {
					acc[k][l-1] += w * pc.n
				}
			}
		}
		newShare := clamp(sumW/sumN, 1e-9, 1-1e-9)
		delta := math.Abs(newShare - share)
		share = newShare
		for k, L := range nLevels {
			var tot float64
			for l := range L {
				tot += acc[k][l]
			}
			if !active[k] || tot == 0 {
				continue
			}
			for l := range L {
				nm := (acc[k][l] + alpha) / (tot + alpha*float64(L))
				delta = max(delta, math.Abs(nm-m[k][l]))
				m[k][l] = nm
			}
		}
		if delta < tol {
			return m, share, iters, true
		}
	}
	return m, share, maxIter, false
}

// fitModel measures u on the random sample, runs one EM session per rule and
// combines them. covCounts holds every candidate pair's comparison vector
// with the set of rules that block it.
func fitModel(cmps []Comparison, rules []compiledRule, covCounts map[covKey]int64, sample []samplePair, nRecords int, cfg Config) Model {
	K := len(cmps)
	uCounts := map[uint64]int64{}
	for _, s := range sample {
		uCounts[s.pat]++
	}
	nLevels := make([]int, K)
	u := make([][]float64, K)
	uOK := make([]bool, K)
	for k, c := range cmps {
		nLevels[k] = len(c.Levels)
		u[k], uOK[k] = levelDist(uCounts, k, nLevels[k])
	}

	mod := Model{USamplePairs: len(sample)}
	mSum := make([][]float64, K)
	wSum := make([]float64, K)
	for k := range mSum {
		mSum[k] = make([]float64, nLevels[k])
	}
	for r := range rules {
		counts := map[uint64]float64{}
		var n int64
		for key, c := range covCounts {
			if key.rules&(1<<uint(r)) != 0 {
				counts[key.pat&^rules[r].touchMask] += float64(c)
				n += c
			}
		}
		if n == 0 {
			continue
		}
		active := make([]bool, K)
		for k := range cmps {
			active[k] = uOK[k] && rules[r].touchMask&(0xF<<(4*uint(k))) == 0
		}
		m, share, iters, conv := runEM(sortedPatterns(counts), nLevels, u, active, cfg.EMMaxIterations, cfg.EMTolerance)
		s := EMSession{Rule: rules[r].name, Pairs: n, MatchShare: share, Iterations: iters, Converged: conv, m: m, active: active}
		weight := share * float64(n)
		for k := range cmps {
			if !active[k] || !observed(counts, k) {
				continue
			}
			s.Estimated = append(s.Estimated, cmps[k].Name)
			for l := range m[k] {
				mSum[k][l] += weight * m[k][l]
			}
			wSum[k] += weight
		}
		mod.Sessions = append(mod.Sessions, s)
	}

	sessionOf := map[string]int{}
	for i, s := range mod.Sessions {
		sessionOf[s.Rule] = i
	}
	// Expected matches: each candidate is judged by the session of the
	// first rule that produced it, which saw it without bias. Keys are
	// sorted so that the sum does not depend on map order.
	keys := slices.SortedFunc(maps.Keys(covCounts), func(a, b covKey) int {
		if a.pat != b.pat {
			if a.pat < b.pat {
				return -1
			}
			return 1
		}
		return int(a.rules) - int(b.rules)
	})
	for _, key := range keys {
		c := covCounts[key]
		r := bits.TrailingZeros32(key.rules)
		si, ok := sessionOf[rules[r].name]
		if !ok {
			continue
		}
		s := &mod.Sessions[si]
		lm, lu := math.Log(s.MatchShare), math.Log(1-s.MatchShare)
		for k := range cmps {
			if l := levelOf(key.pat, k); l > 0 && s.active[k] {
				lm += math.Log(s.m[k][l-1])
				lu += math.Log(u[k][l-1])
			}
		}
		mod.ExpectedMatches += float64(c) / (1 + math.Exp(lu-lm))
	}
	total := float64(nRecords) * float64(nRecords-1) / 2
	mod.Prior = 1e-12
	if total > 0 {
		mod.Prior = clamp(mod.ExpectedMatches/total, 1e-12, 0.5)
	}
	mod.PriorWeight = math.Log2(mod.Prior / (1 - mod.Prior))

	for k, c := range cmps {
		cp := ComparisonParams{Name: c.Name, TF: c.TF, Estimated: wSum[k] > 0}
		m := startingM(nLevels[k])
		if wSum[k] > 0 {
			for l := range m {
				m[l] = mSum[k][l] / wSum[k]
			}
		}
		for l, name := range c.Levels {
			lp := LevelParams{Name: name, M: m[l], U: u[k][l]}
			if uOK[k] {
				lp.Weight = math.Log2(lp.M / lp.U)
			}
			cp.Levels = append(cp.Levels, lp)
		}
		mod.Comparisons = append(mod.Comparisons, cp)
	}
	return mod
}

// observed reports whether comparison k is non-missing in any pattern.
func observed(counts map[uint64]float64, k int) bool {
	for p := range counts {
		if levelOf(p, k) > 0 {
			return true
		}
	}
	return false
}

func clamp(x, lo, hi float64) float64 { return min(max(x, lo), hi) }
