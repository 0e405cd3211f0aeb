package activate

import (
	"context"
	"fmt"
)

// The segment change feed is the durable record of enters and exits. The
// segments side also hands fresh changes to SegmentChanged, which is the
// fast path; CatchUp is the safety net that reads the feed from activation's
// own cursor, so a change committed just before a crash is still queued
// after the restart. Both paths may see the same change: the idempotency key
// makes the second enqueue a no-op.

const feedPage = 5000

// CatchUp queues the deliveries of every feed change after the cursor and
// moves the cursor. On the very first run the cursor starts at the end of
// the feed: destinations receive changes from then on, not the history
// (a full sync sends current members).
func (d *Dispatcher) CatchUp(ctx context.Context) (Counts, error) {
	d.feedMu.Lock()
	defer d.feedMu.Unlock()
	var total Counts
	cur, ok, err := d.cursor(ctx)
	if err != nil {
		return total, err
	}
	for {
		rows, err := d.st.SegmentChanges(ctx, cur, feedPage)
		if err != nil {
			return total, fmt.Errorf("read the segment change feed: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		if ok {
			changes := make([]Change, len(rows))
			for i, r := range rows {
				changes[i] = Change{Seq: r.Seq, SegmentID: r.SegmentID, ProfileID: r.ProfileID, Kind: r.Kind, At: r.At}
			}
			n, err := d.Enqueue(ctx, changes)
			if err != nil {
				return total, err
			}
			total.add(n)
		}
		cur = rows[len(rows)-1].Seq
		if err := d.setCursor(ctx, cur); err != nil {
			return total, err
		}
		if len(rows) < feedPage {
			break
		}
	}
	if !ok {
		if err := d.setCursor(ctx, cur); err != nil {
			return total, err
		}
	}
	return total, nil
}

// cursor returns the feed position, read once from the store. Call with feedMu held.
func (d *Dispatcher) cursor(ctx context.Context) (int64, bool, error) {
	if d.cursorOK {
		return d.cursorSeq, true, nil
	}
	seq, ok, err := d.st.FeedCursor(ctx)
	if err != nil {
		return 0, false, err
	}
	if ok {
		d.cursorSeq, d.cursorOK = seq, true
	}
	return seq, ok, nil
}

// setCursor stores the feed position. Call with feedMu held.
func (d *Dispatcher) setCursor(ctx context.Context, seq int64) error {
	if err := d.st.SetFeedCursor(ctx, seq, d.o.Clock.Now()); err != nil {
		return err
	}
	d.cursorSeq, d.cursorOK = seq, true
	return nil
}

// SegmentChanged queues the deliveries the changes imply and returns once
// they are durable: what the segments side's listener calls after each
// commit. When the changes continue the feed right after the cursor, the
// cursor moves past them, so CatchUp does not queue them a second time.
func (d *Dispatcher) SegmentChanged(ctx context.Context, changes []Change) error {
	d.feedMu.Lock()
	defer d.feedMu.Unlock()
	if _, err := d.Enqueue(ctx, changes); err != nil {
		return err
	}
	if len(changes) == 0 || changes[0].Seq == 0 || !d.cursorOK || changes[0].Seq != d.cursorSeq+1 {
		return nil
	}
	for i := 1; i < len(changes); i++ {
		if changes[i].Seq != changes[i-1].Seq+1 {
			return nil
		}
	}
	return d.setCursor(ctx, changes[len(changes)-1].Seq)
}
