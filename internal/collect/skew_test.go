package collect

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCorrectTime(t *testing.T) {
	t.Parallel()
	recv := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return recv.Add(d) }
	const tol = time.Minute
	for _, c := range []struct {
		name string
		in   clientTimes
		want time.Time
		skew int64
	}{
		{"no timestamp", clientTimes{sent: at(-time.Hour), hasSent: true}, recv, 0},
		{"delay within tolerance", clientTimes{event: at(-5 * time.Minute), hasEvent: true, sent: at(-59 * time.Second), hasSent: true}, at(-5 * time.Minute), 0},
		{"exactly the tolerance", clientTimes{event: at(-5 * time.Minute), hasEvent: true, sent: at(-time.Minute), hasSent: true}, at(-5 * time.Minute), 0},
		// sentAt 2 min behind: the clock is 2 min slow, move the event 2 min later.
		{"clock behind", clientTimes{event: at(-10 * time.Minute), hasEvent: true, sent: at(-2 * time.Minute), hasSent: true}, at(-8 * time.Minute), 120000},
		// sentAt 1 h ahead: move the event 1 h earlier.
		{"clock ahead", clientTimes{event: at(time.Hour - 30*time.Second), hasEvent: true, sent: at(time.Hour), hasSent: true}, at(-30 * time.Second), -3600000},
		{"no sentAt, past", clientTimes{event: at(-48 * time.Hour), hasEvent: true}, at(-48 * time.Hour), 0},
		{"no sentAt, slightly ahead", clientTimes{event: at(30 * time.Second), hasEvent: true}, at(30 * time.Second), 0},
		{"no sentAt, future", clientTimes{event: at(2 * time.Hour), hasEvent: true}, recv, -7200000},
		// Within tolerance of sentAt, but stamped an hour after its own sentAt.
		{"after its own sentAt", clientTimes{event: at(time.Hour), hasEvent: true, sent: at(-time.Second), hasSent: true}, recv, -3600000},
	} {
		got, skew := correctTime(recv, c.in, tol)
		if !got.Equal(c.want) || skew != c.skew {
			t.Errorf("%s: got %v, skew %d; want %v, skew %d", c.name, got, skew, c.want, c.skew)
		}
	}
}

// A batch that spent 2 s in transit keeps its events' times, so they stay in
// order with the events of the same device that another batch brought.
func TestLateBatchKeepsDeviceOrder(t *testing.T) {
	t.Parallel()
	recv := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)
	// Events 5 minutes old, 1 s apart; sentAt 2 s before receipt.
	body := `{"sentAt":"2024-05-06T11:59:58Z","batch":[
		{"type":"track","event":"A","anonymousId":"dev","timestamp":"2024-05-06T11:55:00Z"},
		{"type":"track","event":"B","anonymousId":"dev","timestamp":"2024-05-06T11:55:01Z"},
		{"type":"track","event":"C","anonymousId":"dev","timestamp":"2024-05-06T11:55:02Z"}]}`
	out := decodeAt(t, recv, "batch", body)
	for i, m := range out.Messages {
		want := time.Date(2024, 5, 6, 11, 55, i, 0, time.UTC)
		if !m.Timestamp.Equal(want) || m.SkewMillis != 0 || !m.OriginalTimestamp.Equal(want) {
			t.Errorf("message %d: timestamp %v skew %d original %v, want %v unchanged", i, m.Timestamp, m.SkewMillis, m.OriginalTimestamp, want)
		}
	}

	// Two batches of one device: the first (events at t0, t0+1s, sent at
	// t0+1.5s) is delayed 2 s in the network, the second (event at t0+2s,
	// sent at t0+2.1s) arrives 0.1 s after sending, before the first.
	// Correcting the first by its 2 s delay would put its second event at
	// t0+3s, after the second batch's event.
	t0 := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)
	first := decodeAt(t, t0.Add(3500*time.Millisecond), "batch", `{"sentAt":"2024-05-06T12:00:01.5Z","batch":[
		{"type":"track","event":"A","anonymousId":"dev","timestamp":"2024-05-06T12:00:00Z"},
		{"type":"track","event":"B","anonymousId":"dev","timestamp":"2024-05-06T12:00:01Z"}]}`)
	second := decodeAt(t, t0.Add(2200*time.Millisecond), "batch", `{"sentAt":"2024-05-06T12:00:02.1Z","batch":[
		{"type":"track","event":"C","anonymousId":"dev","timestamp":"2024-05-06T12:00:02Z"}]}`)
	a, b, c := first.Messages[0].Timestamp, first.Messages[1].Timestamp, second.Messages[0].Timestamp
	if !a.Equal(t0) || !b.Equal(t0.Add(time.Second)) || !c.Equal(t0.Add(2*time.Second)) {
		t.Errorf("device order broken: A %v, B %v, C %v", a, b, c)
	}
}

