package collect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"
)

// benchBatch builds a batch of n analytics.js track calls, each with its own
// messageId, as the analytics.js batching plugin sends them.
func benchBatch(tb testing.TB, n int) []byte {
	tb.Helper()
	msg, err := os.ReadFile("testdata/analyticsjs_track.json")
	if err != nil {
		tb.Fatal(err)
	}
	msg = bytes.TrimSpace(msg)
	var b bytes.Buffer
	b.WriteString(`{"batch":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(bytes.Replace(msg, []byte("3f2a9c1e"), fmt.Appendf(nil, "%08d", i), 1))
	}
	b.WriteString(`],"sentAt":"2024-05-06T10:11:12.350Z","writeKey":"wk_3Fx9LmQ2pR7sT1vW"}`)
	return b.Bytes()
}

// BenchmarkDecodeBatch decodes a 100-message batch of analytics.js track
// calls (about 150 KB). Reported: ns/message and bytes/s of JSON.
func BenchmarkDecodeBatch(b *testing.B) {
	body := benchBatch(b, 100)
	d := &Decoder{
		Now:   func() time.Time { return time.Date(2024, 5, 6, 10, 11, 13, 0, time.UTC) },
		NewID: func() string { return "generated" },
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		out, err := d.Decode("batch", "application/json", "", bytes.NewReader(body))
		if err != nil || len(out.Messages) != 100 {
			b.Fatalf("decode: %v, %d messages", err, len(out.Messages))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/message")
}

// BenchmarkJSONValidBaseline is the yardstick for BenchmarkDecodeBatch on the
// same machine and body: encoding/json only validating it, decoding nothing.
func BenchmarkJSONValidBaseline(b *testing.B) {
	body := benchBatch(b, 100)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if !json.Valid(body) {
			b.Fatal("invalid")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/message")
}
