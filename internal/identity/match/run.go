package match

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Config is a matching configuration. DefaultConfig is the one configuration
// for person and contact data; it is not tuned per dataset.
type Config struct {
	// Comparisons names the comparisons to use (see Comparisons); empty means
	// all of them. Unused fields cost nothing but they are also neutral, so
	// leaving all on is the safe default.
	Comparisons []string `json:"comparisons,omitempty" yaml:"comparisons"`
	// Blocking rules; their union gives the candidate pairs.
	Blocking []BlockingRule `json:"blocking" yaml:"blocking"`
	// MaxBlockSize leaves out blocks with more records than this: a key that
	// common does not discriminate and would cost n²/2 comparisons.
	MaxBlockSize int `json:"max_block_size" yaml:"max_block_size"`
	// AutoMergeThreshold: pairs at or above this match probability are
	// merged without a human (subject to the chain guard).
	AutoMergeThreshold float64 `json:"auto_merge_threshold" yaml:"auto_merge_threshold"`
	// ReviewThreshold: pairs from here up to AutoMergeThreshold go to the
	// review queue; below it nothing happens.
	ReviewThreshold float64 `json:"review_threshold" yaml:"review_threshold"`
	// ClusterLinkThreshold is the chain guard: two groups joined by a strong
	// pair are merged only if the average match probability over all pairs
	// between them reaches it.
	ClusterLinkThreshold float64 `json:"cluster_link_threshold" yaml:"cluster_link_threshold"`
	// USamplePairs is the number of random pairs that measure u.
	USamplePairs int `json:"u_sample_pairs" yaml:"u_sample_pairs"`
	// EMMaxIterations and EMTolerance bound EM.
	EMMaxIterations int     `json:"em_max_iterations" yaml:"em_max_iterations"`
	EMTolerance     float64 `json:"em_tolerance" yaml:"em_tolerance"`
	// Seed drives the random pair sample; the same seed gives the same result.
	Seed uint64 `json:"seed" yaml:"seed"`
	// Workers is the number of goroutines comparing pairs; 0 means GOMAXPROCS.
	Workers int `json:"workers,omitempty" yaml:"workers"`
}

// DefaultConfig returns the default configuration for person data. The
// thresholds are probabilities: 0.95 and above merges, 0.5 to 0.95 asks a
// human, and the chain guard wants an average of 0.5 between two groups.
func DefaultConfig() Config {
	return Config{
		Blocking:             DefaultBlockingRules(),
		MaxBlockSize:         500,
		AutoMergeThreshold:   0.95,
		ReviewThreshold:      0.5,
		ClusterLinkThreshold: 0.5,
		USamplePairs:         1_000_000,
		EMMaxIterations:      500,
		EMTolerance:          1e-6,
		Seed:                 1,
	}
}

// Validate reports the first problem with the configuration.
func (c Config) Validate() error {
	switch {
	case c.MaxBlockSize < 2:
		return errors.New("max_block_size must be at least 2")
	case c.ReviewThreshold <= 0 || c.ReviewThreshold > c.AutoMergeThreshold || c.AutoMergeThreshold >= 1:
		return errors.New("thresholds must satisfy 0 < review <= auto-merge < 1")
	case c.ClusterLinkThreshold <= 0 || c.ClusterLinkThreshold >= 1:
		return errors.New("cluster_link_threshold must be in (0,1)")
	case c.USamplePairs < 1000:
		return errors.New("u_sample_pairs must be at least 1000")
	case c.EMMaxIterations < 1 || c.EMTolerance <= 0:
		return errors.New("em_max_iterations and em_tolerance must be positive")
	}
	cmps, err := c.comparisons()
	if err != nil {
		return err
	}
	_, err = compileRules(c.Blocking, cmps)
	return err
}

