package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/traits/recommend"
)

// Recommender serves product recommendations from the stored model.
type Recommender interface {
	// Recommendations returns up to limit recommendations for a live
	// profile and the model they came from; store.ErrNotFound (wrapped)
	// before the model's first build.
	Recommendations(ctx context.Context, profileID string, limit int) ([]recommend.Recommendation, recommend.Model, error)
}

// RecommendationsJSON is the answer of the recommendations endpoint.
type RecommendationsJSON struct {
	ProfileID   string `json:"profile_id"`
	RequestedID string `json:"requested_id,omitempty"`
	Merged      bool   `json:"merged"`
	// Model is null before the model's first build (atrium scores run); the
	// list is then empty.
	Model           *recommend.Model           `json:"model"`
	Recommendations []recommend.Recommendation `json:"recommendations"`
}

// profileRecommendations answers GET /api/v1/profiles/{id}/recommendations?limit=N:
// a merged-away id answers for its survivor and says so.
func (a *api) profileRecommendations(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := checkID(id); err != nil {
		return err
	}
	limit := recommend.DefaultLimit
	if q := r.URL.Query(); q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || len(q["limit"]) != 1 || n < 1 || n > recommend.MaxLimit {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_limit",
				Message: fmt.Sprintf("limit must be a whole number from 1 to %d", recommend.MaxLimit)}
		}
		limit = n
	}
	out, err := LoadRecommendations(r.Context(), a.d.Store, a.d.Recommend, id, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// LoadRecommendations answers for a profile id as the API does (the CLI
// uses it on a workspace it opened directly): merges are followed, an
// unknown id is store.ErrNotFound, and before the model's first build the
// list is empty with a null model.
func LoadRecommendations(ctx context.Context, st Store, rec Recommender, id string, limit int) (RecommendationsJSON, error) {
	if err := checkID(id); err != nil {
		return RecommendationsJSON{}, err
	}
	// DuckDB refuses invalid UTF-8 in a parameter with an error that would
	// be a 500; such an id cannot be ours.
	if !utf8.ValidString(id) {
		return RecommendationsJSON{}, &Error{Status: http.StatusBadRequest, Code: "invalid_id", Message: "malformed id: not UTF-8"}
	}
	if limit < 1 || limit > recommend.MaxLimit {
		return RecommendationsJSON{}, &Error{Status: http.StatusBadRequest, Code: "invalid_limit",
			Message: fmt.Sprintf("limit must be a whole number from 1 to %d", recommend.MaxLimit)}
	}
	if rec == nil {
		return RecommendationsJSON{}, errors.New("recommendations: no recommender configured")
	}
	surv, err := st.Survivor(ctx, id)
	if err != nil {
		return RecommendationsJSON{}, err
	}
	out := RecommendationsJSON{ProfileID: surv, Recommendations: []recommend.Recommendation{}}
	if surv != id {
		out.Merged, out.RequestedID = true, id
	}
	recs, m, err := rec.Recommendations(ctx, surv, limit)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// No model yet: an empty list, not an error, so that a page
		// showing recommendations works on a new workspace.
	case err != nil:
		return RecommendationsJSON{}, err
	default:
		out.Model = &m
		if recs != nil {
			out.Recommendations = recs
		}
	}
	return out, nil
}
