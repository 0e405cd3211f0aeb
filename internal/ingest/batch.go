package ingest

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
)

// slot is one submitted message on its way through a commit.
type slot struct {
	job       int
	idx       int
	msg       *model.Message
	pre       *prepared
	ids       *extracted // already extracted by SubmitDetails (nil: extract in build)
	hash      int64
	dup       bool
	profileID string
	refused   []string // identifier types the identity limits kept from linking
}

// op is one profile change, replayed in message order over loaded states.
type op struct {
	merge  *identity.MergeOp
	traits map[string]any
	pid    string
	msg    *model.Message
	pre    *prepared
}

// profState is a profile's state while a batch is built.
type profState struct {
	row    store.ProfileRow
	traits *identity.TraitState
	isNew  bool
	dirty  bool
	// pre is the precomputed encoding of the only identify that set the
	// traits of this new profile; any other change (a second identify, a
	// merge) drops it, since the traits then differ from that message's.
	pre      *prepared
	traitOps int
}

func (w *Writer) commitMessages(ctx context.Context, jobs []*job) {
	start := time.Now()
	var slots []slot
	for ji, j := range jobs {
		for i := range j.msgs {
			m := &j.msgs[i]
			sl := slot{job: ji, idx: i, msg: m, hash: dedupHash(m.SourceID, m.MessageID)}
			if j.pre != nil {
				sl.pre = j.pre[i]
			}
			if j.ids != nil {
				sl.ids = &j.ids[i]
			}
			slots = append(slots, sl)
		}
	}
	dups := 0
	err := w.markDuplicates(ctx, slots)
	if err == nil {
		err = w.apply(ctx, func(b *store.Batch) error { return w.build(ctx, slots, b) })
	}
	results := make([]Result, len(jobs))
	for _, s := range slots {
		if s.dup {
			results[s.job].Duplicates = append(results[s.job].Duplicates, s.idx)
			dups++
		} else {
			results[s.job].Accepted++
			if len(s.refused) > 0 && err == nil {
				if results[s.job].Refused == nil {
					results[s.job].Refused = map[int][]string{}
				}
				results[s.job].Refused[s.idx] = s.refused
			}
		}
	}
	if err != nil {
		w.log.Error("ingest commit failed", "messages", len(slots), "err", err)
	}
	for i, j := range jobs {
		j.done <- jobResult{res: results[i], err: err}
	}
	touched, merged := w.takeTouched()
	w.opt.Observe(Commit{Messages: len(slots) - dups, Duplicates: dups, Requests: len(jobs), Duration: time.Since(start), Err: err,
		Touched: touched, Merged: merged})
}

// markDuplicates flags messages whose (source, messageId) is already stored or
// appears earlier in the batch. The Bloom filter answers most messages; its
// "maybe" answers are confirmed with one query.
func (w *Writer) markDuplicates(ctx context.Context, slots []slot) error {
	inBatch := make(map[string]bool, len(slots))
	var maybe []int64
	var maybeSlots []int
	for i := range slots {
		s := &slots[i]
		key := s.msg.SourceID + "\x00" + s.msg.MessageID
		if inBatch[key] {
			s.dup = true
			continue
		}
		inBatch[key] = true
		if w.seen.has(s.hash) {
			maybe = append(maybe, s.hash)
			maybeSlots = append(maybeSlots, i)
		}
	}
	if len(maybe) == 0 {
		return nil
	}
	stored, err := w.st.StoredMessageIDs(ctx, maybe)
	if err != nil {
		return err
	}
	for _, i := range maybeSlots {
		s := &slots[i]
		if stored[s.msg.SourceID+"\x00"+s.msg.MessageID] {
			s.dup = true
		}
	}
	return nil
}

