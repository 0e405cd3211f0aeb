package activate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
)

// Change is one membership change: a profile entered or exited a segment at
// At (for an exit, the stay's exited_at). The segments package has its own
// Change; the composition root adapts it in one place.
type Change struct {
	Seq       int64 // position in the segment change feed; 0 when not from it
	SegmentID string
	ProfileID string
	Kind      string // "enter" or "exit"
	At        time.Time
}

// Counts say what an enqueue did: rows queued for sending, rows recorded as
// excluded for want of consent, and changes already queued (same key).
type Counts struct {
	Included   int `json:"included"`
	Excluded   int `json:"excluded"`
	Duplicates int `json:"duplicates"`
}

func (c *Counts) add(o Counts) {
	c.Included += o.Included
	c.Excluded += o.Excluded
	c.Duplicates += o.Duplicates
}

// Enqueue queues one delivery per (destination, change) the destination's
// segments and events select, and wakes the workers concerned.
func (d *Dispatcher) Enqueue(ctx context.Context, changes []Change) (Counts, error) {
	if err := d.ensureLoaded(ctx); err != nil {
		return Counts{}, err
	}
	var total Counts
	for _, c := range d.snapshot() {
		r := c.t.Routing()
		var mine []Change
		for _, ch := range changes {
			if (ch.Kind == KindEnter || ch.Kind == KindExit) && r.wants(ch.Kind) && r.hasSegment(ch.SegmentID) {
				mine = append(mine, ch)
			}
		}
		if len(mine) == 0 {
			continue
		}
		n, err := d.enqueueFor(ctx, c.row.ID, r, mine, "")
		if err != nil {
			return total, fmt.Errorf("queue deliveries for destination %s: %w", c.row.ID, err)
		}
		total.add(n)
		d.wake(c.row.ID)
	}
	return total, nil
}

// FullSync queues every current member of the destination's segments, with
// a sync id in each key: a later sync sends them again, a repeated enqueue
// of the same sync does not.
func (d *Dispatcher) FullSync(ctx context.Context, idOrName string) (Counts, error) {
	row, t, err := d.configuredFor(ctx, idOrName)
	if err != nil {
		return Counts{}, err
	}
	defer t.Close()
	r := t.Routing()
	now := d.o.Clock.Now()
	syncID := now.UTC().Format("20060102T150405.000000000Z")
	var total Counts
	const page = 5000
	for _, seg := range r.Segments {
		for after := ""; ; {
			members, err := d.st.SegmentMembers(ctx, seg, after, page)
			if err != nil {
				return total, fmt.Errorf("read members of segment %s: %w", seg, err)
			}
			if len(members) == 0 {
				break
			}
			changes := make([]Change, len(members))
			for j, m := range members {
				changes[j] = Change{SegmentID: seg, ProfileID: m.ProfileID, Kind: KindSync, At: now}
			}
			n, err := d.enqueueFor(ctx, row.ID, r, changes, syncID)
			if err != nil {
				return total, err
			}
			total.add(n)
			after = members[len(members)-1].ProfileID
			if len(members) < page {
				break
			}
		}
	}
	if err := d.st.MarkFullSync(ctx, row.ID, now); err != nil {
		return total, err
	}
	d.mu.Lock()
	if c, ok := d.targets[row.ID]; ok {
		c.row.LastFullSyncAt = now
		d.targets[row.ID] = c
	}
	d.mu.Unlock()
	d.wake(row.ID)
	return total, nil
}

// IdempotencyKey is a delivery's key: the same for every attempt and replay
// of one logical change, different for any other change. A membership
// change is named by its destination, segment, profile, kind and time (an
// entry's entered_at, an exit's exited_at); a full-sync row by its sync id.
func IdempotencyKey(destID, segmentID, profileID, kind string, at time.Time, syncID string) string {
	h := sha256.New()
	for _, part := range []string{destID, segmentID, profileID, kind, strconv.FormatInt(at.UnixNano(), 10), syncID} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:20])
}

// Payload is the JSON body of a delivery.
type Payload struct {
	Type           string         `json:"type"`
	Segment        PayloadSegment `json:"segment"`
	Profile        payloadProfile `json:"profile"`
	OccurredAt     time.Time      `json:"occurred_at"`
	DeliveryID     string         `json:"delivery_id"`
	IdempotencyKey string         `json:"idempotency_key"`
	Sync           *PayloadSync   `json:"sync,omitempty"`
}

