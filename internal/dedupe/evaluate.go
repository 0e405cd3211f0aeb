package dedupe

import "strconv"

// PairMetrics are pairwise precision, recall and F1 of predicted clusters
// against true ones: a predicted pair is two records with one predicted
// label, a true pair two records of one entity.
type PairMetrics struct {
	Records        int     `json:"records"`
	Entities       int     `json:"entities"`
	TruePairs      int64   `json:"true_pairs"`
	PredictedPairs int64   `json:"predicted_pairs"`
	TruePositives  int64   `json:"true_positives"`
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
	F1             float64 `json:"f1"`
}

// ScorePairs compares per-record labels. An empty label (predicted or true)
// is a cluster of its own: a record the workspace lost is matched with
// nothing, and an unlabelled record is nobody's duplicate.
func ScorePairs(predicted, truth []string) PairMetrics {
	m := PairMetrics{Records: len(truth)}
	own := func(labels []string, i int) string {
		if labels[i] == "" {
			return "\x00" + strconv.Itoa(i)
		}
		return labels[i]
	}
	ent := map[string]int64{}
	pred := map[string]int64{}
	both := map[[2]string]int64{}
	for i := range truth {
		t, p := own(truth, i), own(predicted, i)
		ent[t]++
		pred[p]++
		both[[2]string{t, p}]++
	}
	m.Entities = len(ent)
	pairs := func(n int64) int64 { return n * (n - 1) / 2 }
	for _, n := range ent {
		m.TruePairs += pairs(n)
	}
	for _, n := range pred {
		m.PredictedPairs += pairs(n)
	}
	for _, n := range both {
		m.TruePositives += pairs(n)
	}
	if m.PredictedPairs > 0 {
		m.Precision = float64(m.TruePositives) / float64(m.PredictedPairs)
	}
	if m.TruePairs > 0 {
		m.Recall = float64(m.TruePositives) / float64(m.TruePairs)
	}
	if m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
	return m
}
