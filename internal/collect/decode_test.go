package collect

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var testNow = time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)

// testDecoder has a fixed clock and numbered ids.
func testDecoder(now time.Time) *Decoder {
	n := 0
	return &Decoder{
		Now:   func() time.Time { return now },
		NewID: func() string { n++; return fmt.Sprintf("gen-%d", n) },
	}
}

// decodeAt decodes a JSON body that must be accepted as a request.
func decodeAt(t *testing.T, now time.Time, endpoint, body string) *Decoded {
	t.Helper()
	out, err := testDecoder(now).Decode(endpoint, "application/json", "", strings.NewReader(body))
	if err != nil {
		t.Fatalf("Decode(%s): %v", endpoint, err)
	}
	checkDecoded(t, out)
	return out
}

func decode(t *testing.T, endpoint, body string) *Decoded {
	t.Helper()
	return decodeAt(t, testNow, endpoint, body)
}

// requestError decodes a body that must be refused whole.
func requestError(t *testing.T, endpoint, contentType, encoding string, body []byte) *RequestError {
	t.Helper()
	out, err := testDecoder(testNow).Decode(endpoint, contentType, encoding, bytes.NewReader(body))
	var re *RequestError
	if !errors.As(err, &re) {
		t.Fatalf("Decode = %+v, %v; want a *RequestError", out, err)
	}
	if out != nil {
		t.Fatalf("Decode returned messages with a RequestError")
	}
	return re
}

func wantRequestError(t *testing.T, re *RequestError, status int, code string) {
	t.Helper()
	if re.Status != status || re.Code != code {
		t.Errorf("got %d %s (%s), want %d %s", re.Status, re.Code, re.Message, status, code)
	}
}

func TestContentType(t *testing.T) {
	t.Parallel()
	body := []byte(`{"event":"E","userId":"u"}`)
	for _, ct := range []string{
		"application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8",
		"text/plain;charset=UTF-8", "text/plain", "", "  ", "Application/JSON",
	} {
		if _, err := testDecoder(testNow).Decode("track", ct, "", bytes.NewReader(body)); err != nil {
			t.Errorf("Content-Type %q: %v", ct, err)
		}
	}
	for _, ct := range []string{
		"application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml",
		"application/json; charset=iso-8859-1", "text/html", "garbage;;=", "application/jsonp",
	} {
		re := requestError(t, "track", ct, "", body)
		wantRequestError(t, re, 415, "unsupported_media_type")
	}
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGzip(t *testing.T) {
	t.Parallel()
	body := []byte(`{"batch":[{"type":"track","event":"E","userId":"u"},{"type":"identify","userId":"u"}]}`)
	gz := gzipBytes(t, body)

	for _, enc := range []string{"gzip", "GZIP", "x-gzip", " gzip "} {
		out, err := testDecoder(testNow).Decode("batch", "application/json", enc, bytes.NewReader(gz))
		if err != nil || len(out.Messages) != 2 {
			t.Errorf("%q: %v", enc, err)
		}
	}

	t.Run("truncated", func(t *testing.T) {
		re := requestError(t, "batch", "", "gzip", gz[:len(gz)-5])
		wantRequestError(t, re, 400, "invalid_gzip")
	})
	t.Run("corrupt", func(t *testing.T) {
		bad := bytes.Clone(gz)
		bad[len(bad)-6] ^= 0xff // the CRC-32
		re := requestError(t, "batch", "", "gzip", bad)
		wantRequestError(t, re, 400, "invalid_gzip")
	})
	t.Run("not gzip", func(t *testing.T) {
		re := requestError(t, "batch", "", "gzip", body)
		wantRequestError(t, re, 400, "invalid_gzip")
	})
	t.Run("empty", func(t *testing.T) {
		re := requestError(t, "batch", "", "gzip", nil)
		wantRequestError(t, re, 400, "invalid_gzip")
	})
	t.Run("bomb", func(t *testing.T) {
		// 600 KB of spaces inside a valid batch compress to about 600 bytes.
		big := append(append([]byte(`{"batch":[`), bytes.Repeat([]byte(" "), 600<<10)...), `]}`...)
		re := requestError(t, "batch", "", "gzip", gzipBytes(t, big))
		wantRequestError(t, re, 413, "request_too_large")
	})
	t.Run("compressed body over the limit", func(t *testing.T) {
		noise := make([]byte, MaxRequestBytes+1024)
		_, _ = rand.Read(noise)
		re := requestError(t, "batch", "", "gzip", gzipBytes(t, noise))
		wantRequestError(t, re, 413, "request_too_large")
	})
	t.Run("unknown encoding", func(t *testing.T) {
		for _, enc := range []string{"br", "deflate", "zstd", "gzip, br"} {
			re := requestError(t, "batch", "", enc, gz)
			wantRequestError(t, re, 415, "unsupported_encoding")
		}
	})
}

func TestReadErrorIsNotARequestError(t *testing.T) {
	t.Parallel()
	broken := errors.New("connection reset")
	for _, enc := range []string{"", "gzip"} {
		_, err := testDecoder(testNow).Decode("batch", "", enc, iotest.ErrReader(broken))
		var re *RequestError
		if !errors.Is(err, broken) || errors.As(err, &re) {
			t.Errorf("%q: got %v, want the read error", enc, err)
		}
	}
	// A gzip stream cut by the connection is the connection's error too.
	gz := gzipBytes(t, []byte(`{"batch":[]}`))
	r := io.MultiReader(bytes.NewReader(gz[:10]), iotest.ErrReader(broken))
	if _, err := testDecoder(testNow).Decode("batch", "", "gzip", r); !errors.Is(err, broken) {
		t.Errorf("cut gzip: got %v, want the read error", err)
	}
}

func TestRequestSizeLimit(t *testing.T) {
	t.Parallel()
	// A body of exactly MaxRequestBytes (padded with spaces) is accepted.
	head := `{"batch":[{"type":"track","event":"E","userId":"u"}]}`
	exact := head + strings.Repeat(" ", MaxRequestBytes-len(head))
	out := decode(t, "batch", exact)
	if len(out.Messages) != 1 {
		t.Fatalf("exact size: %+v", out)
	}
	re := requestError(t, "batch", "", "", []byte(exact+" "))
	wantRequestError(t, re, 413, "request_too_large")
}

func TestInvalidJSON(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		endpoint, body, msg string
	}{
		{"batch", `{"batch":[{"type":"track",}]}`, "invalid JSON at byte 26: expected string for object key"},
		{"track", `{"event":"E"`, "invalid JSON at byte 12: unexpected end of JSON input"},
		{"batch", `{"batch":[]} x`, "invalid JSON at byte 13: invalid character after top-level value"},
		{"track", "", "the body is empty"},
		{"track", " \n ", "the body is empty"},
		{"batch", `{"batch":[1,2,]}`, "invalid JSON at byte 14: invalid character looking for beginning of value"},
		{"identify", "{\"userId\":\"a\x00\"}", "invalid JSON at byte 12: control character in string"},
	} {
		re := requestError(t, c.endpoint, "", "", []byte(c.body))
		if re.Status != 400 || re.Code != "invalid_json" || re.Message != c.msg {
			t.Errorf("%q: got %d %s %q, want 400 invalid_json %q", c.body, re.Status, re.Code, re.Message, c.msg)
		}
	}
}