// PayloadSegment names the segment.
type PayloadSegment struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// PayloadSync marks a full-sync delivery.
type PayloadSync struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

var payloadTypes = map[string]string{KindEnter: "segment.entered", KindExit: "segment.exited", KindSync: "segment.entered"}

// enqueueFor builds and inserts the rows of one destination.
func (d *Dispatcher) enqueueFor(ctx context.Context, destID string, r Routing, changes []Change, syncID string) (Counts, error) {
	ids := make([]string, 0, len(changes))
	seen := map[string]bool{}
	segIDs := map[string]bool{}
	for _, c := range changes {
		if !seen[c.ProfileID] {
			seen[c.ProfileID] = true
			ids = append(ids, c.ProfileID)
		}
		segIDs[c.SegmentID] = true
	}
	names := map[string]string{}
	for id := range segIDs {
		seg, err := d.st.SegmentByID(ctx, id)
		switch {
		case err == nil:
			names[id] = seg.Name
		case !errors.Is(err, store.ErrNotFound):
			return Counts{}, err
		}
	}
	var profiles map[string]store.ProfileRow
	if len(r.Traits) > 0 {
		var err error
		if profiles, err = d.st.ProfileRows(ctx, ids); err != nil {
			return Counts{}, err
		}
	}
	var consents map[string]store.ConsentState
	if r.Purpose != "none" {
		var err error
		if consents, err = d.st.ConsentStates(ctx, ids, r.Purpose); err != nil {
			return Counts{}, err
		}
	}
	now := d.o.Clock.Now()
	var included, excluded []DeliveryRow
	keys := map[string]bool{}
	for _, c := range changes {
		key := IdempotencyKey(destID, c.SegmentID, c.ProfileID, c.Kind, c.At, syncID)
		if keys[key] {
			continue
		}
		keys[key] = true
		row := DeliveryRow{ID: d.o.NewID(), DestinationID: destID, ProfileID: c.ProfileID, SegmentID: c.SegmentID,
			Kind: c.Kind, IdempotencyKey: key, Status: StatusPending, NextAttemptAt: now, CreatedAt: now, QueuedAt: now, UpdatedAt: now}
		p := Payload{Type: payloadTypes[c.Kind], Segment: PayloadSegment{ID: c.SegmentID, Name: names[c.SegmentID]},
			Profile:    payloadProfile{ID: c.ProfileID, Traits: pickTraits(profiles[c.ProfileID].Traits, r.Traits)},
			OccurredAt: c.At.UTC(), DeliveryID: row.ID, IdempotencyKey: key}
		if syncID != "" {
			p.Sync = &PayloadSync{ID: syncID, At: now}
		}
		body, err := json.Marshal(p)
		if err != nil {
			return Counts{}, fmt.Errorf("encode payload: %w", err)
		}
		row.Payload = body
		if r.Purpose == "none" {
			row.ConsentReason = "no purpose: sent without a consent check"
			included = append(included, row)
			continue
		}
		st, found := consents[c.ProfileID]
		ok, reason := consentFor(st, found, r.Purpose)
		row.ConsentReason = reason
		if ok {
			included = append(included, row)
		} else {
			row.Status = StatusExcluded
			excluded = append(excluded, row)
		}
	}
	var out Counts
	n, err := d.st.EnqueueDeliveries(ctx, included)
	if err != nil {
		return out, err
	}
	out.Included, out.Duplicates = n, len(included)-n
	n, err = d.st.EnqueueDeliveries(ctx, excluded)
	if err != nil {
		return out, err
	}
	out.Excluded, out.Duplicates = n, out.Duplicates+len(excluded)-n
	out.Duplicates += len(changes) - len(keys)
	d.o.Metrics.enqueued(destID, out)
	return out, nil
}

// pickTraits copies the named traits that the profile has.
func pickTraits(traits json.RawMessage, names []string) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	if len(names) == 0 || len(traits) == 0 {
		return out
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(traits, &all) != nil {
		return out
	}
	for _, n := range names {
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	return out
}