func (c Config) comparisons() ([]Comparison, error) {
	all := Comparisons()
	if len(c.Comparisons) == 0 {
		return all, nil
	}
	var out []Comparison
	for _, name := range c.Comparisons {
		i := slices.IndexFunc(all, func(x Comparison) bool { return x.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown comparison %q", name)
		}
		out = append(out, all[i])
	}
	if len(out) > maxComparisons {
		return nil, fmt.Errorf("at most %d comparisons", maxComparisons)
	}
	return out, nil
}

// ScoredPair is a pair of records (indices into the input slice, A < B) with
// its comparison vector and match weight.
type ScoredPair struct {
	A, B    int32
	Pattern uint64
	Weight  float64
	// Late is true for a pair that blocking never produced, scored because
	// its records ended up in one cluster.
	Late bool
}

// Probability is the pair's match probability.
func (p ScoredPair) Probability() float64 { return Probability(p.Weight) }

// Decision is what happens to a pair or a cluster.
type Decision int

// Decisions, from a probability and the two thresholds.
const (
	NoMatch Decision = iota
	Review
	AutoMerge
)

func (d Decision) String() string {
	return [...]string{"no_match", "review", "auto_merge"}[d]
}

// Timings of the stages of a run.
type Timings struct {
	Prepare time.Duration `json:"prepare"`
	Compare time.Duration `json:"compare"` // blocking and comparing candidates
	Fit     time.Duration `json:"fit"`     // u sample and EM
	Score   time.Duration `json:"score"`
	Cluster time.Duration `json:"cluster"`
	Total   time.Duration `json:"total"`
	// CompareCPU is the process CPU time spent in Compare and Fit (0 where
	// the platform does not say).
	CompareCPU time.Duration `json:"compare_cpu"`
}

// Result is the outcome of Run. It is read-only and keeps the normalised
// records so that Explain can break any pair down.
type Result struct {
	Config  Config
	Model   Model
	Records int
	Rules   []RuleStats
	// CandidatePairs is the number of distinct pairs blocking produced, each
	// compared once.
	CandidatePairs int64
	// ComparedPairs adds the random u sample and the late-scored pairs: the
	// work the comparison loop did.
	ComparedPairs int64
	// Pairs are the candidate pairs at or above ReviewThreshold and the
	// late-scored pairs, sorted by (A, B).
	Pairs []ScoredPair
	// Clusters are the auto-merge groups (two records or more), each sorted,
	// ordered by first member.
	Clusters [][]int
	// Review are the pairs for a human: between the thresholds, or above the
	// auto-merge threshold but split by the chain guard; records not already
	// in one cluster. Sorted by decreasing weight.
	Review []ScoredPair
	// LateScoredPairs counts intra-cluster pairs blocking never compared.
	LateScoredPairs int
	// GuardSplits counts strong pairs the chain guard refused to follow.
	GuardSplits int
	// EstimatedBlockingRecall is the model's estimate of the share of true
	// matches that blocking produced: expected matches among candidates over
	// that plus the expected matches among all other pairs, the latter
	// extrapolated from the random sample's pairs that no rule blocks.
	EstimatedBlockingRecall float64
	Timings                 Timings

	cmps   []Comparison
	bl     *blocking
	recs   []prepared
	ids    []string
	scorer *scorer
}

// Decide maps a probability to a decision with the configured thresholds.
func (r *Result) Decide(p float64) Decision {
	switch {
	case p >= r.Config.AutoMergeThreshold:
		return AutoMerge
	case p >= r.Config.ReviewThreshold:
		return Review
	}
	return NoMatch
}

// Explain breaks down the match weight of records a and b (indices into the
// input), whether or not blocking compared them.
func (r *Result) Explain(a, b int) Explanation {
	pat := compareAll(r.cmps, &r.recs[a], &r.recs[b])
	contrib, w := r.scorer.explain(&r.Model, pat, &r.recs[a])
	return Explanation{A: r.ids[a], B: r.ids[b], PriorWeight: r.scorer.prior, Contributions: contrib, Weight: w, Probability: Probability(w)}
}

// ClusterIDs returns, per input record, the index of its cluster in
// Clusters, or -1 for a record merged with nothing.
func (r *Result) ClusterIDs() []int {
	out := make([]int, r.Records)
	for i := range out {
		out[i] = -1
	}
	for c, members := range r.Clusters {
		for _, i := range members {
			out[i] = c
		}
	}
	return out
}

// candidate is a compared pair as the workers keep it: 16 bytes.
type candidate struct {
	a, b uint32
	pat  uint64
}

// Run matches the records. It returns an error for an invalid configuration
// or when ctx is cancelled; the records are not modified.
func Run(ctx context.Context, cfg Config, records []Record) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("match config: %w", err)
	}
	if len(records) > math.MaxInt32 {
		return nil, errors.New("too many records")
	}
	cmps, _ := cfg.comparisons()
	rules, _ := compileRules(cfg.Blocking, cmps)
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	start := time.Now()
	res := &Result{Config: cfg, Records: len(records), cmps: cmps}
	res.ids = make([]string, len(records))
	for i := range records {
		res.ids[i] = records[i].ID
	}

	res.recs = prepareAll(records, workers)
	res.Timings.Prepare = time.Since(start)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	t, cpu := time.Now(), processCPU()
	bl := buildBlocking(rules, res.recs, cfg.MaxBlockSize)
	cands, cov, err := compareCandidates(ctx, cmps, res.recs, bl, workers)
	if err != nil {
		return nil, err
	}
	res.Rules = bl.stats
	res.bl = bl
	bl.order = nil // only the keys are needed from here on (isCandidate)
	for _, c := range cands {
		res.CandidatePairs += int64(len(c))
	}
	res.Timings.Compare = time.Since(t)

	t = time.Now()
	nSample := min(cfg.USamplePairs, len(records)*(len(records)-1)/2)
	sample := sampleRandomPairs(cmps, res.recs, nSample, cfg.Seed, workers)
	res.ComparedPairs = res.CandidatePairs + int64(len(sample))
	res.Model = fitModel(cmps, rules, cov, sample, len(records), cfg)
	res.scorer = newScorer(cmps, res.Model)
	res.Timings.Fit = time.Since(t)
	res.Timings.CompareCPU = processCPU() - cpu
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	t = time.Now()
	var found float64
	res.Pairs, found = scoreCandidates(res.scorer, res.recs, cands, cfg.ReviewThreshold, workers)
	res.EstimatedBlockingRecall = estimateBlockingRecall(res.scorer, res.recs, bl, sample, found, len(records))
	res.Timings.Score = time.Since(t)

	t = time.Now()
	clusterAndDecide(res, bl)
	res.ComparedPairs += int64(res.LateScoredPairs)
	res.Timings.Cluster = time.Since(t)
	res.Timings.Total = time.Since(start)
	return res, nil
}

