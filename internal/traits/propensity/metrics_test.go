package propensity

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// pairAUC is the definition of AUC, counted pair by pair in O(n²): the share
// of (positive, negative) pairs the positive wins, a tie counting one half.
func pairAUC(s []float64, y []bool) float64 {
	var wins, pairs float64
	for i := range s {
		if !y[i] {
			continue
		}
		for j := range s {
			if y[j] {
				continue
			}
			pairs++
			switch {
			case s[i] > s[j]:
				wins++
			case s[i] == s[j]:
				wins += 0.5
			}
		}
	}
	return wins / pairs
}

func TestAUCHandComputed(t *testing.T) {
	T, F := true, false
	cases := []struct {
		name   string
		scores []float64
		labels []bool
		want   float64
	}{
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []bool{F, F, T, T}, 1},
		{"reversed", []float64{0.9, 0.8, 0.2, 0.1}, []bool{F, F, T, T}, 0},
		// Positives 0.35 and 0.8 against negatives 0.1 and 0.4: (0.35, 0.1)
		// win, (0.35, 0.4) loss, (0.8, 0.1) win, (0.8, 0.4) win: 3/4.
		{"sklearn example", []float64{0.1, 0.4, 0.35, 0.8}, []bool{F, F, T, T}, 0.75},
		// All scores equal: every pair is a tie, 1/2.
		{"all tied", []float64{3, 3, 3, 3, 3}, []bool{T, F, T, F, F}, 0.5},
		// Positive 2 vs negatives {1, 2}: 1 + 0.5; positive 3 vs {1, 2}: 2.
		// 3.5 / 4.
		{"tie across classes", []float64{1, 2, 2, 3}, []bool{F, F, T, T}, 0.875},
		// Positives {5, 5, 1}, negatives {5, 0}: (5,5) ½, (5,0) 1 twice,
		// (1,5) 0, (1,0) 1 → (0.5+1+0.5+1+0+1) / 6 = 4/6.
		{"ties within and across", []float64{5, 5, 1, 5, 0}, []bool{T, T, T, F, F}, 4.0 / 6},
		{"one of each", []float64{2, 2}, []bool{T, F}, 0.5},
	}
	for _, c := range cases {
		got, err := AUC(c.scores, c.labels)
		if err != nil || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: AUC = %v (%v), want %v", c.name, got, err, c.want)
		}
	}
	if _, err := AUC([]float64{1, 2}, []bool{T, T}); !errors.Is(err, ErrOneClass) {
		t.Errorf("one class: err %v, want ErrOneClass", err)
	}
	if _, err := AUC(nil, nil); !errors.Is(err, ErrOneClass) {
		t.Errorf("empty: err %v, want ErrOneClass", err)
	}
	if _, err := AUC([]float64{1}, []bool{T, F}); err == nil {
		t.Error("lengths differ: no error")
	}
}

// On random data with many ties (scores drawn from a few values) the rank
// formula equals the pair count.
func TestAUCAgainstPairCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 2 + rng.IntN(300)
		levels := 1 + rng.IntN(20)
		s := make([]float64, n)
		y := make([]bool, n)
		for i := range s {
			s[i] = float64(rng.IntN(levels))
			if trial%2 == 0 {
				s[i] += rng.Float64() // continuous half the time
			}
			y[i] = rng.Float64() < 0.3+0.02*s[i]
		}
		y[0], y[1] = true, false
		got, err := AUC(s, y)
		if err != nil {
			t.Fatal(err)
		}
		if want := pairAUC(s, y); math.Abs(got-want) > 1e-12 {
			t.Fatalf("trial %d (n %d, %d levels): rank AUC %v, pair count %v", trial, n, levels, got, want)
		}
	}
}

func TestLogLossBrierCalibration(t *testing.T) {
	p := []float64{0.9, 0.2, 0.5, 0}
	y := []bool{true, false, true, true}
	// −(ln 0.9 + ln 0.8 + ln 0.5 + ln 1e-15) / 4
	wantLL := -(math.Log(0.9) + math.Log(0.8) + math.Log(0.5) + math.Log(1e-15)) / 4
	if got := LogLoss(p, y); math.Abs(got-wantLL) > 1e-12 {
		t.Errorf("log-loss %v, want %v", got, wantLL)
	}
	// (0.01 + 0.04 + 0.25 + 1) / 4
	if got := Brier(p, y); math.Abs(got-1.3/4) > 1e-12 {
		t.Errorf("Brier %v, want %v", got, 1.3/4)
	}
	// 7 examples in 3 bins: sizes 3, 2, 2 (ntile), sorted by p.
	p = []float64{0.7, 0.1, 0.3, 0.2, 0.6, 0.5, 0.4}
	y = []bool{true, false, true, false, true, false, false}
	bins := Calibration(p, y, 3)
	want := []Bin{
		{Bin: 1, Profiles: 3, MeanPredicted: 0.2, ObservedRate: 1.0 / 3, MinPredicted: 0.1, MaxPredicted: 0.3},
		{Bin: 2, Profiles: 2, MeanPredicted: 0.45, ObservedRate: 0, MinPredicted: 0.4, MaxPredicted: 0.5},
		{Bin: 3, Profiles: 2, MeanPredicted: 0.65, ObservedRate: 1, MinPredicted: 0.6, MaxPredicted: 0.7},
	}
	if len(bins) != len(want) {
		t.Fatalf("bins %+v", bins)
	}
	for i := range want {
		g, w := bins[i], want[i]
		if g.Bin != w.Bin || g.Profiles != w.Profiles || math.Abs(g.MeanPredicted-w.MeanPredicted) > 1e-12 ||
			math.Abs(g.ObservedRate-w.ObservedRate) > 1e-12 || g.MinPredicted != w.MinPredicted || g.MaxPredicted != w.MaxPredicted {
			t.Errorf("bin %d = %+v, want %+v", i+1, g, w)
		}
	}
	if got := Calibration(p[:2], y[:2], 10); len(got) != 2 {
		t.Errorf("2 examples in 10 bins: %d non-empty bins, want 2", len(got))
	}
}