// build resolves every new message and fills b.
func (w *Writer) build(ctx context.Context, slots []slot, b *store.Batch) error {
	now := w.opt.Now().UTC()
	cfg := w.graph.Config()
	var ops []op
	// Sized for a batch of new contacts (each a profile and an identifier
	// or two): growing these maps was a visible share of a large import.
	newProfiles := make(map[string]bool, len(slots))
	need := make(map[string]bool, len(slots)) // existing profiles whose stored state is needed
	consentPIDs := map[string]bool{}
	newIDs := make(map[string]model.Identifier, len(slots))
	newIDSource := make(map[string]string, len(slots))
	moved := map[string]model.Identifier{}
	for i := range slots {
		s := &slots[i]
		if s.dup {
			continue
		}
		m := s.msg
		var ids []model.Identifier
		var skipped []string
		if s.ids != nil {
			ids, skipped = s.ids.ids, s.ids.skipped
		} else {
			ids, skipped = identity.Extract(m, cfg, w.opt.Keyer)
		}
		ids = w.retypeAlias(m, ids)
		res := w.graph.Resolve(ids, now)
		s.profileID = res.ProfileID
		if res.NewProfile {
			newProfiles[res.ProfileID] = true
		}
		for _, id := range res.NewIdentities {
			newIDs[id.Key()] = id
			newIDSource[id.Key()] = m.SourceID
		}
		if res.Became {
			need[res.ProfileID] = true
		}
		for k := range res.Merges {
			mo := res.Merges[k]
			ops = append(ops, op{merge: &mo, msg: m})
			need[mo.SurvivorID], need[mo.MergedID] = true, true
			for _, id := range mo.Moved {
				moved[id.Key()] = id
			}
		}
		for _, r := range res.Refusals {
			s.refused = append(s.refused, r.Identifier.Type)
			b.Audit = append(b.Audit, w.audit(now, "identity_link_refused", r.ProfileID, map[string]any{
				"identifier_type": r.Identifier.Type, "other_profile_id": r.OtherID, "reason": r.Reason,
				"message_id": m.MessageID, "source_id": m.SourceID}))
		}
		if len(skipped) > 0 {
			b.Audit = append(b.Audit, w.audit(now, "placeholder_identifier_ignored", res.ProfileID, map[string]any{
				"identifier_types": skipped, "message_id": m.MessageID, "source_id": m.SourceID}))
		}
		if m.Type == model.Identify && len(m.Traits) > 0 {
			ops = append(ops, op{traits: m.Traits, pid: res.ProfileID, msg: m, pre: s.pre})
			need[res.ProfileID] = true
		}
		if m.Consent != nil || isConsentEvent(m) {
			ops = append(ops, op{pid: res.ProfileID, msg: m})
			consentPIDs[res.ProfileID] = true
		}
		if m.Type == model.Group && m.GroupID != "" {
			traits, _ := json.Marshal(m.Traits)
			if m.Traits == nil {
				traits = []byte("{}")
			}
			b.Groups = append(b.Groups, store.GroupRow{GroupID: m.GroupID, Traits: traits, ProfileID: res.ProfileID, At: m.Timestamp})
		}
		w.seq++
		b.Events = append(b.Events, store.EventRow{Seq: w.seq, ProfileID: res.ProfileID, DedupHash: s.hash, Msg: m, IsBot: w.isBot(m.UserAgent)})
	}

	// Load what the ops need, then replay them in message order.
	states := make(map[string]*profState, len(newProfiles)+len(need))
	for id := range newProfiles {
		states[id] = &profState{row: store.ProfileRow{ID: id, CreatedAt: now, UpdatedAt: now}, traits: identity.NewTraitState(), isNew: true, dirty: true}
	}
	var load []string
	for id := range need {
		if !newProfiles[id] {
			load = append(load, id)
		}
	}
	sort.Strings(load)
	rows, err := w.st.ProfileRows(ctx, load)
	if err != nil {
		return err
	}
	for id, r := range rows {
		ts, err := identity.DecodeTraitState(r.Traits, r.TraitMeta)
		if err != nil {
			return err
		}
		states[id] = &profState{row: r, traits: ts}
	}
	consents, err := w.loadConsents(ctx, consentPIDs, newProfiles)
	if err != nil {
		return err
	}
	for _, o := range ops {
		switch {
		case o.merge != nil:
			sv, mg := states[o.merge.SurvivorID], states[o.merge.MergedID]
			if sv == nil || mg == nil {
				continue // unreachable: both were loaded above
			}
			b.Merges = append(b.Merges, w.mergeRecord(now, o.merge, sv, mg, o.msg))
			sv.pre, mg.pre = nil, nil
			sv.traitOps, mg.traitOps = 2, 2
		case o.traits != nil:
			st := states[o.pid]
			if st.isNew && st.traitOps == 0 {
				st.pre = o.pre
			} else {
				st.pre = nil
			}
			st.traitOps++
			changed, tcs := st.traits.Apply(o.traits, cfg.SetOnceTraits, o.msg.Timestamp)
			if changed {
				st.dirty = true
			}
			for _, tc := range tcs {
				b.Audit = append(b.Audit, w.audit(now, "trait_type_changed", o.pid, map[string]any{
					"key": tc.Key, "from": tc.FromType, "to": tc.ToType, "message_id": o.msg.MessageID}))
			}
		default:
			b.Consents = append(b.Consents, w.consentRows(now, o.pid, o.msg, consents)...)
		}
	}

	w.finishStates(now, states, b)

	// Identities: new ones are written with their final owner; identities that
	// existed before the batch and moved are re-pointed.
	for k, id := range newIDs {
		owner := w.graph.Owner(id)
		if owner == nil {
			continue
		}
		b.NewIdentities = append(b.NewIdentities, store.IdentityRow{Type: id.Type, Value: id.Value, ProfileID: owner.ID,
			Display: id.Display, SourceID: newIDSource[k], FirstSeenAt: now})
	}
	sortIdentities(b.NewIdentities)
	b.Moves = w.moves(moved, newIDs)
	return nil
}