// parallel runs fn(i) for i in [0, n) on workers goroutines pulling
// indices from a shared counter; it stops early when ctx ends.
func parallel(ctx context.Context, n, workers int, fn func(w, i int)) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				if k%256 == 0 && ctx.Err() != nil {
					return
				}
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(w, i)
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// chunkSize is the capacity of one candidate chunk: workers fill fixed
// chunks rather than one growing slice, whose doubling would briefly need
// twice the memory of all candidates.
const chunkSize = 1 << 16

// compareCandidates enumerates every block's pairs, skips those an earlier
// rule already produced, and compares the rest. It also counts each
// distinct (comparison vector, rules blocking the pair) for EM. Workers pull
// blocks from a shared counter and keep their own chunks and counts, so the
// loop neither locks nor shares a map. The order of the chunks depends on
// scheduling; nothing downstream depends on that order.
func compareCandidates(ctx context.Context, cmps []Comparison, recs []prepared, bl *blocking, workers int) ([][]candidate, map[covKey]int64, error) {
	chunks := make([][][]candidate, workers)
	covs := make([]map[covKey]int64, workers)
	ruleCounts := make([][]int64, workers)
	for w := range workers {
		covs[w] = map[covKey]int64{}
		ruleCounts[w] = make([]int64, bl.nRules)
	}
	err := parallel(ctx, len(bl.blocks), workers, func(w, bi int) {
		blk := bl.blocks[bi]
		members := bl.order[blk.rule][blk.start:blk.end]
		cov := covs[w]
		var cur []candidate
		if n := len(chunks[w]); n > 0 {
			cur = chunks[w][n-1]
		}
		for x := 0; x < len(members); x++ {
			i := members[x]
			pi := &recs[i]
			for y := x + 1; y < len(members); y++ {
				j := members[y]
				if bl.coveredBefore(blk.rule, i, j) {
					continue
				}
				pat := compareAll(cmps, pi, &recs[j])
				if len(cur) == cap(cur) {
					cur = make([]candidate, 0, chunkSize)
					chunks[w] = append(chunks[w], nil)
				}
				cur = append(cur, candidate{a: min(i, j), b: max(i, j), pat: pat})
				chunks[w][len(chunks[w])-1] = cur
				cov[covKey{pat: pat, rules: bl.coveringFrom(blk.rule, i, j)}]++
				ruleCounts[w][blk.rule]++
			}
		}
	})
	if err != nil {
		return nil, nil, err
	}
	var all [][]candidate
	for w := range workers {
		all = append(all, chunks[w]...)
		for r, n := range ruleCounts[w] {
			bl.stats[r].Pairs += n
		}
	}
	merged := covs[0]
	for _, c := range covs[1:] {
		for k, n := range c {
			merged[k] += n
		}
	}
	return all, merged, nil
}

