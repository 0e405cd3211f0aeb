package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/segments"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// SegmentsOptions size the segments benchmark.
type SegmentsOptions struct {
	Dir       string // scratch folder (a temporary one when empty)
	Profiles  int
	Events    int
	Orders    int // default Profiles × 2
	Latency   int // profiles sent over HTTP to enter the segment, one request each
	Repeats   int // timed runs of each query (the median is kept)
	DBMemory  string
	Interval  time.Duration // the server's segment scheduler interval
	Progress  io.Writer
	KeepFiles bool
}

// SegmentsResult is the benchmark's output.
type SegmentsResult struct {
	Machine       Machine `json:"machine"`
	Profiles      int     `json:"profiles"`
	Events        int     `json:"events"`
	Orders        int     `json:"orders"`
	GenerateS     float64 `json:"generate_s"`
	Rule          string  `json:"rule"`
	Members       int64   `json:"members"`
	ServiceMS     float64 `json:"service_query_ms"`       // the compiled rule, counted (median)
	HandMS        float64 `json:"hand_sql_ms"`            // the hand-written SQL, counted (median)
	Ratio         float64 `json:"ratio"`                  // ServiceMS / HandMS
	FullComputeMS float64 `json:"full_compute_ms"`        // first computation with membership rows written
	RecomputeMS   float64 `json:"recompute_ms"`           // a second full computation (diff, nothing changes)
	PassMS        float64 `json:"scheduled_pass_ms"`      // a scheduler pass after one Interval of clock (median)
	PassKind      string  `json:"scheduled_pass"`         // "clock" (or "full" when it had to compute in full)
	PassChanged   int64   `json:"scheduled_pass_changes"` // enters and exits over the passes
	Passes        int     `json:"scheduled_passes"`
	LatencyN      int     `json:"latency_samples"` // membership changes measured
	LatencyP50MS  float64 `json:"latency_p50_ms"`  // 2xx → membership row visible
	LatencyP99MS  float64 `json:"latency_p99_ms"`  //
	LatencyMaxMS  float64 `json:"latency_max_ms"`  //
	IntervalS     float64 `json:"scheduler_interval_s"`
	Load          string  `json:"load"` // /proc/loadavg at the end
	Date          string  `json:"date"`
}

// benchRule is the 4-condition segment: a trait, an event count in a
// window, order revenue in a window, a consent.
const benchRule = `trait.city = "Lyon" and did event "Purchase" at least 2 times in last 30 days and order revenue > 100 in last 365 days and consent email_marketing`

// segHandSQL answers the same question written by hand for this data (no
// merges exist in the generated data, so none are followed). $1: now − 30
// days, $2: now − 365 days.
const segHandSQL = `WITH ev AS (SELECT profile_id FROM events WHERE event = 'Purchase' AND timestamp > $1
		GROUP BY profile_id HAVING count(*) >= 2),
	ord AS (SELECT profile_id FROM orders WHERE status NOT IN ('cancelled', 'refunded', 'returned') AND ordered_at > $2
		GROUP BY profile_id HAVING sum(total) > 100),
	con AS (SELECT profile_id FROM (SELECT profile_id, status, row_number() OVER (PARTITION BY profile_id
		ORDER BY occurred_at DESC, recorded_at DESC) AS n FROM consents WHERE purpose = 'email_marketing') WHERE n = 1 AND status = 'granted')
SELECT count(*) FROM profiles p
WHERE p.merged_into IS NULL AND json_extract_string(p.traits, '$.city') = 'Lyon'
	AND p.id IN (SELECT profile_id FROM ev) AND p.id IN (SELECT profile_id FROM ord) AND p.id IN (SELECT profile_id FROM con)`

