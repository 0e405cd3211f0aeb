package ingest

import (
	"context"
	"fmt"

	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/model"
)

// Outcome is what a submitted message did to the workspace, for import reports.
type Outcome int

// Outcomes of SubmitDetailed.
const (
	// OutcomeDuplicate: the (source, messageId) was already stored; nothing changed.
	OutcomeDuplicate Outcome = iota
	// OutcomeCreated: the message created a profile.
	OutcomeCreated
	// OutcomeUpdated: the message resolved to a profile that existed before it.
	OutcomeUpdated
)

func (o Outcome) String() string {
	switch o {
	case OutcomeCreated:
		return "created"
	case OutcomeUpdated:
		return "updated"
	}
	return "duplicate"
}

// SubmitDetailed commits msgs in one transaction, like Submit, and says per
// message whether it was a duplicate, created a profile or reached an
// existing one. It runs as one writer job, so the answer and the commit see
// the same identity graph.
func (w *Writer) SubmitDetailed(ctx context.Context, msgs []model.Message) ([]Outcome, error) {
	r, err := w.do(ctx, &job{cmd: func(ctx context.Context) (any, error) {
		cfg := w.graph.Config()
		out := make([]Outcome, len(msgs))
		// An identifier known before the job, or brought by an earlier
		// message of this job, means the profile already existed.
		seen := map[string]bool{}
		for i := range msgs {
			ids, _ := identity.Extract(&msgs[i], cfg, w.opt.Keyer)
			out[i] = OutcomeCreated
			for _, id := range ids {
				if seen[id.Key()] || w.graph.Owner(id) != nil {
					out[i] = OutcomeUpdated
				}
			}
			for _, id := range ids {
				seen[id.Key()] = true
			}
		}
		inner := &job{msgs: msgs, done: make(chan jobResult, 1)}
		w.commitMessages(ctx, []*job{inner})
		res := <-inner.done
		if res.err != nil {
			return nil, res.err
		}
		for _, i := range res.res.Duplicates {
			out[i] = OutcomeDuplicate
		}
		return out, nil
	}})
	if err != nil {
		return nil, err
	}
	return r.out.([]Outcome), nil
}

// Lookup finds the live profile holding an identifier, inside an Exclusive job.
type Lookup interface {
	// ProfileFor returns the profile owning the first identifier found, "" when none.
	ProfileFor(ids []model.Identifier) string
	// Identifiers lists the identifiers a message would resolve by, with
	// placeholders and malformed values left out (the identity rules').
	Identifiers(m *model.Message) []model.Identifier
	// EmailKey and PhoneKey turn contact values into identifier values.
	EmailKey(raw string) (string, bool)
	PhoneKey(raw string) (string, bool)
}

type lookup struct{ w *Writer }

func (l lookup) ProfileFor(ids []model.Identifier) string {
	for _, id := range ids {
		if n := l.w.graph.Owner(id); n != nil {
			return n.ID
		}
	}
	return ""
}

func (l lookup) Identifiers(m *model.Message) []model.Identifier {
	ids, _ := identity.Extract(m, l.w.graph.Config(), l.w.opt.Keyer)
	return ids
}

func (l lookup) EmailKey(raw string) (string, bool) { return l.w.opt.Keyer.EmailKey(raw) }
func (l lookup) PhoneKey(raw string) (string, bool) {
	return l.w.opt.Keyer.PhoneKey(raw, l.w.graph.Config().DefaultRegion)
}

// Exclusive runs fn on the writer goroutine, between two commits: rows that
// hang off profiles (orders, order lines) are attached and written while no
// merge can move their profiles. fn must not call the writer.
func (w *Writer) Exclusive(ctx context.Context, fn func(ctx context.Context, l Lookup) error) error {
	_, err := w.do(ctx, &job{cmd: func(ctx context.Context) (out any, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("exclusive job panicked: %v", p)
			}
		}()
		return nil, fn(ctx, lookup{w})
	}})
	return err
}
