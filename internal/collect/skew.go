package collect

import "time"

// DefaultSkewTolerance is the SkewTolerance used when a Decoder leaves it zero.
const DefaultSkewTolerance = 60 * time.Second

// clientTimes is what one message says about time.
type clientTimes struct {
	event    time.Time // timestamp (or originalTimestamp) as sent; zero when absent
	sent     time.Time // sentAt, the message's own or the batch's; zero when absent
	hasEvent bool
	hasSent  bool
}

// correctTime returns the event time to store and the offset applied to the
// client's clock, in milliseconds (corrected − sent).
//
// A device whose clock is wrong stamps both timestamp and sentAt with it, so
// offset = receivedAt − sentAt measures the error and timestamp + offset is the
// event on the server's clock. But offset also holds the network and queueing
// delay, and a batch that arrived late must not move its events later than
// events of the same device that arrived on time: below tol, the offset is
// delay, not skew, and the time is kept as sent.
//
// Without sentAt nothing measures the clock, so only a time more than tol in
// the future is known to be wrong; it becomes receivedAt. The same cap applies
// after a correction (a timestamp later than the sentAt of its own batch is a
// client bug, not an event from the future).
func correctTime(received time.Time, c clientTimes, tol time.Duration) (time.Time, int64) {
	if !c.hasEvent {
		return received, 0
	}
	t := c.event
	if c.hasSent {
		if offset := received.Sub(c.sent); offset > tol || offset < -tol {
			t = t.Add(offset)
		}
	}
	if t.Sub(received) > tol {
		t = received
	}
	return t, t.Sub(c.event).Milliseconds()
}