// Generation SQL ($1 profiles, $2 events or orders, $3 now). Profiles are
// p0000000…; each has a user_id identity u<i> so HTTP events reach it.
const (
	segGenProfiles = `INSERT INTO profiles (id, identified, traits, created_at, updated_at)
		SELECT 'p' || lpad(i::VARCHAR, 7, '0'), true,
			'{"city":"' || (['Lyon','Paris','Nantes','Lille','Bordeaux'])[i % 5 + 1] || '","plan":"' || (['free','pro'])[i % 2 + 1] || '"}',
			$2::TIMESTAMP, $2::TIMESTAMP
		FROM range($1) t(i)`
	segGenIdentities = `INSERT INTO identities SELECT 'user_id', 'u' || i, 'p' || lpad(i::VARCHAR, 7, '0'), 'u' || i, $2, $3::TIMESTAMP
		FROM range($1) t(i)`
	// Events: names by i % 5, times spread over 90 days, profiles by a hash.
	segGenEvents = `INSERT INTO events (seq, profile_id, source_id, message_id, dedup_hash, type, event, timestamp, received_at, properties)
		SELECT i + 1, 'p' || lpad((hash(i) % $1)::VARCHAR, 7, '0'), $4, 'g' || i, (hash(i * 31) >> 1)::BIGINT, 'track',
			(['Purchase','Page Viewed','Product Viewed','Cart Viewed','Signed In'])[i % 5 + 1],
			$3::TIMESTAMP - to_seconds((hash(i * 7) % 7776000)::BIGINT), $3::TIMESTAMP, '{}'
		FROM range($2) t(i)`
	segGenOrders = `INSERT INTO orders (profile_id, source_id, order_id, status, total, ordered_at, created_at, updated_at)
		SELECT 'p' || lpad((hash(i * 13) % $1)::VARCHAR, 7, '0'), 'bench', 'o' || i,
			CASE WHEN i % 20 = 0 THEN 'refunded' ELSE 'completed' END, (hash(i * 17) % 20000) / 100.0,
			$3::TIMESTAMP - to_seconds((hash(i * 19) % 63072000)::BIGINT), $3::TIMESTAMP, $3::TIMESTAMP
		FROM range($2) t(i)`
	// Consents: 60 % granted e-mail marketing; a tenth of those withdrew later.
	segGenConsents = `INSERT INTO consents (id, profile_id, purpose, status, source_id, occurred_at, recorded_at, prev_hash, hash)
		SELECT 'k' || i, 'p' || lpad(i::VARCHAR, 7, '0'), 'email_marketing', 'granted', $2, $3::TIMESTAMP - INTERVAL 100 DAY,
			$3::TIMESTAMP - INTERVAL 100 DAY, '', ''
		FROM range($1) t(i) WHERE i % 5 < 3
		UNION ALL
		SELECT 'w' || i, 'p' || lpad(i::VARCHAR, 7, '0'), 'email_marketing', 'withdrawn', $2, $3::TIMESTAMP - INTERVAL 10 DAY,
			$3::TIMESTAMP - INTERVAL 10 DAY, '', ''
		FROM range($1) t(i) WHERE i % 5 < 3 AND i % 50 = 7`
	// Latency candidates: Lyon, consented, revenue > 100 in a year, and no
	// purchase in 30 days (two purchases sent over HTTP make them enter).
	latencyCandidates = `SELECT p.id FROM profiles p
		WHERE json_extract_string(p.traits, '$.city') = 'Lyon' AND p.id NOT IN (SELECT profile_id FROM events WHERE event = 'Purchase' AND timestamp > $1)
		AND p.id IN (SELECT profile_id FROM orders WHERE status = 'completed' AND ordered_at > $2 GROUP BY 1 HAVING sum(total) > 150)
		AND p.id IN (SELECT profile_id FROM consents WHERE purpose = 'email_marketing' GROUP BY 1 HAVING count(*) = 1 AND min(status) = 'granted')
		ORDER BY hash(p.id) LIMIT $3`
)

