package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/traits/computed"
)

// ComputedTraits manages computed trait definitions; Save and Delete change
// the stored values in the same transaction.
type ComputedTraits interface {
	List(ctx context.Context) ([]computed.Stored, error)
	Get(ctx context.Context, name string) (computed.Stored, error)
	Save(ctx context.Context, defs []computed.Definition) (map[string]int64, error)
	Delete(ctx context.Context, name string) error
}

// ScoresRunner runs the steps of "atrium scores run" (indicators, computed
// traits, models) inside the server.
type ScoresRunner interface {
	Steps() []string
	Run(ctx context.Context, only []string) (any, error)
}

// errNoComputed answers when the server was built without the engine.
var errNoComputed = &Error{Status: http.StatusNotImplemented, Code: "not_available", Message: "computed traits are not available on this server"}

// listComputedTraits: GET /api/v1/computed-traits.
func (a *api) listComputedTraits(w http.ResponseWriter, r *http.Request) error {
	if a.d.ComputedTraits == nil {
		return errNoComputed
	}
	list, err := a.d.ComputedTraits.List(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []computed.Stored{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"computed_traits": list})
	return nil
}

// getComputedTrait: GET /api/v1/computed-traits/{name}.
func (a *api) getComputedTrait(w http.ResponseWriter, r *http.Request) error {
	if a.d.ComputedTraits == nil {
		return errNoComputed
	}
	name, err := traitName(r)
	if err != nil {
		return err
	}
	s, err := a.d.ComputedTraits.Get(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

// createComputedTrait: POST /api/v1/computed-traits with one definition;
// 409 when the name exists (update it with PUT).
func (a *api) createComputedTrait(w http.ResponseWriter, r *http.Request) error {
	if a.d.ComputedTraits == nil {
		return errNoComputed
	}
	d, err := readDefinition(r, "")
	if err != nil {
		return err
	}
	a.createMu.Lock()
	defer a.createMu.Unlock()
	if _, err := a.d.ComputedTraits.Get(r.Context(), d.Name); err == nil {
		return &Error{Status: http.StatusConflict, Code: "conflict", Message: fmt.Sprintf("computed trait %q exists: update it with PUT /api/v1/computed-traits/%s", d.Name, d.Name)}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return a.saveComputed(w, r, http.StatusCreated, []computed.Definition{d})
}

// updateComputedTrait: PUT /api/v1/computed-traits/{name}; the body's name,
// when given, must be the path's.
func (a *api) updateComputedTrait(w http.ResponseWriter, r *http.Request) error {
	if a.d.ComputedTraits == nil {
		return errNoComputed
	}
	name, err := traitName(r)
	if err != nil {
		return err
	}
	if _, err := a.d.ComputedTraits.Get(r.Context(), name); err != nil {
		return err
	}
	d, err := readDefinition(r, name)
	if err != nil {
		return err
	}
	return a.saveComputed(w, r, http.StatusOK, []computed.Definition{d})
}

// applyComputedTraits: PUT /api/v1/computed-traits with
// {"computed_traits": [...]}: creates or updates them all in one
// transaction ("atrium scores traits apply" against a server).
func (a *api) applyComputedTraits(w http.ResponseWriter, r *http.Request) error {
	if a.d.ComputedTraits == nil {
		return errNoComputed
	}
	body, err := readBody(r, computed.MaxFileBytes)
	if err != nil {
		return err
	}
	var f computed.File
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil {
		return badDefinition(fmt.Errorf("body: %w", err))
	}
	if len(f.ComputedTraits) == 0 || len(f.ComputedTraits) > computed.MaxDefinitions {
		return badDefinition(fmt.Errorf("body: computed_traits must hold 1 to %d definitions", computed.MaxDefinitions))
	}
	seen := map[string]bool{}
	for i := range f.ComputedTraits {
		if err := f.ComputedTraits[i].Validate(i + 1); err != nil {
			return badDefinition(err)
		}
		if seen[f.ComputedTraits[i].Name] {
			return badDefinition(fmt.Errorf("computed trait %s: name: defined twice", f.ComputedTraits[i].Name))
		}
		seen[f.ComputedTraits[i].Name] = true
	}
	counts, err := a.d.ComputedTraits.Save(r.Context(), f.ComputedTraits)
	if err != nil {
		return saveError(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"applied": len(f.ComputedTraits), "profiles": counts})
	return nil
}

// saveComputed stores one definition and answers with it as stored.
func (a *api) saveComputed(w http.ResponseWriter, r *http.Request, status int, defs []computed.Definition) error {
	if _, err := a.d.ComputedTraits.Save(r.Context(), defs); err != nil {
		return saveError(err)
	}
	s, err := a.d.ComputedTraits.Get(r.Context(), defs[0].Name)
	if err != nil {
		return err
	}
	writeJSON(w, status, s)
	return nil
}

// saveError maps a validation error to 400; others pass to the adapter.
func saveError(err error) error {
	var fe *computed.FieldError
	if errors.As(err, &fe) {
		return badDefinition(err)
	}
	return err
}

// deleteComputedTrait: DELETE /api/v1/computed-traits/{name}; its values go
// with it.
func (a *api) deleteComputedTrait(w http.ResponseWriter, r *http.Request) error {
	if a.d.ComputedTraits == nil {
		return errNoComputed
	}
	name, err := traitName(r)
	if err != nil {
		return err
	}
	if err := a.d.ComputedTraits.Delete(r.Context(), name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// runScores: POST /api/v1/scores/run with {"only": ["indicators", ...]}
// (an empty body or list runs every step).
func (a *api) runScores(w http.ResponseWriter, r *http.Request) error {
	if a.d.Scores == nil {
		return &Error{Status: http.StatusNotImplemented, Code: "not_available", Message: "scores are not available on this server"}
	}
	body, err := readBody(r, 64<<10)
	if err != nil {
		return err
	}
	var req struct {
		Only []string `json:"only"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeStrict(body, &req); err != nil {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_body", Message: "body: want one JSON object {\"only\": [step names]}: " + err.Error()}
		}
	}
	valid := a.d.Scores.Steps()
	for _, n := range req.Only {
		ok := false
		for _, v := range valid {
			ok = ok || v == n
		}
		if !ok {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_only",
				Message: fmt.Sprintf("unknown step %q (valid: %s)", clipMsg(n), strings.Join(valid, ", "))}
		}
	}
	// A run replaces whole tables of scores in transactions: it finishes
	// even when the client stops waiting (the server's write timeout is
	// 60 s), rather than rolling back work that was nearly done.
	rep, err := a.d.Scores.Run(context.WithoutCancel(r.Context()), req.Only)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// readDefinition reads one definition; pathName, when set, names it.
func readDefinition(r *http.Request, pathName string) (computed.Definition, error) {
	body, err := readBody(r, computed.MaxBodyBytes)
	if err != nil {
		return computed.Definition{}, err
	}
	if pathName != "" {
		// The path names the trait; a body without a name takes it.
		var probe map[string]json.RawMessage
		if json.Unmarshal(body, &probe) == nil {
			if raw, ok := probe["name"]; ok {
				var n string
				if json.Unmarshal(raw, &n) != nil || n != pathName {
					return computed.Definition{}, &Error{Status: http.StatusBadRequest, Code: "invalid_computed_trait",
						Message: "name in the body differs from the name in the path (a trait cannot be renamed: delete it and create another)"}
				}
			} else {
				probe["name"], _ = json.Marshal(pathName)
				body, _ = json.Marshal(probe)
			}
		}
	}
	d, err := computed.ParseJSON(body)
	if err != nil {
		return d, badDefinition(err)
	}
	return d, nil
}

// readCapped reads a request body of at most limit bytes; a longer one is
// a 413.
func readCapped(r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the body is over %d KB", limit>>10)}
		}
		return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_body", Message: "the body could not be read: " + err.Error()}
	}
	return body, nil
}

func readBody(r *http.Request, limit int64) ([]byte, error) {
	body, err := readCapped(r, limit)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(body) {
		return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_encoding", Message: "the body is not valid UTF-8"}
	}
	return body, nil
}

func traitName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if err := computed.CheckName(name); err != nil {
		return "", &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such computed trait: " + err.Error()}
	}
	return name, nil
}

func badDefinition(err error) error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_computed_trait", Message: clipMsg(err.Error())}
}

func clipMsg(s string) string {
	s = strings.ToValidUTF8(s, "?")
	if r := []rune(s); len(r) > 300 {
		return string(r[:300]) + "…"
	}
	return s
}
