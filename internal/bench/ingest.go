package bench

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	ddb "github.com/duckdb/duckdb-go/v2"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// IngestOptions size the ingest benchmark.
type IngestOptions struct {
	Dir          string // scratch folder (a temporary one when empty)
	Single       int    // single /v1/track requests
	BatchEvents  int    // events sent through /v1/batch
	BatchSize    int    // messages per /v1/batch request
	Concurrency  int    // concurrent HTTP clients
	Users        int    // distinct anonymous ids
	AppenderRows int    // rows for the raw appender baseline
	DBMemory     string // DuckDB memory limit for the server under test
	Progress     io.Writer
}

// Phase is the figures of one load shape.
type Phase struct {
	Name        string  `json:"name"`
	Requests    int     `json:"requests"`
	Events      int     `json:"events"`
	Failed      int     `json:"failed"`
	Seconds     float64 `json:"seconds"`
	EventsPerS  float64 `json:"events_per_s"`
	RequestsPS  float64 `json:"requests_per_s"`
	P50Millis   float64 `json:"p50_ms"`
	P99Millis   float64 `json:"p99_ms"`
	StoredCheck int64   `json:"stored_events"`
}

// IngestResult is the whole benchmark's output.
type IngestResult struct {
	Machine          Machine `json:"machine"`
	Single           Phase   `json:"single"`
	Batch            Phase   `json:"batch"`
	AppenderRowsPerS float64 `json:"appender_rows_per_s"`
	// AppenderSmallRowsPerS is the appender committing transactions as
	// small as the single-call phase can gather (one row per client).
	AppenderSmallRowsPerS float64 `json:"appender_small_commits_rows_per_s"`
	RatioBatch            float64 `json:"ratio_batch_to_appender"`
	RatioSingle           float64 `json:"ratio_single_to_appender"`
	PeakRSSMB             float64 `json:"peak_rss_mb"`
	// GoHeapMB is the Go heap in use at the end of the load (the rest of the
	// RSS is DuckDB's buffer pool and the C allocator).
	GoHeapMB float64 `json:"go_heap_mb"`
	Date     string  `json:"date"`
}

// Ingest starts a server on a scratch workspace, drives it over loopback
// HTTP, then measures DuckDB's raw appender on the same rows.
func Ingest(ctx context.Context, o IngestOptions) (IngestResult, error) {
	res := IngestResult{Machine: ThisMachine(), Date: time.Now().UTC().Format("2006-01-02")}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "atrium-bench-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	wsDir := filepath.Join(dir, "workspace")
	creds, err := initWorkspace(ctx, wsDir)
	if err != nil {
		return res, err
	}
	srvCtx, stop := context.WithCancel(ctx)
	addrCh := make(chan string, 1)
	srvErr := make(chan error, 1)
	go func() {
		srvErr <- app.Serve(srvCtx, app.Config{DataDir: wsDir, Addr: "127.0.0.1:0", DBMemory: o.DBMemory,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func(a string) { addrCh <- a }}, nil)
	}()
	var addr string
	select {
	case addr = <-addrCh:
	case err := <-srvErr:
		stop()
		return res, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency * 2, MaxConnsPerHost: o.Concurrency * 2}}
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format, args...)
		}
	}
	progress("single /v1/track: %d requests, %d clients\n", o.Single, o.Concurrency)
	res.Single = drive(ctx, client, "http://"+addr+"/v1/track", creds.WriteKey, o.Single, 1, o, "s")
	res.Single.Name = "single /v1/track"
	progress("  %.0f requests/s, p50 %.2f ms, p99 %.2f ms\n", res.Single.RequestsPS, res.Single.P50Millis, res.Single.P99Millis)
	nBatch := o.BatchEvents / o.BatchSize
	progress("batch /v1/batch: %d requests of %d events, %d clients\n", nBatch, o.BatchSize, o.Concurrency)
	res.Batch = drive(ctx, client, "http://"+addr+"/v1/batch", creds.WriteKey, nBatch, o.BatchSize, o, "b")
	res.Batch.Name = "batch /v1/batch"
	progress("  %.0f events/s, p50 %.2f ms, p99 %.2f ms\n", res.Batch.EventsPerS, res.Batch.P50Millis, res.Batch.P99Millis)
	res.PeakRSSMB = PeakRSSMB()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.GoHeapMB = float64(ms.HeapInuse) / (1 << 20)
	stop()
	if err := <-srvErr; err != nil {
		return res, err
	}
	// Count what was stored, as a check that acknowledged means stored.
	db, err := duckdb.Open(ctx, wsDir)
	if err != nil {
		return res, err
	}
	var stored int64
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&stored); err != nil {
		db.Close()
		return res, err
	}
	db.Close()
	res.Single.StoredCheck = stored
	res.Batch.StoredCheck = stored
	want := int64(res.Single.Events + res.Batch.Events)
	if stored != want {
		return res, fmt.Errorf("acknowledged %d events but %d are stored", want, stored)
	}

	progress("raw DuckDB appender: %d rows\n", o.AppenderRows)
	rate, err := appenderRate(ctx, filepath.Join(dir, "baseline"), o.AppenderRows, o.BatchSize*o.Concurrency, o.Users, o.DBMemory)
	if err != nil {
		return res, err
	}
	res.AppenderRowsPerS = rate
	small := o.AppenderRows / 10
	if small < o.Concurrency*10 {
		small = o.Concurrency * 10
	}
	progress("raw DuckDB appender, commits of %d rows: %d rows\n", o.Concurrency, small)
	smallRate, err := appenderRate(ctx, filepath.Join(dir, "baseline-small"), small, o.Concurrency, o.Users, o.DBMemory)
	if err != nil {
		return res, err
	}
	res.AppenderSmallRowsPerS = smallRate
	res.RatioBatch = res.Batch.EventsPerS / rate
	res.RatioSingle = res.Single.EventsPerS / smallRate
	if p := PeakRSSMB(); p > res.PeakRSSMB {
		res.PeakRSSMB = p
	}
	return res, nil
}

