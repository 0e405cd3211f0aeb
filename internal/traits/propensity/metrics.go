package propensity

import (
	"errors"
	"math"
	"sort"
)

// ErrOneClass is returned by AUC when the labels are all positive or all
// negative: the ranking statistic is then undefined.
var ErrOneClass = errors.New("propensity: AUC needs both positive and negative examples")

// AUC is the area under the ROC curve of scores against labels, computed as
// the Mann–Whitney statistic: the probability that a random positive scores
// higher than a random negative, ties counting one half. Tied scores get the
// mean of the ranks they span, which is exactly that convention. NaN scores
// are not allowed (the caller's model never produces them).
func AUC(scores []float64, labels []bool) (float64, error) {
	if len(scores) != len(labels) {
		return 0, errors.New("propensity: AUC: scores and labels differ in length")
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var pos, neg, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		// Ranks i+1 … j (1-based) share their mean.
		mean := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			if labels[idx[k]] {
				rankSum += mean
			}
		}
		i = j
	}
	for _, l := range labels {
		if l {
			pos++
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return 0, ErrOneClass
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg), nil
}

// probFloor keeps log-loss finite for a probability of exactly 0 or 1.
const probFloor = 1e-15

// LogLoss is the mean negative log-likelihood −[y ln p + (1−y) ln(1−p)], with p
// clipped to [1e-15, 1 − 1e-15].
func LogLoss(p []float64, labels []bool) float64 {
	var s float64
	for i, q := range p {
		q = math.Min(math.Max(q, probFloor), 1-probFloor)
		if labels[i] {
			s -= math.Log(q)
		} else {
			s -= math.Log1p(-q)
		}
	}
	return s / float64(len(p))
}

// Brier is the mean squared difference between the predicted probability and
// the outcome (1 for a buyer, 0 otherwise).
func Brier(p []float64, labels []bool) float64 {
	var s float64
	for i, q := range p {
		y := 0.0
		if labels[i] {
			y = 1
		}
		s += (q - y) * (q - y)
	}
	return s / float64(len(p))
}

// Bin is one group of a calibration table.
type Bin struct {
	Bin           int     `json:"bin"`            // 1 = lowest predicted probabilities
	Profiles      int     `json:"profiles"`       // examples in the group
	MeanPredicted float64 `json:"mean_predicted"` // mean predicted probability
	ObservedRate  float64 `json:"observed_rate"`  // share that bought
	MinPredicted  float64 `json:"min_predicted"`
	MaxPredicted  float64 `json:"max_predicted"`
}

// Calibration sorts the examples by predicted probability and cuts them into
// bins groups whose sizes differ by at most one (as SQL's ntile: the first
// n mod bins groups get the extra example); for each it gives the mean
// prediction and the observed rate. A well-calibrated model has the two
// close in every group. Empty groups (fewer examples than bins) are left out.
func Calibration(p []float64, labels []bool, bins int) []Bin {
	n := len(p)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	var out []Bin
	start := 0
	for b := 0; b < bins; b++ {
		size := n / bins
		if b < n%bins {
			size++
		}
		if size == 0 {
			continue
		}
		bin := Bin{Bin: b + 1, Profiles: size, MinPredicted: p[idx[start]], MaxPredicted: p[idx[start+size-1]]}
		for _, i := range idx[start : start+size] {
			bin.MeanPredicted += p[i]
			if labels[i] {
				bin.ObservedRate++
			}
		}
		bin.MeanPredicted /= float64(size)
		bin.ObservedRate /= float64(size)
		out = append(out, bin)
		start += size
	}
	return out
}