// sortIdentities orders rows by type+value, each key built once rather
// than twice per comparison.
func sortIdentities(rows []store.IdentityRow) {
	keys := make([]string, len(rows))
	idx := make([]int, len(rows))
	for i, r := range rows {
		keys[i], idx[i] = r.Type+r.Value, i
	}
	sort.Slice(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
	sorted := make([]store.IdentityRow, len(rows))
	for i, j := range idx {
		sorted[i] = rows[j]
	}
	copy(rows, sorted)
}

// moves groups identifiers that changed owner by their final owner.
func (w *Writer) moves(moved map[string]model.Identifier, skip map[string]model.Identifier) []store.IdentityMove {
	byOwner := map[string][]model.Identifier{}
	for k, id := range moved {
		if _, isNew := skip[k]; isNew {
			continue
		}
		if owner := w.graph.Owner(id); owner != nil {
			byOwner[owner.ID] = append(byOwner[owner.ID], id)
		}
	}
	var out []store.IdentityMove
	for owner, ids := range byOwner {
		out = append(out, store.IdentityMove{ProfileID: owner, Identifiers: ids})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProfileID < out[j].ProfileID })
	return out
}

// retypeAlias treats an alias's previousId as the user id it names when a
// profile holds that user id.
func (w *Writer) retypeAlias(m *model.Message, ids []model.Identifier) []model.Identifier {
	if m.Type != model.Alias || m.PreviousID == "" {
		return ids
	}
	for i, id := range ids {
		if id.Type == model.IDAnonymousID && id.Display == m.PreviousID {
			asUser := model.Identifier{Type: model.IDUserID, Value: id.Value, Display: id.Display}
			if w.graph.Owner(asUser) != nil {
				ids[i] = asUser
			}
		}
	}
	w.graph.Config().SortByPriority(ids)
	return ids
}

// undoData is what a merge record keeps to be undone.
type undoData struct {
	Moved            []model.Identifier       `json:"moved"`
	Fills            map[string]identity.Fill `json:"fills"`
	MergedIdentified bool                     `json:"merged_identified"`
}

func (w *Writer) mergeRecord(now time.Time, mo *identity.MergeOp, sv, mg *profState, msg *model.Message) model.Merge {
	fills := sv.traits.MergeFrom(mg.traits)
	sv.dirty = true
	mg.row.MergedInto = sv.row.ID
	mg.dirty = true
	undo, _ := json.Marshal(undoData{Moved: mo.Moved, Fills: fills, MergedIdentified: mg.row.Identified})
	filled := make([]string, 0, len(fills))
	for k := range fills {
		filled = append(filled, k)
	}
	sort.Strings(filled)
	evidence := map[string]any{"moved_identifiers": mo.Moved, "traits_filled": filled}
	if mo.Link.Type != "" {
		evidence["link"] = mo.Link
	}
	ev, _ := json.Marshal(evidence)
	rec := model.Merge{ID: w.newID(), SurvivorID: mo.SurvivorID, MergedID: mo.MergedID, Rule: mo.Rule, Evidence: ev,
		Actor: "ingest", CreatedAt: now, Undo: undo}
	if msg != nil {
		rec.MessageID = msg.MessageID
	}
	return rec
}

func (w *Writer) audit(at time.Time, action, profileID string, details map[string]any) store.AuditRow {
	d, _ := json.Marshal(details)
	return store.AuditRow{ID: w.newID(), At: at, Actor: "ingest", Action: action, ProfileID: profileID, Details: d}
}

// botMarkers are lower-case fragments of the user agents of headless
// browsers, crawlers, prerenderers and HTTP libraries.
var botMarkers = []string{"headlesschrome", "phantomjs", "prerender", "bot/", "bot;", "bot)", "bot ", "crawler", "spider",
	"slurp", "lighthouse", "puppeteer", "playwright", "selenium", "curl/", "wget/", "python-requests", "go-http-client"}

// isBot flags a user agent. Browsers send a handful of distinct strings, so
// answers are cached (bounded) to keep the ingest path cheap.
func (w *Writer) isBot(ua string) bool {
	if ua == "" {
		return false
	}
	if v, ok := w.botCache[ua]; ok {
		return v
	}
	l := strings.ToLower(ua)
	v := strings.HasSuffix(l, "bot")
	for _, m := range botMarkers {
		if strings.Contains(l, m) {
			v = true
			break
		}
	}
	if len(w.botCache) > 10000 {
		clear(w.botCache)
	}
	w.botCache[ua] = v
	return v
}
