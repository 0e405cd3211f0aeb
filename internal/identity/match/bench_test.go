package match

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
)

// TestBenchReport prints the `atrium bench dedupe` report for
// ATRIUM_BENCH_N generated records (skipped when unset), e.g.
//
//	ATRIUM_BENCH_N=1000000 go test ./internal/identity/match/ -run TestBenchReport -v -timeout 30m
func TestBenchReport(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ATRIUM_BENCH_N"))
	if n <= 0 {
		t.Skip("set ATRIUM_BENCH_N to run the whole-system benchmark")
	}
	rep, err := Bench(context.Background(), DefaultConfig(), n, 0.25, 42)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("%s", js)
}

func TestBenchSmall(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.USamplePairs = 100_000
	rep, err := Bench(context.Background(), cfg, 5000, 0.25, 1)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 5000 || rep.CandidatePairs == 0 || rep.PairsPerSecondPerCore <= 0 || rep.Metrics.F1 < 0.9 {
		t.Errorf("report %+v", rep)
	}
	if rep.PeakRSSBytes < 0 {
		t.Errorf("peak rss %d", rep.PeakRSSBytes)
	}
}
