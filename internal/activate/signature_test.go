package activate_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/activate"
)

// The signature header verifies with the documented recipe computed here
// with crypto/hmac, independently of the package's Sign.
func TestSignatureMatchesDocumentedRecipe(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, t.TempDir())
	addSegment(t, db, "seg-1", "buyers")
	rc := newReceiver(t, nil)
	d := activate.New(db, fastOptions(activate.RealClock{}))
	if _, _, err := d.Create(ctx, "crm", "webhook", webhookSettings(rc.srv.URL, nil)); err != nil {
		t.Fatal(err)
	}
	run(t, d)
	before := time.Now().Unix()
	if _, err := d.Enqueue(ctx, changes("seg-1", "enter", time.Now(), "p1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the delivery", func() bool { return len(rc.requests()) == 1 })
	r := rc.requests()[0]
	// Recipe (docs/activation.md): header "t=<unix>,v1=<hex>", where hex is
	// HMAC-SHA256 keyed with the secret over "<unix>.<raw body>".
	parts := strings.Split(r.Signature, ",")
	if len(parts) != 2 || !strings.HasPrefix(parts[0], "t=") || !strings.HasPrefix(parts[1], "v1=") {
		t.Fatalf("header %q", r.Signature)
	}
	ts := strings.TrimPrefix(parts[0], "t=")
	if ts != r.Timestamp {
		t.Fatalf("t=%s but X-Atrium-Timestamp %s", ts, r.Timestamp)
	}
	if n, _ := strconv.ParseInt(ts, 10, 64); n < before || n > time.Now().Unix() {
		t.Fatalf("timestamp %s is not the send time", ts)
	}
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte(ts + "." + string(r.Body)))
	want := hex.EncodeToString(mac.Sum(nil))
	if got := strings.TrimPrefix(parts[1], "v1="); got != want {
		t.Fatalf("v1=%s, independent HMAC %s", got, want)
	}
	if err := activate.Verify([]byte(testSecret), r.Signature, r.Body, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	tampered := append([]byte(nil), r.Body...)
	tampered[len(tampered)-2] ^= 1
	if activate.Verify([]byte(testSecret), r.Signature, tampered, time.Now(), 5*time.Minute) == nil {
		t.Fatal("a tampered body verified")
	}
	if activate.Verify([]byte("another-secret-0123"), r.Signature, r.Body, time.Now(), 5*time.Minute) == nil {
		t.Fatal("another secret verified")
	}
	if activate.Verify([]byte(testSecret), r.Signature, r.Body, time.Now().Add(time.Hour), 5*time.Minute) == nil {
		t.Fatal("an old signature verified outside the tolerance")
	}
}

// Backoff doubles from the base up to the cap and keeps at least half of
// each step (equal jitter).
func TestBackoffIsCappedExponentialWithJitter(t *testing.T) {
	b := activate.Backoff{Base: time.Second, Cap: 8 * time.Second}
	for n, step := range map[int]time.Duration{1: 1, 2: 2, 3: 4, 4: 8, 5: 8, 30: 8} {
		step *= time.Second
		for i := 0; i < 200; i++ {
			d := b.Delay(n)
			if d < step/2 || d > step {
				t.Fatalf("attempt %d: %s outside [%s, %s]", n, d, step/2, step)
			}
		}
	}
}

// verifySig is the documented recipe, written out with crypto/hmac.
func verifySig(secret []byte, r request) error {
	parts := strings.Split(r.Signature, ",")
	if len(parts) != 2 || !strings.HasPrefix(parts[0], "t=") || !strings.HasPrefix(parts[1], "v1=") {
		return fmt.Errorf("header %q", r.Signature)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strings.TrimPrefix(parts[0], "t=") + "." + string(r.Body)))
	if want := hex.EncodeToString(mac.Sum(nil)); strings.TrimPrefix(parts[1], "v1=") != want {
		return fmt.Errorf("v1 %s, independent HMAC %s", parts[1], want)
	}
	return nil
}
