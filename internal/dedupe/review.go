package dedupe

import (
	"context"
	"fmt"

	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
)

// MaxReviews caps one listing of the queue.
const MaxReviews = 1000

// Reviews lists the queue: status "open", "accepted", "rejected" or "" for
// all, most probable first, at most limit (1..MaxReviews) rows.
func (s *Service) Reviews(ctx context.Context, status string, limit int) ([]store.DedupeReview, error) {
	switch status {
	case "", store.ReviewOpen, store.ReviewAccepted, store.ReviewRejected:
	default:
		return nil, &InputError{Field: "status", Msg: fmt.Sprintf("status %q: want open, accepted, rejected or nothing for all", status)}
	}
	if limit < 1 || limit > MaxReviews {
		return nil, &InputError{Field: "limit", Msg: fmt.Sprintf("limit %d: want 1 to %d", limit, MaxReviews)}
	}
	return s.st.Reviews(ctx, status, limit)
}

// Review reads one review, or store.ErrNotFound.
func (s *Service) Review(ctx context.Context, id string) (store.DedupeReview, error) {
	return s.st.Review(ctx, id)
}

// Accept merges the pair of an open review through the audited merge, with
// the review's explanation as evidence, and closes it. The pair is resolved
// to its current survivors first (either may have been merged since); a pair
// that is already one profile closes the review without a new merge. A
// review that is not open is store.ErrConflict, an unknown one
// store.ErrNotFound.
func (s *Service) Accept(ctx context.Context, id, actor string) (store.DedupeReview, *model.Merge, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.openReview(ctx, id)
	if err != nil {
		return r, nil, err
	}
	a, err := s.st.Survivor(ctx, r.ProfileA)
	if err != nil {
		return r, nil, fmt.Errorf("review %s: %w", id, err)
	}
	b, err := s.st.Survivor(ctx, r.ProfileB)
	if err != nil {
		return r, nil, fmt.Errorf("review %s: %w", id, err)
	}
	var rec *model.Merge
	mergeID := ""
	if a != b {
		// The older profile survives, as in a run.
		created, err := s.st.CreatedAt(ctx, []string{a, b})
		if err != nil {
			return r, nil, fmt.Errorf("review %s: %w", id, err)
		}
		if ta, tb := created[a], created[b]; tb.Before(ta) || (tb.Equal(ta) && b < a) {
			a, b = b, a
		}
		m, err := s.mg.MergeNoted(ctx, a, b, actor, ingest.MergeNote{Rule: Rule, Evidence: r.Explanation})
		if err != nil {
			return r, nil, fmt.Errorf("review %s: %w", id, err)
		}
		rec, mergeID = &m, m.ID
	}
	if err := s.st.DecideReview(ctx, id, store.ReviewAccepted, actor, mergeID, s.now()); err != nil {
		return r, rec, err
	}
	r, err = s.st.Review(ctx, id)
	return r, rec, err
}

// Reject closes an open review; the pair is never proposed again.
func (s *Service) Reject(ctx context.Context, id, actor string) (store.DedupeReview, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.openReview(ctx, id); err != nil {
		return store.DedupeReview{}, err
	}
	if err := s.st.DecideReview(ctx, id, store.ReviewRejected, actor, "", s.now()); err != nil {
		return store.DedupeReview{}, err
	}
	return s.st.Review(ctx, id)
}

func (s *Service) openReview(ctx context.Context, id string) (store.DedupeReview, error) {
	r, err := s.st.Review(ctx, id)
	if err != nil {
		return r, err
	}
	if r.Status != store.ReviewOpen {
		return r, fmt.Errorf("review %s is already %s: %w", id, r.Status, store.ErrConflict)
	}
	return r, nil
}

// InputError is a bad argument from a caller (a 400, a usage error).
type InputError struct {
	Field, Msg string
}

func (e *InputError) Error() string { return e.Msg }
