package match

import (
	"context"
	"errors"
	"io"
	"time"
)

// Metrics compare a run's auto-merge clusters with true clusters, pairwise:
// a predicted pair is two records in one cluster, a true pair two records of
// one entity.
type Metrics struct {
	Records        int     `json:"records"`
	Entities       int     `json:"entities"`
	TruePairs      int64   `json:"true_pairs"`
	PredictedPairs int64   `json:"predicted_pairs"`
	TruePositives  int64   `json:"true_positives"`
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
	F1             float64 `json:"f1"`
	CandidatePairs int64   `json:"candidate_pairs"`
	// BlockingRecall is the true share of true pairs that blocking produced
	// (pairs found later through a cluster are not counted here).
	BlockingRecall float64 `json:"blocking_recall"`
	// EstimatedBlockingRecall is the model's estimate, made without truth.
	EstimatedBlockingRecall float64 `json:"estimated_blocking_recall"`
	Clusters                int     `json:"clusters"`
	ReviewPairs             int     `json:"review_pairs"`
	LateScoredPairs         int     `json:"late_scored_pairs"`
	GuardSplits             int     `json:"guard_splits"`
	Seconds                 float64 `json:"seconds"`
}

// Evaluate runs the default configuration on records and scores its
// clusters against truthEntity (records with equal non-empty values are one
// entity; an empty value is an entity of its own).
func Evaluate(records []Record, truthEntity func(Record) string) Metrics {
	m, _, err := EvaluateConfig(context.Background(), DefaultConfig(), records, truthEntity)
	if err != nil {
		panic(err) // the default configuration is valid and the context never ends
	}
	return m
}

// EvaluateConfig is Evaluate with a configuration; it also returns the run.
func EvaluateConfig(ctx context.Context, cfg Config, records []Record, truthEntity func(Record) string) (Metrics, *Result, error) {
	start := time.Now()
	res, err := Run(ctx, cfg, records)
	if err != nil {
		return Metrics{}, nil, err
	}
	m := Score(res, truthLabels(records, truthEntity))
	m.Seconds = time.Since(start).Seconds()
	return m, res, nil
}

// EvaluateCSV reads a labelled CSV (m must name the Entity column) and
// evaluates cfg on it: what `atrium dedupe evaluate` prints. The truth never
// reaches the matcher. Records with an empty entity are entities of their own.
func EvaluateCSV(ctx context.Context, cfg Config, r io.Reader, m Mapping) (Metrics, error) {
	if m.Entity == "" {
		return Metrics{}, errors.New("evaluate: no entity column")
	}
	start := time.Now()
	records, entities, err := ReadCSV(r, m)
	if err != nil {
		return Metrics{}, err
	}
	res, err := Run(ctx, cfg, records)
	if err != nil {
		return Metrics{}, err
	}
	byIndex := make(map[string]int, len(entities))
	truth := make([]int, len(entities))
	for i, e := range entities {
		if e == "" {
			truth[i] = -1 - i
			continue
		}
		id, ok := byIndex[e]
		if !ok {
			id = len(byIndex)
			byIndex[e] = id
		}
		truth[i] = id
	}
	met := Score(res, truth)
	met.Seconds = time.Since(start).Seconds()
	return met, nil
}

// truthLabels turns entity strings into dense ids; an empty string gets a
// fresh id.
func truthLabels(records []Record, truthEntity func(Record) string) []int {
	ids := map[string]int{}
	out := make([]int, len(records))
	for i := range records {
		e := truthEntity(records[i])
		if e == "" {
			out[i] = -1 - i
			continue
		}
		id, ok := ids[e]
		if !ok {
			id = len(ids)
			ids[e] = id
		}
		out[i] = id
	}
	return out
}

// Score computes pairwise metrics of res's clusters against per-record
// truth labels (equal labels are one entity).
func Score(res *Result, truth []int) Metrics {
	m := Metrics{
		Records:                 res.Records,
		CandidatePairs:          res.CandidatePairs,
		EstimatedBlockingRecall: res.EstimatedBlockingRecall,
		Clusters:                len(res.Clusters),
		ReviewPairs:             len(res.Review),
		LateScoredPairs:         res.LateScoredPairs,
		GuardSplits:             res.GuardSplits,
	}
	entities := map[int][]int{}
	for i, t := range truth {
		entities[t] = append(entities[t], i)
	}
	m.Entities = len(entities)
	var blocked int64
	for _, members := range entities {
		n := int64(len(members))
		m.TruePairs += n * (n - 1) / 2
		for x := 0; x < len(members); x++ {
			for y := x + 1; y < len(members); y++ {
				if res.bl.isCandidate(uint32(members[x]), uint32(members[y])) {
					blocked++
				}
			}
		}
	}
	for _, c := range res.Clusters {
		n := int64(len(c))
		m.PredictedPairs += n * (n - 1) / 2
		count := map[int]int64{}
		for _, i := range c {
			count[truth[i]]++
		}
		for _, k := range count {
			m.TruePositives += k * (k - 1) / 2
		}
	}
	if m.PredictedPairs > 0 {
		m.Precision = float64(m.TruePositives) / float64(m.PredictedPairs)
	}
	if m.TruePairs > 0 {
		m.Recall = float64(m.TruePositives) / float64(m.TruePairs)
		m.BlockingRecall = float64(blocked) / float64(m.TruePairs)
	}
	if m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
	return m
}
