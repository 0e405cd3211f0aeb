package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/model"
)

// submit is SubmitDetails' outcomes alone.
func submit(ctx context.Context, w *ingest.Writer, msgs []model.Message) ([]ingest.Outcome, error) {
	d, err := w.SubmitDetails(ctx, msgs)
	if err != nil {
		return nil, err
	}
	out := make([]ingest.Outcome, len(d))
	for i := range d {
		out[i] = d[i].Outcome
	}
	return out, nil
}

func TestSubmitDetailsOutcomes(t *testing.T) {
	w, st := startWriter(t)
	ctx := context.Background()
	now := time.Now().UTC()
	msg := func(id, email string) model.Message {
		return model.Message{Type: model.Identify, SourceID: "s", MessageID: id, Traits: map[string]any{"email": email}, Timestamp: now, ReceivedAt: now}
	}
	out, err := submit(ctx, w, []model.Message{msg("1", "a@example.fr"), msg("2", "b@example.fr"), msg("3", "a@example.fr")})
	if err != nil {
		t.Fatal(err)
	}
	if want := []ingest.Outcome{ingest.OutcomeCreated, ingest.OutcomeCreated, ingest.OutcomeUpdated}; !equalOutcomes(out, want) {
		t.Errorf("first batch %v, want %v", out, want)
	}
	out, err = submit(ctx, w, []model.Message{msg("1", "a@example.fr"), msg("4", "b@example.fr")})
	if err != nil {
		t.Fatal(err)
	}
	if want := []ingest.Outcome{ingest.OutcomeDuplicate, ingest.OutcomeUpdated}; !equalOutcomes(out, want) {
		t.Errorf("second batch %v, want %v", out, want)
	}
	var seen string
	err = w.Exclusive(ctx, func(ctx context.Context, l ingest.Lookup) error {
		k, _ := l.EmailKey(" B@example.fr ")
		seen = l.ProfileFor([]model.Identifier{{Type: "crm_customer_id", Value: "nope"}, {Type: model.IDEmail, Value: k}})
		return nil
	})
	if err != nil || seen == "" {
		t.Errorf("lookup by e-mail: %q, %v", seen, err)
	}
	// A failed commit fails the whole call and leaves nothing behind.
	st.fail.Store(true)
	if _, err := submit(ctx, w, []model.Message{msg("9", "z@example.fr")}); err == nil {
		t.Error("failed commit reported no error")
	}
	st.fail.Store(false)
	out, err = submit(ctx, w, []model.Message{msg("9", "z@example.fr")})
	if err != nil || out[0] != ingest.OutcomeCreated {
		t.Errorf("after a failed commit: %v, %v", out, err)
	}
}

func equalOutcomes(a, b []ingest.Outcome) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