// Segments generates a workspace, times the 4-condition segment against
// hand-written SQL, then measures real-time membership latency through the
// real server.
func Segments(ctx context.Context, o SegmentsOptions) (SegmentsResult, error) {
	if o.Orders == 0 {
		o.Orders = o.Profiles * 2
	}
	if o.Repeats < 1 {
		o.Repeats = 5
	}
	if o.Interval <= 0 {
		o.Interval = 30 * time.Second // the server's default
	}
	res := SegmentsResult{Machine: ThisMachine(), Profiles: o.Profiles, Events: o.Events, Orders: o.Orders, Rule: benchRule,
		IntervalS: o.Interval.Seconds(), Date: time.Now().UTC().Format("2006-01-02")}
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format, args...)
		}
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "atrium-bench-segments-")
		if err != nil {
			return res, err
		}
		if !o.KeepFiles {
			defer os.RemoveAll(d)
		}
		dir = d
	}
	wsDir := filepath.Join(dir, "workspace")
	creds, err := initWorkspace(ctx, wsDir)
	if err != nil {
		return res, err
	}
	db, err := duckdb.OpenWith(ctx, wsDir, duckdb.Options{MemoryLimit: o.DBMemory})
	if err != nil {
		return res, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	start := time.Now()
	progress("generating %d profiles, %d events, %d orders, consents\n", o.Profiles, o.Events, o.Orders)
	steps := []struct {
		q    string
		args []any
	}{
		{segGenProfiles, []any{o.Profiles, now}},
		{segGenIdentities, []any{o.Profiles, creds.SourceID, now}},
		{segGenEvents, []any{o.Profiles, o.Events, now, creds.SourceID}},
		{segGenOrders, []any{o.Profiles, o.Orders, now}},
		{segGenConsents, []any{o.Profiles, creds.SourceID, now}},
		{"CHECKPOINT", nil},
	}
	for _, s := range steps {
		if _, err := db.SQL().ExecContext(ctx, s.q, s.args...); err != nil {
			db.Close()
			return res, fmt.Errorf("generate: %w", err)
		}
	}
	res.GenerateS = time.Since(start).Seconds()
	progress("  %.1f s\n", res.GenerateS)

	// The service's clock is the generation instant, like the hand-written
	// SQL's: generating takes minutes, and windows must be the same.
	clock := now // moved forward for the scheduled passes only
	svc := segments.New(db, segments.Options{Now: func() time.Time { return clock },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	preview := func() (int64, error) {
		p, err := svc.Preview(ctx, segments.Input{Rule: benchRule}, 0)
		return p.Count, err
	}
	hand := func() (int64, error) {
		var n int64
		err := db.SQL().QueryRowContext(ctx, segHandSQL, now.Add(-30*24*time.Hour), now.Add(-365*24*time.Hour)).Scan(&n)
		return n, err
	}
	// Interleaved runs, so that background load hits both alike.
	var svcTimes, handTimes []float64
	var nSvc, nHand int64
	for i := 0; i < o.Repeats; i++ {
		for _, q := range []struct {
			f     func() (int64, error)
			n     *int64
			times *[]float64
		}{{preview, &nSvc, &svcTimes}, {hand, &nHand, &handTimes}} {
			t := time.Now()
			n, err := q.f()
			if err != nil {
				db.Close()
				return res, err
			}
			*q.times = append(*q.times, float64(time.Since(t).Microseconds())/1000)
			*q.n = n
		}
	}
	if nSvc != nHand {
		db.Close()
		return res, fmt.Errorf("the segment counts %d profiles but the hand-written SQL %d", nSvc, nHand)
	}
	res.Members = nSvc
	res.ServiceMS, res.HandMS = segMedian(svcTimes), segMedian(handTimes)
	res.Ratio = res.ServiceMS / res.HandMS
	progress("4-condition segment: %d members; service %.0f ms, hand-written SQL %.0f ms (ratio %.2f)\n",
		res.Members, res.ServiceMS, res.HandMS, res.Ratio)

	t := time.Now()
	seg, err := svc.Create(ctx, segments.Input{Name: "bench", Rule: benchRule})
	if err != nil || seg.Status != "ok" {
		db.Close()
		return res, fmt.Errorf("create the segment: %v (%s)", err, seg.LastError)
	}
	res.FullComputeMS = float64(time.Since(t).Microseconds()) / 1000
	t = time.Now()
	if r, err := svc.Refresh(ctx, segments.RefreshOptions{All: true}); err != nil || r.Segments[0].Error != "" {
		db.Close()
		return res, fmt.Errorf("recompute: %v %+v", err, r)
	}
	res.RecomputeMS = float64(time.Since(t).Microseconds()) / 1000
	progress("full computation with membership rows: %.0f ms; recomputation: %.0f ms\n", res.FullComputeMS, res.RecomputeMS)
	// The scheduler's passes: the clock moves one interval each time, and
	// the pass re-evaluates the profiles whose rows crossed a window edge.
	var passTimes []float64
	for range o.Repeats {
		clock = clock.Add(o.Interval)
		t = time.Now()
		r, err := svc.Refresh(ctx, segments.RefreshOptions{})
		if err != nil || len(r.Segments) != 1 || r.Segments[0].Error != "" {
			db.Close()
			return res, fmt.Errorf("scheduled pass: %v %+v", err, r)
		}
		passTimes = append(passTimes, float64(time.Since(t).Microseconds())/1000)
		res.PassKind = r.Segments[0].Pass
		res.PassChanged += r.Segments[0].Entered + r.Segments[0].Exited
	}
	res.PassMS, res.Passes = segMedian(passTimes), len(passTimes)
	progress("scheduled pass (%s, %s of clock each): %.0f ms median of %d, %d membership changes in all\n",
		res.PassKind, o.Interval, res.PassMS, len(passTimes), res.PassChanged)
	cands, err := segCandidates(ctx, db, now, o.Latency)
	db.Close()
	if err != nil {
		return res, err
	}
	if len(cands) == 0 {
		return res, fmt.Errorf("no latency candidates in the generated data (too few profiles?)")
	}
	lat, err := membershipLatency(ctx, wsDir, o, creds.WriteKey, seg.ID, cands, progress)
	if err != nil {
		return res, err
	}
	sort.Float64s(lat)
	res.LatencyN = len(lat)
	res.LatencyP50MS, res.LatencyP99MS, res.LatencyMaxMS = segPct(lat, 0.50), segPct(lat, 0.99), lat[len(lat)-1]
	progress("membership latency over %d changes: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
		res.LatencyN, res.LatencyP50MS, res.LatencyP99MS, res.LatencyMaxMS)
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		res.Load = strings.TrimSpace(string(b))
	}
	return res, nil
}

func segCandidates(ctx context.Context, db *duckdb.DB, now time.Time, n int) ([]int, error) {
	rows, err := db.SQL().QueryContext(ctx, latencyCandidates, now.Add(-30*24*time.Hour), now.Add(-365*24*time.Hour), n)
	if err != nil {
		return nil, fmt.Errorf("latency candidates: %w", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		i, _ := strconv.Atoi(strings.TrimLeft(id[1:], "0"))
		out = append(out, i)
	}
	return out, rows.Err()
}

// membershipLatency starts the real server on the workspace and, one
// profile at a time, sends two purchases over /v1/batch and polls the
// members route until the profile is a member.
func membershipLatency(ctx context.Context, wsDir string, o SegmentsOptions, writeKey, segID string, cands []int,
	progress func(string, ...any)) ([]float64, error) {
	srvCtx, stop := context.WithCancel(ctx)
	defer stop()
	addrCh := make(chan string, 1)
	srvErr := make(chan error, 1)
	go func() {
		srvErr <- app.Serve(srvCtx, app.Config{DataDir: wsDir, Addr: "127.0.0.1:0", DBMemory: o.DBMemory,
			SegmentsInterval: o.Interval, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Ready: func(a string) { addrCh <- a }}, nil)
	}()
	var addr string
	select {
	case addr = <-addrCh:
	case err := <-srvErr:
		return nil, err
	}
	info, err := app.ReadServerInfo(wsDir)
	if err != nil {
		return nil, err
	}
	base := "http://" + addr
	hc := &http.Client{Timeout: 30 * time.Second}
	progress("membership latency: %d profiles, one /v1/batch each\n", len(cands))
	var lat []float64
	for k, i := range cands {
		body, _ := json.Marshal(map[string]any{"batch": []map[string]any{
			{"type": "track", "userId": "u" + strconv.Itoa(i), "event": "Purchase", "messageId": fmt.Sprintf("lat-%d-a", k)},
			{"type": "track", "userId": "u" + strconv.Itoa(i), "event": "Purchase", "messageId": fmt.Sprintf("lat-%d-b", k)},
		}})
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/batch", strings.NewReader(string(body)))
		req.SetBasicAuth(writeKey, "")
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return nil, fmt.Errorf("batch answered %s", resp.Status)
		}
		acked := time.Now()
		pid := "p" + fmt.Sprintf("%07d", i)
		for {
			r, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/segments/"+segID+"/members?profile_id="+url.QueryEscape(pid), nil)
			r.Header.Set("Authorization", "Bearer "+info.Token)
			resp, err := hc.Do(r)
			if err != nil {
				return nil, err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			if time.Since(acked) > 60*time.Second {
				return nil, fmt.Errorf("profile %s did not enter the segment within 60 s", pid)
			}
			time.Sleep(2 * time.Millisecond)
		}
		lat = append(lat, float64(time.Since(acked).Microseconds())/1000)
	}
	stop()
	if err := <-srvErr; err != nil {
		return lat, err
	}
	return lat, nil
}

func segMedian(v []float64) float64 {
	s := append([]float64{}, v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func segPct(sorted []float64, p float64) float64 {
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

// PrintSegments writes the figures for people.
func PrintSegments(w io.Writer, r SegmentsResult) {
	fmt.Fprintf(w, "segments bench on %d CPUs, %d MB (%s): %d profiles, %d events, %d orders (generated in %.1f s)\n",
		r.Machine.CPUs, r.Machine.MemoryMB, r.Date, r.Profiles, r.Events, r.Orders, r.GenerateS)
	fmt.Fprintf(w, "rule: %s\n", r.Rule)
	fmt.Fprintf(w, "members:                          %d\n", r.Members)
	fmt.Fprintf(w, "segment query (service), median:  %.0f ms (target < 1000)\n", r.ServiceMS)
	fmt.Fprintf(w, "hand-written SQL, median:         %.0f ms\n", r.HandMS)
	fmt.Fprintf(w, "ratio:                            %.2f (target <= 1.3)\n", r.Ratio)
	fmt.Fprintf(w, "full computation (rows written):  %.0f ms; recomputation %.0f ms\n", r.FullComputeMS, r.RecomputeMS)
	fmt.Fprintf(w, "scheduled pass (%s), median:   %.0f ms after %.0f s of clock (%d membership changes in %d passes)\n",
		r.PassKind, r.PassMS, r.IntervalS, r.PassChanged, r.Passes)
	fmt.Fprintf(w, "membership latency (%d changes):  p50 %.0f ms, p99 %.0f ms (target < 1000), max %.0f ms\n",
		r.LatencyN, r.LatencyP50MS, r.LatencyP99MS, r.LatencyMaxMS)
	fmt.Fprintf(w, "load average at the end:          %s\n", r.Load)
}

// MarshalSegments is the JSON form of the figures.
func MarshalSegments(r SegmentsResult) ([]byte, error) { return json.MarshalIndent(r, "", "  ") }
