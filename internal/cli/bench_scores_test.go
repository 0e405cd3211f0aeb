package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// A small run of the scores benchmark reports every figure, and the
// single-profile refresh agrees with the batch.
func TestBenchScoresSmall(t *testing.T) {
	code, out, stderr := runCLI(t, "bench", "scores", "--profiles", "2000", "--orders", "20000", "--incremental", "3", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r struct {
		Profiles          int     `json:"profiles"`
		Orders            int     `json:"orders"`
		Lines             int     `json:"lines"`
		IndicatorProfiles int     `json:"indicator_profiles"`
		Indicators        float64 `json:"indicators_rfm_s"`
		Ratio             float64 `json:"ratio_to_hand_sql"`
		Matches           bool    `json:"incremental_equals_batch"`
		IndexedMatches    bool    `json:"incremental_indexed_equals_batch"`
		FitCustomers      int     `json:"fit_customers"`
		FitConverged      bool    `json:"fit_converged"`
		PeakRSS           float64 `json:"peak_rss_mb"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Profiles != 2000 || r.Orders < 10000 || r.Lines < r.Orders || r.IndicatorProfiles < 1900 || r.FitCustomers != r.IndicatorProfiles {
		t.Errorf("sizes %+v", r)
	}
	if !r.Matches || !r.IndexedMatches || !r.FitConverged || r.Indicators <= 0 || r.Ratio <= 0 || r.PeakRSS <= 0 {
		t.Errorf("figures %+v", r)
	}
}

func TestBenchScoresFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--profiles", "0"},
		{"--profiles", "10", "--orders", "5"},
		{"--incremental", "0"},
		{"--db-memory", "lots"},
		{"extra"},
	} {
		code, _, stderr := runCLI(t, append([]string{"bench", "scores"}, args...)...)
		if code != 2 || !strings.Contains(stderr, "atrium bench") {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
}
