package activate

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Clock is the dispatcher's time: when attempts are due, how long backoffs
// and full-sync intervals last. HTTP timeouts stay in real time.
type Clock interface {
	Now() time.Time
	// After fires once d of this clock's time has passed.
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time                         { return time.Now().UTC() }
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// ScaledClock runs Factor times faster than the wall clock from Base: a
// 10-minute outage lasts 3 s of real time at Factor 200. Safe for
// concurrent use.
type ScaledClock struct {
	mu     sync.Mutex
	base   time.Time
	start  time.Time
	factor float64
}

// NewScaledClock starts a clock at base running factor times real time.
func NewScaledClock(base time.Time, factor float64) *ScaledClock {
	return &ScaledClock{base: base.UTC(), start: time.Now(), factor: factor}
}

func (c *ScaledClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Duration(float64(time.Since(c.start)) * c.factor))
}

func (c *ScaledClock) After(d time.Duration) <-chan time.Time {
	return time.After(time.Duration(float64(d) / c.factor))
}

// Backoff is the retry delay policy: capped exponential with jitter.
type Backoff struct {
	Base, Cap time.Duration
}

// Delay returns the wait before attempt n+1 after n failed attempts (n ≥ 1):
// Base·2^(n-1) capped at Cap, then "equal jitter" (half fixed, half random),
// so that deliveries that failed together do not retry in lockstep.
func (b Backoff) Delay(n int) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Cap; i++ {
		d *= 2
	}
	d = min(d, b.Cap)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}