// A device whose clock runs 3 days ahead: events move back by the offset
// between its sentAt and the server's receipt.
func TestDeviceClockThreeDaysAhead(t *testing.T) {
	t.Parallel()
	recv := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)
	// The device sends at its 2024-05-09T11:59:59Z, which the server receives
	// at 2024-05-06T12:00:00Z: offset = -(72h - 1s) = -259199 s.
	body := `{"batch":[
		{"type":"track","event":"A","anonymousId":"dev","timestamp":"2024-05-09T11:50:00Z","sentAt":"2024-05-09T11:59:59Z"},
		{"type":"track","event":"B","anonymousId":"dev","timestamp":"2024-05-09T11:55:00.5Z","sentAt":"2024-05-09T11:59:59Z"}]}`
	out := decodeAt(t, recv, "batch", body)
	want := []struct{ ts, orig time.Time }{
		{time.Date(2024, 5, 6, 11, 50, 1, 0, time.UTC), time.Date(2024, 5, 9, 11, 50, 0, 0, time.UTC)},
		{time.Date(2024, 5, 6, 11, 55, 1, 5e8, time.UTC), time.Date(2024, 5, 9, 11, 55, 0, 5e8, time.UTC)},
	}
	for i, m := range out.Messages {
		if !m.Timestamp.Equal(want[i].ts) || !m.OriginalTimestamp.Equal(want[i].orig) || m.SkewMillis != -259199000 {
			t.Errorf("message %d: timestamp %v original %v skew %d; want %v %v -259199000",
				i, m.Timestamp, m.OriginalTimestamp, m.SkewMillis, want[i].ts, want[i].orig)
		}
		if !m.SentAt.Equal(time.Date(2024, 5, 9, 11, 59, 59, 0, time.UTC)) || !m.ReceivedAt.Equal(recv) {
			t.Errorf("message %d: sentAt %v receivedAt %v", i, m.SentAt, m.ReceivedAt)
		}
	}

	// Without sentAt, the same device's future timestamp becomes receivedAt.
	one := decodeAt(t, recv, "track", `{"event":"A","anonymousId":"dev","timestamp":"2024-05-09T12:00:00Z"}`)
	if m := one.Messages[0]; !m.Timestamp.Equal(recv) || m.SkewMillis != -259200000 ||
		!m.OriginalTimestamp.Equal(time.Date(2024, 5, 9, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("no sentAt: timestamp %v skew %d original %v", m.Timestamp, m.SkewMillis, m.OriginalTimestamp)
	}
}

func TestTimestampFields(t *testing.T) {
	t.Parallel()
	recv := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)
	// Missing timestamp: receivedAt, no original.
	m := decodeAt(t, recv, "track", `{"event":"E","userId":"u","sentAt":"2024-05-06T11:00:00Z"}`).Messages[0]
	if !m.Timestamp.Equal(recv) || !m.OriginalTimestamp.IsZero() || m.SkewMillis != 0 {
		t.Errorf("no timestamp: %v %v %d", m.Timestamp, m.OriginalTimestamp, m.SkewMillis)
	}
	// originalTimestamp alone stands for the device time.
	m = decodeAt(t, recv, "track", `{"event":"E","userId":"u","originalTimestamp":"2024-05-06T13:59:00+02:00"}`).Messages[0]
	if want := time.Date(2024, 5, 6, 11, 59, 0, 0, time.UTC); !m.Timestamp.Equal(want) || !m.OriginalTimestamp.Equal(want) {
		t.Errorf("originalTimestamp: %v %v", m.Timestamp, m.OriginalTimestamp)
	}
	// Epoch milliseconds, null and "" (absent).
	m = decodeAt(t, recv, "track", `{"event":"E","userId":"u","timestamp":1714996800000,"sentAt":null,"originalTimestamp":""}`).Messages[0]
	if !m.Timestamp.Equal(recv) || !m.SentAt.IsZero() {
		t.Errorf("epoch ms: %v, sentAt %v", m.Timestamp, m.SentAt)
	}
	// Unparsable: a rejection naming the field, not echoing the value.
	for _, f := range []string{"timestamp", "originalTimestamp", "sentAt"} {
		out := decodeAt(t, recv, "track", fmt.Sprintf(`{"event":"E","userId":"u",%q:"last tuesday"}`, f))
		if len(out.Rejected) != 1 || out.Rejected[0].Code != "invalid_field" ||
			!strings.Contains(out.Rejected[0].Reason, `"`+f+`"`) || strings.Contains(out.Rejected[0].Reason, "tuesday") {
			t.Errorf("%s: %+v", f, out.Rejected)
		}
	}
}
