package bench

import (
	"context"
	"testing"
)

func BenchmarkAppenderRate(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r, err := appenderRate(context.Background(), b.TempDir(), 100000, 6400, 100000, "")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r, "rows/s")
	}
}

func BenchmarkIngestSmall(b *testing.B) {
	for i := 0; i < b.N; i++ {
		r, err := Ingest(context.Background(), IngestOptions{Single: 5000, BatchEvents: 200000, BatchSize: 100, Concurrency: 64, Users: 100000, AppenderRows: 1000})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.Batch.EventsPerS, "batch-ev/s")
	}
}
