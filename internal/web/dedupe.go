package web

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/atrium-cdp/atrium/internal/dedupe"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
)

// Deduplication: runs, the review queue, survivorship settings and golden
// records (docs/dedupe.md, docs/golden-record.md). The service serialises
// runs and decisions; these handlers only check input and map errors.

// ReviewDecision is the answer to an accept or a reject.
type ReviewDecision struct {
	Review store.DedupeReview `json:"review"`
	Merge  *model.Merge       `json:"merge,omitempty"`
}

func (a *api) dedupeService() (*dedupe.Service, error) {
	if a.d.Dedupe == nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "deduplication is not enabled on this server"}
	}
	return a.d.Dedupe, nil
}

// dedupeError maps the service's input errors to 400.
func dedupeError(err error) error {
	var ie *dedupe.InputError
	if errors.As(err, &ie) {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_" + ie.Field, Message: ie.Msg}
	}
	return err
}

// readOptionalJSON is readJSON for a body that may be empty.
func readOptionalJSON(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return readJSON(r, v)
}

func (a *api) runDedupe(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.dedupeService()
	if err != nil {
		return err
	}
	var body struct {
		DryRun bool `json:"dry_run"`
	}
	if err := readOptionalJSON(r, &body); err != nil {
		return err
	}
	rep, err := svc.Run(r.Context(), dedupe.RunOptions{DryRun: body.DryRun, Actor: "api"})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (a *api) listReviews(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.dedupeService()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	status := q.Get("status")
	if !q.Has("status") {
		status = store.ReviewOpen
	} else if status == "all" {
		status = ""
	}
	limit := 100
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_limit", Message: "limit must be a number from 1 to 1000"}
		}
	}
	list, err := svc.Reviews(r.Context(), status, limit)
	if err != nil {
		return dedupeError(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"reviews": list})
	return nil
}

func (a *api) getReview(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.dedupeService()
	if err != nil {
		return err
	}
	if err := checkID(r.PathValue("id")); err != nil {
		return err
	}
	rv, err := svc.Review(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rv)
	return nil
}

func (a *api) acceptReview(w http.ResponseWriter, r *http.Request) error {
	return a.decideReview(w, r, true)
}

func (a *api) rejectReview(w http.ResponseWriter, r *http.Request) error {
	return a.decideReview(w, r, false)
}

func (a *api) decideReview(w http.ResponseWriter, r *http.Request, accept bool) error {
	svc, err := a.dedupeService()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := checkID(id); err != nil {
		return err
	}
	var body struct{}
	if err := readOptionalJSON(r, &body); err != nil {
		return err
	}
	var out ReviewDecision
	if accept {
		out.Review, out.Merge, err = svc.Accept(r.Context(), id, "api")
	} else {
		out.Review, err = svc.Reject(r.Context(), id, "api")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *api) getSurvivorship(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.dedupeService()
	if err != nil {
		return err
	}
	sv, err := svc.Survivorship(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sv)
	return nil
}

func (a *api) putSurvivorship(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.dedupeService()
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, dedupe.MaxSurvivorshipBytes))
	if err != nil {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "settings must be under 64 KB"}
	}
	sv, err := svc.PutSurvivorship(r.Context(), body)
	if err != nil {
		return dedupeError(err)
	}
	writeJSON(w, http.StatusOK, sv)
	return nil
}

func (a *api) goldenRecord(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.dedupeService()
	if err != nil {
		return err
	}
	if err := checkID(r.PathValue("id")); err != nil {
		return err
	}
	g, err := svc.Golden(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}