func initWorkspace(ctx context.Context, dir string) (app.Credentials, error) {
	db, err := duckdb.Open(ctx, dir)
	if err != nil {
		return app.Credentials{}, err
	}
	defer db.Close()
	return app.Initialize(ctx, db, app.NewWorkspace(db))
}

// drive sends n requests of per messages each from o.Concurrency clients and
// records each request's latency.
func drive(ctx context.Context, client *http.Client, url, writeKey string, n, per int, o IngestOptions, tag string) Phase {
	var next atomic.Int64
	var failed atomic.Int64
	lat := make([][]time.Duration, o.Concurrency)
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < o.Concurrency; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			var buf bytes.Buffer
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				buf.Reset()
				if per == 1 {
					writeTrack(&buf, tag, i, 0, o.Users, true)
				} else {
					buf.WriteString(`{"batch":[`)
					for j := 0; j < per; j++ {
						if j > 0 {
							buf.WriteByte(',')
						}
						writeTrack(&buf, tag, i, j, o.Users, false)
					}
					buf.WriteString(`]}`)
				}
				req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(buf.Bytes()))
				req.SetBasicAuth(writeKey, "")
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
					continue
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}(c)
	}
	wg.Wait()
	el := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	ok := len(all)
	p := Phase{Requests: ok, Events: ok * per, Failed: int(failed.Load()), Seconds: el.Seconds()}
	p.RequestsPS = float64(ok) / el.Seconds()
	p.EventsPerS = float64(ok*per) / el.Seconds()
	if ok > 0 {
		p.P50Millis = float64(all[ok/2].Microseconds()) / 1000
		p.P99Millis = float64(all[(ok*99)/100].Microseconds()) / 1000
	}
	return p
}

