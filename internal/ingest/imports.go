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

// Detail is what one submitted message did: its outcome and the types of
// the identifiers it carried that the identity limits kept from linking
// (another profile holds them, or the profile has its limit of that type).
type Detail struct {
	Outcome Outcome
	Refused []string
}

// SubmitDetails commits msgs in one transaction, like Submit, and says per
// message whether it was a duplicate, created a profile or reached an
// existing one, and which of its identifiers were not linked. It runs as one
// writer job, so the answer and the commit see the same identity graph.
func (w *Writer) SubmitDetails(ctx context.Context, msgs []model.Message) ([]Detail, error) {
	// Identifiers (e-mail and phone keys) and trait encodings are pure
	// work: they are computed here, on the caller's goroutine, and the
	// writer keeps them when the rules did not change meanwhile.
	rules := w.rules.Load()
	exs := make([]extracted, len(msgs))
	for i := range msgs {
		exs[i].ids, exs[i].skipped = identity.Extract(&msgs[i], *rules, w.opt.Keyer)
	}
	pre := w.prepare(msgs)
	r, err := w.do(ctx, &job{cmd: func(ctx context.Context) (any, error) {
		if w.rules.Load() != rules {
			cfg := w.graph.Config()
			for i := range msgs {
				exs[i].ids, exs[i].skipped = identity.Extract(&msgs[i], cfg, w.opt.Keyer)
			}
		}
		out := make([]Outcome, len(msgs))
		// An identifier known before the job, or brought by an earlier
		// message of this job, means the profile already existed.
		seen := make(map[string]bool, len(msgs))
		for i := range msgs {
			ids := exs[i].ids
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
		inner := &job{msgs: msgs, pre: pre, ids: exs, done: make(chan jobResult, 1)}
		w.commitMessages(ctx, []*job{inner})
		res := <-inner.done
		if res.err != nil {
			return nil, res.err
		}
		for _, i := range res.res.Duplicates {
			out[i] = OutcomeDuplicate
		}
		d := make([]Detail, len(out))
		for i := range out {
			d[i] = Detail{Outcome: out[i], Refused: res.res.Refused[i]}
		}
		return d, nil
	}})
	if err != nil {
		return nil, err
	}
	return r.out.([]Detail), nil
}

// extracted is a message's identifiers as identity.Extract returned them.
type extracted struct {
	ids     []model.Identifier
	skipped []string
}

// prepared is the encoding and normalisation of an identify's traits,
// computed off the writer goroutine. It is the profile's stored state when
// the message creates the profile and nothing else in the batch touches its
// traits, the common case of a contact import.
type prepared struct {
	traits     []byte
	normalized []byte
}

// prepare precomputes, on the caller's goroutine (imports run several, the
// writer is one), what finishStates would compute for each identify whose
// traits become a new profile's traits unchanged by Apply: no null (a
// clear) and no $set_once envelope. The writer decides whether it applies.
func (w *Writer) prepare(msgs []model.Message) []*prepared {
	var out []*prepared
	for i := range msgs {
		m := &msgs[i]
		if m.Type != model.Identify || len(m.Traits) == 0 {
			continue
		}
		if _, ok := m.Traits[identity.SetOnceKey]; ok {
			continue
		}
		plain := true
		for _, v := range m.Traits {
			if v == nil {
				plain = false
				break
			}
		}
		if !plain {
			continue
		}
		p := &prepared{traits: identity.EncodeTraits(m.Traits)}
		if w.opt.Normalize != nil {
			p.normalized = w.opt.Normalize(m.Traits)
		}
		if out == nil {
			out = make([]*prepared, len(msgs))
		}
		out[i] = p
	}
	return out
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
