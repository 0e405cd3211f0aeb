package match

import (
	"context"
	"math"
	"math/rand/v2"
)

// LevelParams are the fitted probabilities of one comparison level.
type LevelParams struct {
	Name string `json:"name"`
	// M is P(level | the records are the same entity), estimated by EM.
	M float64 `json:"m"`
	// U is P(level | different entities), measured on random pairs.
	U float64 `json:"u"`
	// Weight is log2(M/U), the bits of evidence this level adds (before any
	// term-frequency adjustment).
	Weight float64 `json:"weight"`
}

// ComparisonParams are the fitted levels of one comparison; Levels[0] is
// level 1 (level 0, missing, always weighs 0).
type ComparisonParams struct {
	Name string `json:"name"`
	TF   bool   `json:"tf"`
	// Estimated is false when no EM session could estimate m (the field is
	// missing or every rule blocks on it); m then keeps its starting values.
	Estimated bool          `json:"estimated"`
	Levels    []LevelParams `json:"levels"`
}

// Model is a fitted Fellegi–Sunter model.
type Model struct {
	Comparisons []ComparisonParams `json:"comparisons"`
	// Prior is λ, the probability that two records drawn at random are the
	// same entity: the expected number of matches among the candidate pairs
	// over the number of all pairs.
	Prior float64 `json:"prior"`
	// PriorWeight is log2(λ/(1-λ)), the starting point of every pair's weight.
	PriorWeight float64 `json:"prior_weight"`
	// ExpectedMatches is the expected number of matching pairs among the
	// candidates.
	ExpectedMatches float64 `json:"expected_matches"`
	// Sessions are the EM runs, one per blocking rule that produced pairs.
	Sessions []EMSession `json:"sessions"`
	// USamplePairs is how many random pairs measured the u-probabilities.
	USamplePairs int `json:"u_sample_pairs"`
}

// samplePair is a random pair kept with its comparison vector, for u and for
// the blocking-recall estimate.
type samplePair struct {
	a, b uint32
	pat  uint64
}

// sampleRandomPairs draws n distinct-record pairs uniformly (with
// replacement), seeded, and compares them in parallel. The sample is cut
// into fixed chunks, each with its own generator derived from the seed and
// the chunk's index, so it does not depend on the number of workers.
func sampleRandomPairs(cmps []Comparison, recs []prepared, n int, seed uint64, workers int) []samplePair {
	if len(recs) < 2 || n <= 0 {
		return nil
	}
	const chunk = 1 << 14
	out := make([]samplePair, n)
	m := uint64(len(recs))
	_ = parallel(context.Background(), (n+chunk-1)/chunk, workers, func(_, c int) {
		rng := rand.New(rand.NewPCG(seed, uint64(c)+0x9E3779B97F4A7C15))
		for i := c * chunk; i < min((c+1)*chunk, n); i++ {
			a := rng.Uint64N(m)
			b := rng.Uint64N(m - 1)
			if b >= a {
				b++
			}
			out[i] = samplePair{a: uint32(a), b: uint32(b), pat: compareAll(cmps, &recs[a], &recs[b])}
		}
	})
	return out
}

// scorer turns comparison vectors into weights. It is read-only once built
// and shared by the scoring workers.
type scorer struct {
	cmps  []Comparison
	prior float64     // log2(λ/(1-λ))
	w     [][]float64 // [comparison][level] bits; level 0 is 0
	logM1 []float64   // log2(m) of the exact level, for the TF adjustment
}

func newScorer(cmps []Comparison, m Model) *scorer {
	s := &scorer{cmps: cmps, prior: m.PriorWeight, w: make([][]float64, len(cmps)), logM1: make([]float64, len(cmps))}
	for k, c := range m.Comparisons {
		s.w[k] = make([]float64, len(c.Levels)+1)
		for l, lp := range c.Levels {
			s.w[k][l+1] = lp.Weight
		}
		if len(c.Levels) > 0 {
			s.logM1[k] = math.Log2(c.Levels[0].M)
		}
	}
	return s
}

// tfWeight is the exact level's weight for a shared value of frequency tf:
// log2(m/tf), because the chance that two different people share this very
// value is tf, not the average u of the level. A value missing from the
// vocabulary (tf 0) keeps the plain weight.
func (s *scorer) tfWeight(k int, tf float32) float64 {
	if tf <= 0 {
		return s.w[k][1]
	}
	return s.logM1[k] - math.Log2(float64(tf))
}

// weight is the pair's match weight in bits: prior plus every contribution.
func (s *scorer) weight(pat uint64, a *prepared) float64 {
	w := s.prior
	for k := range s.w {
		l := levelOf(pat, k)
		if l == 0 {
			continue
		}
		if l == 1 && s.cmps[k].TF {
			w += s.tfWeight(k, s.cmps[k].tf(a))
			continue
		}
		w += s.w[k][l]
	}
	return w
}

// Probability converts a match weight in bits to a match probability.
func Probability(weight float64) float64 { return 1 / (1 + math.Exp2(-weight)) }

// Contribution is one comparison's share of a pair's match weight: the
// explanation shown beside a merge.
type Contribution struct {
	Comparison string  `json:"comparison"`
	Level      int     `json:"level"`
	LevelName  string  `json:"level_name"`
	M          float64 `json:"m,omitempty"`
	U          float64 `json:"u,omitempty"`
	// TFAdjustment is the bits added (or, for a common value, removed) by
	// the frequency of the shared value; Weight already includes it.
	TFAdjustment float64 `json:"tf_adjustment,omitempty"`
	Weight       float64 `json:"weight"`
}

// Explanation breaks a pair's match weight down. PriorWeight plus the
// contributions' weights equals Weight.
type Explanation struct {
	A             string         `json:"a"`
	B             string         `json:"b"`
	PriorWeight   float64        `json:"prior_weight"`
	Contributions []Contribution `json:"contributions"`
	Weight        float64        `json:"weight"`
	Probability   float64        `json:"probability"`
}

func (s *scorer) explain(m *Model, pat uint64, a *prepared) ([]Contribution, float64) {
	out := make([]Contribution, len(s.cmps))
	total := s.prior
	for k := range s.cmps {
		l := levelOf(pat, k)
		c := Contribution{Comparison: s.cmps[k].Name, Level: l, LevelName: "missing"}
		if l > 0 {
			lp := m.Comparisons[k].Levels[l-1]
			c.LevelName, c.M, c.U, c.Weight = lp.Name, lp.M, lp.U, lp.Weight
			if l == 1 && s.cmps[k].TF {
				c.Weight = s.tfWeight(k, s.cmps[k].tf(a))
				c.TFAdjustment = c.Weight - lp.Weight
			}
		}
		total += c.Weight
		out[k] = c
	}
	return out, total
}
