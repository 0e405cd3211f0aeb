package activate

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// webhookPlugin posts each delivery as JSON to a URL, signed with HMAC-SHA256.
type webhookPlugin struct{}

// WebhookSettings are a webhook destination's settings (docs/activation.md).
type WebhookSettings struct {
	URL     string   `json:"url"`
	Secret  string   `json:"secret"`
	Timeout Duration `json:"timeout,omitempty"`
	Routing
}

// Webhook limits.
const (
	DefaultTimeout  = 10 * time.Second
	MinSecretLength = 16
	MaxSecretLength = 256
	maxURLLength    = 2048
	maxErrorBody    = 200
)

func (webhookPlugin) Kind() string { return "webhook" }

func (webhookPlugin) Configure(raw, prev []byte) (Target, []byte, error) {
	var s WebhookSettings
	if err := decodeStrict(raw, &s); err != nil {
		return nil, nil, err
	}
	if s.Secret == "" && prev != nil {
		// An update that leaves the secret out keeps the stored one: the
		// API never shows it back, so clients cannot resend it.
		var old WebhookSettings
		if err := json.Unmarshal(prev, &old); err == nil {
			s.Secret = old.Secret
		}
	}
	if s.Secret == "" {
		var b [32]byte
		_, _ = rand.Read(b[:])
		s.Secret = "whsec_" + hex.EncodeToString(b[:])
	}
	if err := s.validate(); err != nil {
		return nil, nil, err
	}
	norm, err := json.Marshal(s)
	if err != nil {
		return nil, nil, fmt.Errorf("encode settings: %w", err)
	}
	return newWebhook(s), norm, nil
}

func (s *WebhookSettings) validate() error {
	if err := checkURL(s.URL); err != nil {
		return err
	}
	if n := len(s.Secret); n < MinSecretLength || n > MaxSecretLength {
		return &SettingsError{"secret", fmt.Sprintf("%d bytes; want %d to %d (leave it out to get a generated one)", n, MinSecretLength, MaxSecretLength)}
	}
	if !utf8.ValidString(s.Secret) || strings.ContainsAny(s.Secret, "\x00\r\n") {
		return &SettingsError{"secret", "must be valid UTF-8 text on one line"}
	}
	if err := bound("timeout", &s.Timeout, DefaultTimeout, 100*time.Millisecond, 60*time.Second); err != nil {
		return err
	}
	return s.Routing.normalize()
}

func checkURL(raw string) error {
	if raw == "" {
		return &SettingsError{"url", "required: the http(s) address deliveries are posted to"}
	}
	if len(raw) > maxURLLength {
		return &SettingsError{"url", fmt.Sprintf("longer than %d characters", maxURLLength)}
	}
	if strings.ContainsRune(raw, utf8.RuneError) {
		return &SettingsError{"url", "contains an invalid character (U+FFFD)"}
	}
	if i := strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }); i >= 0 {
		return &SettingsError{"url", fmt.Sprintf("contains a space or control character at position %d (escape it, e.g. %%20)", i+1)}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return &SettingsError{"url", "not a valid URL"}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return &SettingsError{"url", fmt.Sprintf("scheme %q: want http or https", u.Scheme)}
	}
	if u.Host == "" || u.Hostname() == "" {
		return &SettingsError{"url", "has no host"}
	}
	if u.User != nil {
		// Credentials in a URL end up in logs and listings; use the secret.
		return &SettingsError{"url", "must not carry a user name or password"}
	}
	if u.Fragment != "" {
		return &SettingsError{"url", "must not have a #fragment"}
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return &SettingsError{"url", fmt.Sprintf("port %q is out of range", p)}
		}
	}
	return nil
}

// webhook is a configured webhook destination with its own HTTP client:
// connections to one receiver are never shared with another.
type webhook struct {
	s      WebhookSettings
	client *http.Client
}

func newWebhook(s WebhookSettings) *webhook {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: time.Duration(s.Timeout), KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   s.MaxInFlight,
		MaxConnsPerHost:       s.MaxInFlight,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   time.Duration(s.Timeout),
		ResponseHeaderTimeout: time.Duration(s.Timeout),
	}
	return &webhook{s: s, client: &http.Client{
		Transport: tr,
		Timeout:   time.Duration(s.Timeout),
		// A redirect is an answer, not a delivery: following it would post
		// personal data to an address nobody configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (w *webhook) Routing() Routing { return w.s.Routing }

func (w *webhook) Close() { w.client.CloseIdleConnections() }

// Redacted returns the settings with the secret replaced by a hint.
func (w *webhook) Redacted() any {
	s := w.s
	s.Secret = "…" + s.Secret[len(s.Secret)-4:]
	return s
}

// Headers sent with every webhook attempt.
const (
	HeaderSignature   = "X-Atrium-Signature"
	HeaderTimestamp   = "X-Atrium-Timestamp"
	HeaderDelivery    = "X-Atrium-Delivery"
	HeaderIdempotency = "Idempotency-Key"
)

func (w *webhook) Deliver(ctx context.Context, a Attempt) Outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.s.URL, bytes.NewReader(a.Body))
	if err != nil {
		return Outcome{Err: "build request: " + err.Error()}
	}
	ts := a.At.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Atrium-Webhook/1")
	req.Header.Set(HeaderIdempotency, a.Key)
	req.Header.Set(HeaderDelivery, a.DeliveryID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign([]byte(w.s.Secret), ts, a.Body))
	resp, err := w.client.Do(req)
	if err != nil {
		return Outcome{Retry: true, Err: networkError(err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return classify(resp.StatusCode, resp.Header.Get("Retry-After"), body, a.At)
}

// classify maps an HTTP answer to an outcome.
func classify(status int, retryAfter string, body []byte, now time.Time) Outcome {
	o := Outcome{Status: status}
	switch {
	case status >= 200 && status < 300:
		o.OK = true
		return o
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		o.Retry = true
		o.RetryAfter = parseRetryAfter(retryAfter, now)
	}
	o.Err = fmt.Sprintf("receiver answered %d %s", status, http.StatusText(status))
	if b := safeSnippet(body); b != "" {
		o.Err += ": " + b
	}
	return o
}

// safeSnippet keeps the start of a receiver's error body, printable and on
// one line, as the reason shown for a failed attempt.
func safeSnippet(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxErrorBody {
		s = strings.ToValidUTF8(s[:maxErrorBody], "") + "…"
	}
	return s
}

func networkError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out waiting for the receiver"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return "network error: " + err.Error()
}

// maxRetryAfter bounds what a receiver may ask for, so a hostile or broken
// Retry-After cannot park a delivery beyond its max age unseen.
const maxRetryAfter = 6 * time.Hour

func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d < 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