// scoreCandidates weighs every candidate in parallel, keeps those at or
// above the review threshold and returns the sum of all candidates'
// probabilities (the expected number of matches among them).
func scoreCandidates(s *scorer, recs []prepared, chunks [][]candidate, review float64, workers int) ([]ScoredPair, float64) {
	minW := math.Log2(review / (1 - review))
	kept := make([][]ScoredPair, len(chunks))
	sums := make([]float64, len(chunks))
	_ = parallel(context.Background(), len(chunks), workers, func(_, ci int) {
		var sum float64
		for _, c := range chunks[ci] {
			wt := s.weight(c.pat, &recs[c.a])
			sum += Probability(wt)
			if wt >= minW {
				kept[ci] = append(kept[ci], ScoredPair{A: int32(c.a), B: int32(c.b), Pattern: c.pat, Weight: wt})
			}
		}
		sums[ci] = sum
	})
	var out []ScoredPair
	for ci := range kept {
		out = append(out, kept[ci]...)
	}
	sortPairs(out)
	// Chunks depend on scheduling, so this sum may differ in its last bits
	// between runs; it only feeds the blocking-recall estimate.
	var found float64
	for _, v := range sums {
		found += v
	}
	return out, found
}

func sortPairs(ps []ScoredPair) {
	slices.SortFunc(ps, func(x, y ScoredPair) int {
		if x.A != y.A {
			return int(x.A - y.A)
		}
		return int(x.B - y.B)
	})
}

// estimateBlockingRecall extrapolates the matches blocking missed from the
// random sample: the mean probability of its pairs that no rule blocks,
// times the number of pairs outside the candidates. It is a model estimate:
// a missed match looks like a weak pair to the model too, so it errs high
// when the data are very dirty; Evaluate reports the true figure.
func estimateBlockingRecall(s *scorer, recs []prepared, bl *blocking, sample []samplePair, found float64, n int) float64 {
	var sum float64
	var outside int
	for _, p := range sample {
		if bl.isCandidate(p.a, p.b) {
			continue
		}
		outside++
		sum += Probability(s.weight(p.pat, &recs[p.a]))
	}
	if outside == 0 || found == 0 {
		return 1
	}
	var cands int64
	for _, st := range bl.stats {
		cands += st.Pairs
	}
	missed := sum / float64(outside) * (float64(n)*float64(n-1)/2 - float64(cands))
	return found / (found + missed)
}
