package match

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// BenchReport is what `atrium bench dedupe` prints.
type BenchReport struct {
	Records         int     `json:"records"`
	DupRate         float64 `json:"dup_rate"`
	Seed            int64   `json:"seed"`
	Workers         int     `json:"workers"`
	GenerateSeconds float64 `json:"generate_seconds"`
	// Seconds is the whole run: preparing, blocking, comparing, fitting,
	// scoring and clustering (generation excluded).
	Seconds float64 `json:"seconds"`
	// CompareSeconds is the wall time of the comparison loop: candidate
	// pairs and the random u sample.
	CompareSeconds float64 `json:"compare_seconds"`
	CandidatePairs int64   `json:"candidate_pairs"`
	ComparedPairs  int64   `json:"compared_pairs"`
	// PairsPerSecondPerCore is ComparedPairs over CompareSeconds over
	// Workers: wall clock, so other load on the machine lowers it.
	PairsPerSecondPerCore float64 `json:"pairs_per_second_per_core"`
	// PairsPerCPUSecond is ComparedPairs over the CPU time of the same
	// stages: the per-core rate whatever else the machine runs (0 where the
	// platform does not report CPU time).
	PairsPerCPUSecond float64 `json:"pairs_per_cpu_second"`
	// PeakRSSBytes is the process's high-water resident set (Linux VmHWM);
	// 0 where the platform does not say.
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	Timings      Timings `json:"timings"`
	Metrics      Metrics `json:"metrics"`
}

// Bench generates n records (Generate with dupRate and seed), runs cfg on
// them and reports throughput, time, memory and accuracy against the
// generator's truth.
func Bench(ctx context.Context, cfg Config, n int, dupRate float64, seed int64) (BenchReport, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	rep := BenchReport{Records: n, DupRate: dupRate, Seed: seed, Workers: cfg.Workers}
	t := time.Now()
	recs, ents := Generate(n, dupRate, seed)
	rep.GenerateSeconds = time.Since(t).Seconds()
	truth := make([]int, len(recs))
	ids := map[string]int{}
	for i, e := range ents {
		id, ok := ids[e]
		if !ok {
			id = len(ids)
			ids[e] = id
		}
		truth[i] = id
	}
	ents = nil
	res, err := Run(ctx, cfg, recs)
	if err != nil {
		return rep, err
	}
	rep.Timings = res.Timings
	rep.Seconds = res.Timings.Total.Seconds()
	rep.CompareSeconds = (res.Timings.Compare + res.Timings.Fit).Seconds()
	rep.CandidatePairs = res.CandidatePairs
	rep.ComparedPairs = res.ComparedPairs
	if rep.CompareSeconds > 0 {
		rep.PairsPerSecondPerCore = float64(res.ComparedPairs) / rep.CompareSeconds / float64(cfg.Workers)
	}
	if c := res.Timings.CompareCPU.Seconds(); c > 0 {
		rep.PairsPerCPUSecond = float64(res.ComparedPairs) / c
	}
	rep.Metrics = Score(res, truth)
	rep.Metrics.Seconds = rep.Seconds
	rep.PeakRSSBytes = PeakRSS()
	return rep, nil
}

// PeakRSS returns the process's peak resident set size in bytes from
// /proc/self/status (VmHWM), or 0 when it cannot be read.
func PeakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
