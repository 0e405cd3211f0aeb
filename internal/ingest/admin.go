package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
)

// Merge merges profile b into profile a on an administrator's word (both live,
// distinct). The guard-rails do not apply; the merge is audited and undoable.
func (w *Writer) Merge(ctx context.Context, a, b, actor string) (model.Merge, error) {
	return w.MergeNoted(ctx, a, b, actor, MergeNote{})
}

// MergeNote says why a merge that no shared identifier forced is made: its
// rule ("probabilistic") and the evidence behind it, kept under "match" in
// the merge record's evidence beside the identifiers moved and the traits
// filled.
type MergeNote struct {
	Rule     string
	Evidence json.RawMessage
}

// MergeNoted is Merge with the rule and evidence of note (the zero note is
// an administrator's merge, rule "admin").
func (w *Writer) MergeNoted(ctx context.Context, a, b, actor string, note MergeNote) (model.Merge, error) {
	if len(note.Evidence) > 0 && !json.Valid(note.Evidence) {
		return model.Merge{}, fmt.Errorf("merge %s and %s: evidence is not JSON", a, b)
	}
	r, err := w.do(ctx, &job{cmd: func(ctx context.Context) (any, error) {
		var rec model.Merge
		err := w.apply(ctx, func(batch *store.Batch) error {
			now := w.opt.Now().UTC()
			if w.graph.Node(a) == nil || w.graph.Node(b) == nil {
				return fmt.Errorf("merge %s and %s: both must be live profiles: %w", a, b, store.ErrNotFound)
			}
			if a == b {
				return fmt.Errorf("merge: a profile cannot be merged into itself: %w", store.ErrConflict)
			}
			rows, err := w.st.ProfileRows(ctx, []string{a, b})
			if err != nil {
				return err
			}
			states, err := decodeStates(rows)
			if err != nil {
				return err
			}
			mo, _ := w.graph.ForceMerge(a, b)
			rec = w.mergeRecord(now, &mo, states[a], states[b], nil)
			rec.Actor = actor
			if note.Rule != "" {
				rec.Rule = note.Rule
			}
			if len(note.Evidence) > 0 {
				var ev map[string]json.RawMessage
				if err := json.Unmarshal(rec.Evidence, &ev); err != nil {
					return fmt.Errorf("merge evidence: %w", err)
				}
				ev["match"] = note.Evidence
				if rec.Evidence, err = json.Marshal(ev); err != nil {
					return fmt.Errorf("merge evidence: %w", err)
				}
			}
			batch.Merges = append(batch.Merges, rec)
			batch.Moves = w.moves(keyed(mo.Moved), nil)
			w.finishStates(now, states, batch)
			return nil
		})
		return rec, err
	}})
	if err != nil {
		return model.Merge{}, err
	}
	return r.out.(model.Merge), nil
}

// Unmerge undoes a merge: the merged profile lives again with the identifiers
// it brought, the survivor gives back the trait values it took (unless a newer
// event changed them since), and events, which never changed profile, show
// under each profile again.
func (w *Writer) Unmerge(ctx context.Context, mergeID, actor string) (model.Merge, error) {
	r, err := w.do(ctx, &job{cmd: func(ctx context.Context) (any, error) {
		rec, err := w.st.Merge(ctx, mergeID)
		if err != nil {
			return nil, err
		}
		if rec.UndoneAt != nil {
			return nil, fmt.Errorf("merge %s was already undone: %w", mergeID, store.ErrConflict)
		}
		var undo undoData
		// UseNumber, so that a trait value given back keeps every digit.
		dec := json.NewDecoder(bytes.NewReader(rec.Undo))
		dec.UseNumber()
		if err := dec.Decode(&undo); err != nil {
			return nil, fmt.Errorf("merge %s: unreadable undo data: %w", mergeID, err)
		}
		err = w.apply(ctx, func(batch *store.Batch) error {
			now := w.opt.Now().UTC()
			rows, err := w.st.ProfileRows(ctx, []string{rec.SurvivorID, rec.MergedID})
			if err != nil {
				return err
			}
			states, err := decodeStates(rows)
			if err != nil {
				return err
			}
			mg, sv := states[rec.MergedID], states[rec.SurvivorID]
			if mg == nil || sv == nil {
				return fmt.Errorf("merge %s: a profile is missing: %w", mergeID, store.ErrNotFound)
			}
			moved := w.graph.Restore(rec.MergedID, undo.MergedIdentified, mg.row.CreatedAt, undo.Moved)
			mg.row.MergedInto = ""
			mg.row.Identified = undo.MergedIdentified
			mg.dirty = true
			if sv.traits.Unfill(undo.Fills) {
				sv.dirty = true
			}
			batch.Moves = []store.IdentityMove{{ProfileID: rec.MergedID, Identifiers: moved}}
			batch.UndoneMerges = append(batch.UndoneMerges, store.UndoneMerge{ID: rec.ID, At: now, SurvivorID: rec.SurvivorID})
			batch.Audit = append(batch.Audit, w.audit(now, "unmerge", rec.SurvivorID, map[string]any{
				"merge_id": rec.ID, "restored_profile_id": rec.MergedID, "actor": actor}))
			w.finishStates(now, states, batch)
			t := now
			rec.UndoneAt = &t
			return nil
		})
		return rec, err
	}})
	if err != nil {
		return model.Merge{}, err
	}
	return r.out.(model.Merge), nil
}

func keyed(ids []model.Identifier) map[string]model.Identifier {
	out := make(map[string]model.Identifier, len(ids))
	for _, id := range ids {
		out[id.Key()] = id
	}
	return out
}

func decodeStates(rows map[string]store.ProfileRow) (map[string]*profState, error) {
	out := map[string]*profState{}
	for id, r := range rows {
		ts, err := identity.DecodeTraitState(r.Traits, r.TraitMeta)
		if err != nil {
			return nil, err
		}
		out[id] = &profState{row: r, traits: ts}
	}
	return out, nil
}

// finishStates takes each state's identified flag from the graph and writes
// the states that changed: new profiles appended, existing ones updated once.
func (w *Writer) finishStates(now time.Time, states map[string]*profState, batch *store.Batch) {
	ids := make([]string, 0, len(states))
	for id := range states {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		st := states[id]
		if n := w.graph.Node(id); n != nil && n.Identified != st.row.Identified {
			st.row.Identified = n.Identified
			st.dirty = true
		}
		if !st.dirty {
			continue
		}
		if st.pre != nil {
			// The traits are exactly the submitted message's: its
			// precomputed encoding and normalisation stand.
			st.row.Traits, st.row.TraitMeta = st.pre.traits, st.traits.EncodeMeta()
			st.row.Normalized = st.pre.normalized
		} else {
			st.row.Traits, st.row.TraitMeta = st.traits.Encode()
			if w.opt.Normalize != nil {
				st.row.Normalized = w.opt.Normalize(st.traits.Traits)
			}
		}
		st.row.UpdatedAt = now
		if st.isNew {
			batch.NewProfiles = append(batch.NewProfiles, st.row)
		} else {
			batch.ProfileUpdates = append(batch.ProfileUpdates, st.row)
		}
	}
}

// SetConfig replaces the identity rules between two commits.
func (w *Writer) SetConfig(ctx context.Context, cfg identity.Config) error {
	_, err := w.do(ctx, &job{cmd: func(context.Context) (any, error) {
		w.graph.SetConfig(cfg)
		w.publishRules()
		return nil, nil
	}})
	return err
}