// writeTrack writes one realistic analytics.js-like track call.
func writeTrack(b *bytes.Buffer, tag string, i, j, users int, withKey bool) {
	user := (i*131 + j*7919) % users
	b.WriteString(`{"type":"track","event":"Product Viewed","messageId":"`)
	b.WriteString(tag)
	b.WriteString(strconv.Itoa(i))
	b.WriteByte('-')
	b.WriteString(strconv.Itoa(j))
	b.WriteString(`","anonymousId":"anon-`)
	b.WriteString(strconv.Itoa(user))
	b.WriteString(`","timestamp":"2026-11-30T10:00:00.000Z","properties":{"product_id":"P`)
	b.WriteString(strconv.Itoa(i % 500))
	b.WriteString(`","price":19.9,"currency":"EUR","category":"Linge de lit"},"context":{"page":{"path":"/produits/housse","url":"https://shop.example/produits/housse?utm_source=newsletter","referrer":"https://www.google.com/"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36","library":{"name":"analytics.js","version":"5.2.0"},"locale":"fr-FR"}}`)
}

// appenderRate measures DuckDB's own appender writing the same kind of event
// rows into the same events table, committed in transactions of `per` rows:
// the engine's limit for what ingest does.
func appenderRate(ctx context.Context, dir string, n, per, users int, memory string) (float64, error) {
	db, err := duckdb.OpenWith(ctx, dir, duckdb.Options{MemoryLimit: memory})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	props := `{"product_id":"P1","price":19.9,"currency":"EUR","category":"Linge de lit"}`
	ctxJSON := `{"page":{"path":"/produits/housse","url":"https://shop.example/produits/housse?utm_source=newsletter","referrer":"https://www.google.com/"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36","library":{"name":"analytics.js","version":"5.2.0"},"locale":"fr-FR"}`
	ts := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	start := time.Now()
	for done := 0; done < n; {
		k := per
		if n-done < k {
			k = n - done
		}
		if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
			return 0, err
		}
		err := conn.Raw(func(dc any) error {
			ap, err := ddb.NewAppenderFromConn(dc.(driver.Conn), "", "events")
			if err != nil {
				return err
			}
			for i := 0; i < k; i++ {
				seq := int64(done + i + 1)
				mid := "m" + strconv.Itoa(done+i)
				if err := ap.AppendRow(seq, "profile-"+strconv.Itoa((done+i)%users), "source", mid, seq*2654435761, "track",
					"Product Viewed", nil, nil, "anon-"+strconv.Itoa((done+i)%users), nil, nil,
					ts, nil, nil, ts, int64(0), props, nil, ctxJSON, nil,
					"https://shop.example/produits/housse?utm_source=newsletter", "/produits/housse", "https://www.google.com/", nil,
					"newsletter", nil, nil, nil, nil, nil, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
					nil, "analytics.js/5.2.0", false, "consented"); err != nil {
					ap.Close()
					return err
				}
			}
			return ap.Close()
		})
		if err != nil {
			conn.ExecContext(ctx, "ROLLBACK")
			return 0, err
		}
		if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
			return 0, err
		}
		done += k
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// PrintIngest writes the human summary.
func PrintIngest(w io.Writer, r IngestResult) {
	fmt.Fprintf(w, "machine: %d CPUs, %d MB, %s\n", r.Machine.CPUs, r.Machine.MemoryMB, r.Machine.Go)
	for _, p := range []Phase{r.Single, r.Batch} {
		fmt.Fprintf(w, "%-18s %9.0f events/s  %9.0f requests/s  p50 %7.2f ms  p99 %7.2f ms  (%d events, %d failed, %.1f s)\n",
			p.Name, p.EventsPerS, p.RequestsPS, p.P50Millis, p.P99Millis, p.Events, p.Failed, p.Seconds)
	}
	fmt.Fprintf(w, "raw DuckDB appender %9.0f rows/s in commits of the batch phase's size (same rows, same table)\n", r.AppenderRowsPerS)
	fmt.Fprintf(w, "raw DuckDB appender %9.0f rows/s in commits of one row per client (the single phase's best case)\n", r.AppenderSmallRowsPerS)
	fmt.Fprintf(w, "ratio ingest/appender: batch %.2f, single %.2f\n", r.RatioBatch, r.RatioSingle)
	fmt.Fprintf(w, "peak RSS: %.0f MB (Go heap in use at the end of the load: %.0f MB)\n", r.PeakRSSMB, r.GoHeapMB)
}

// MarshalIngest is the --json form.
func MarshalIngest(r IngestResult) ([]byte, error) { return json.MarshalIndent(r, "", "  ") }