func TestBodyShape(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ endpoint, body string }{
		{"batch", `[]`},
		{"batch", `{}`},
		{"batch", `{"batch":null}`},
		{"batch", `{"batch":{"type":"track"}}`},
		{"batch", `{"messages":[]}`}, // only "batch" holds messages
		{"track", `[{"event":"E","userId":"u"}]`},
		{"track", `"hello"`},
	} {
		re := requestError(t, c.endpoint, "", "", []byte(c.body))
		wantRequestError(t, re, 400, "invalid_body")
	}
	// A syntax error wins over a shape error found before it.
	re := requestError(t, "batch", "", "", []byte(`{"batch":{},"x":}`))
	wantRequestError(t, re, 400, "invalid_json")
	// Batch-level fields of the wrong kind refuse the batch.
	re = requestError(t, "batch", "", "", []byte(`{"batch":[],"sentAt":"soon"}`))
	wantRequestError(t, re, 400, "invalid_field")
	re = requestError(t, "batch", "", "", []byte(`{"batch":[],"context":"web"}`))
	wantRequestError(t, re, 400, "invalid_field")

	out := decode(t, "batch", `{"batch":[]}`)
	if out.Total != 0 || len(out.Messages) != 0 || len(out.Rejected) != 0 {
		t.Errorf("empty batch: %+v", out)
	}
	// A UTF-8 byte order mark is skipped.
	if out := decode(t, "track", "\xef\xbb\xbf"+`{"event":"E","userId":"u"}`); len(out.Messages) != 1 {
		t.Errorf("BOM: %+v", out)
	}
}

func TestUnknownEndpoint(t *testing.T) {
	t.Parallel()
	_, err := testDecoder(testNow).Decode("purchase", "", "", strings.NewReader(`{}`))
	var re *RequestError
	if err == nil || errors.As(err, &re) {
		t.Errorf("got %v, want a plain error", err)
	}
	// Short forms are accepted.
	out, err := testDecoder(testNow).Decode("t", "", "", strings.NewReader(`{"event":"E","userId":"u"}`))
	if err != nil || out.Messages[0].Type != "track" {
		t.Errorf("short form: %v", err)
	}
}

func TestNonObjectBatchElements(t *testing.T) {
	t.Parallel()
	out := decode(t, "batch", `{"batch":[1,"x",null,[],{"type":"track","event":"E","userId":"u"},true]}`)
	if out.Total != 6 || len(out.Messages) != 1 || out.Index[0] != 4 {
		t.Fatalf("got %+v", out)
	}
	want := []Rejection{
		{0, "invalid_json", "the batch element is a number, not a message object"},
		{1, "invalid_json", "the batch element is a string, not a message object"},
		{2, "invalid_json", "the batch element is null, not a message object"},
		{3, "invalid_json", "the batch element is an array, not a message object"},
		{5, "invalid_json", "the batch element is a boolean, not a message object"},
	}
	if fmt.Sprint(out.Rejected) != fmt.Sprint(want) {
		t.Errorf("rejected %v, want %v", out.Rejected, want)
	}
}

// pad returns a track message of exactly n bytes.
func pad(n int) string {
	head := `{"type":"track","event":"E","userId":"u","properties":{"p":"`
	tail := `"}}`
	return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
}

func TestMessageSizeLimit(t *testing.T) {
	t.Parallel()
	if len(pad(MaxMessageBytes)) != MaxMessageBytes {
		t.Fatal("pad is wrong")
	}
	// Single call: the limit itself passes, one byte more is a 413.
	if out := decode(t, "track", pad(MaxMessageBytes)); len(out.Messages) != 1 {
		t.Errorf("at the limit: %+v", out.Rejected)
	}
	re := requestError(t, "track", "", "", []byte(pad(MaxMessageBytes+1)))
	wantRequestError(t, re, 413, "message_too_large")

	// Batch: the big message is rejected by index, its neighbours kept.
	ok := `{"type":"track","event":"E","userId":"u"}`
	out := decode(t, "batch", `{"batch":[`+ok+`,`+pad(MaxMessageBytes+1)+`,`+ok+`,`+pad(MaxMessageBytes)+`]}`)
	if out.Total != 4 || len(out.Messages) != 3 || fmt.Sprint(out.Index) != "[0 2 3]" {
		t.Fatalf("got index %v, rejected %+v", out.Index, out.Rejected)
	}
	want := Rejection{1, "message_too_large", "the message is 32769 bytes, over the limit of 32768"}
	if out.Rejected[0] != want {
		t.Errorf("got %+v, want %+v", out.Rejected[0], want)
	}
}

func TestWriteKey(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ endpoint, body, want string }{
		{"track", `{"event":"E","userId":"u","writeKey":"wk1"}`, "wk1"},
		{"track", `{"event":"E","userId":"u"}`, ""},
		{"batch", `{"writeKey":"top","batch":[{"type":"identify","userId":"u","writeKey":"msg"}]}`, "top"},
		{"batch", `{"batch":[{"type":"identify","userId":"u","writeKey":"first"},{"type":"identify","userId":"u","writeKey":"second"}]}`, "first"},
		{"batch", `{"batch":[3,{"type":"identify","userId":"u","writeKey":"k"}]}`, "k"},
		{"batch", `{"batch":[{"type":"identify","userId":"u","writeKey":7}],"writeKey":null}`, ""},
	} {
		if got := decode(t, c.endpoint, c.body).WriteKey; got != c.want {
			t.Errorf("%s: writeKey %q, want %q", c.body, got, c.want)
		}
	}
}

func TestZeroDecoderDefaults(t *testing.T) {
	t.Parallel()
	var d Decoder
	before := time.Now().UTC()
	out, err := d.Decode("track", "", "", strings.NewReader(`{"event":"E","userId":"u"}`))
	if err != nil {
		t.Fatal(err)
	}
	m := out.Messages[0]
	if len(m.MessageID) != 36 || m.ReceivedAt.Before(before.Add(-time.Second)) || m.ReceivedAt.Location() != time.UTC {
		t.Errorf("defaults: id %q receivedAt %v", m.MessageID, m.ReceivedAt)
	}
}

// checkDecoded asserts the invariants of every Decoded.
func checkDecoded(t *testing.T, out *Decoded) {
	t.Helper()
	if len(out.Messages)+len(out.Rejected) != out.Total || len(out.Index) != len(out.Messages) {
		t.Fatalf("%d messages + %d rejected != %d total (index %d)", len(out.Messages), len(out.Rejected), out.Total, len(out.Index))
	}
	for i, m := range out.Messages {
		checkMessage(t, fmt.Sprintf("message %d", out.Index[i]), &m)
	}
}
