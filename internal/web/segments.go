package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/atrium-cdp/atrium/internal/segments"
)

// Segment routes (docs/segments.md). {id} is a segment's id or its name.

func (a *api) segmentsOn() error {
	if a.d.Segments == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "segments are not enabled"}
	}
	return nil
}

// segmentFail answers a refused definition: 400 with the field, and for a
// rule that did not parse the position, what was expected and what was found.
func (a *api) segmentFail(w http.ResponseWriter, err error) error {
	var ie *segments.InputError
	if !errors.As(err, &ie) {
		return err
	}
	body := map[string]any{"code": "invalid_" + ie.Field, "message": ie.Msg}
	if se := ie.Syntax; se != nil {
		body["position"] = map[string]any{"offset": se.Pos, "line": se.Line, "column": se.Col,
			"expected": se.Expected, "found": se.Found}
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": body})
	return nil
}

func (a *api) listSegments(w http.ResponseWriter, r *http.Request) error {
	if err := a.segmentsOn(); err != nil {
		return err
	}
	list, err := a.d.Segments.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"segments": list})
	return nil
}

func (a *api) createSegment(w http.ResponseWriter, r *http.Request) error {
	if err := a.segmentsOn(); err != nil {
		return err
	}
	var in segments.Input
	if err := readJSON(r, &in); err != nil {
		return err
	}
	s, err := a.d.Segments.Create(r.Context(), in)
	if err != nil {
		return a.segmentFail(w, err)
	}
	writeJSON(w, http.StatusCreated, s)
	return nil
}

func (a *api) getSegment(w http.ResponseWriter, r *http.Request) error {
	if err := a.segmentsOn(); err != nil {
		return err
	}
	s, err := a.d.Segments.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (a *api) updateSegment(w http.ResponseWriter, r *http.Request) error {
	if err := a.segmentsOn(); err != nil {
		return err
	}
	var in segments.Input
	if err := readJSON(r, &in); err != nil {
		return err
	}
	s, err := a.d.Segments.Update(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return a.segmentFail(w, err)
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (a *api) deleteSegment(w http.ResponseWriter, r *http.Request) error {
	if err := a.segmentsOn(); err != nil {
		return err
	}
	a.createMu.Lock() // a destination created meanwhile could route it
	defer a.createMu.Unlock()
	n, err := a.d.Segments.Delete(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": true, "members_exited": n})
	return nil
}

// previewSegment evaluates a rule without saving it: {"rule": "...", "sample": 10}.
func (a *api) previewSegment(w http.ResponseWriter, r *http.Request) error {
	if err := a.segmentsOn(); err != nil {
		return err
	}
	var in struct {
		segments.Input
		Sample *int `json:"sample"`
	}
	if err := readJSON(r, &in); err != nil {
		return err
	}
	n := segments.DefaultSample
	if in.Sample != nil {
		n = *in.Sample
	}
	p, err := a.d.Segments.Preview(r.Context(), in.Input, n)
	if err != nil {
		return a.segmentFail(w, err)
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *api) overlapSegments(w http.ResponseWriter, r *http.Request) error {
	if err := a.segmentsOn(); err != nil {
		return err
	}
	other := r.URL.Query().Get("with")
	if other == "" {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_with", Message: "give the other segment: ?with=ID_OR_NAME"}
	}
	o, err := a.d.Segments.Overlap(r.Context(), r.PathValue("id"), other)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

// queryInt reads an optional whole-number query parameter within [lo, hi].
func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, &Error{Status: http.StatusBadRequest, Code: "invalid_" + name,
			Message: name + " must be a whole number from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi)}
	}
	return n, nil
}

// segmentMembers pages through current members (?after=LAST_ID&limit=N), or
// answers whether one profile is a member (?profile_id=ID: 200 or 404).
func (a *api) segmentMembers(w http.ResponseWriter, r *http.Request) error {
	if err := a.segmentsOn(); err != nil {
		return err
	}
	id := r.PathValue("id")
	if pid := r.URL.Query().Get("profile_id"); pid != "" {
		m, err := a.d.Segments.Member(r.Context(), id, pid)
		if err != nil {
			return a.segmentFail(w, err)
		}
		writeJSON(w, http.StatusOK, m)
		return nil
	}
	limit, err := queryInt(r, "limit", 100, 1, segments.MaxPage)
	if err != nil {
		return err
	}
	after := r.URL.Query().Get("after")
	list, err := a.d.Segments.Members(r.Context(), id, after, limit)
	if err != nil {
		return a.segmentFail(w, err)
	}
	var next *string
	if len(list) == limit {
		n := list[len(list)-1].ProfileID
		next = &n
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": list, "next": next})
	return nil
}

func (a *api) segmentSizes(w http.ResponseWriter, r *http.Request) error {
	if err := a.segmentsOn(); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 100, 1, segments.MaxSizes)
	if err != nil {
		return err
	}
	sizes, err := a.d.Segments.Sizes(r.Context(), r.PathValue("id"), limit)
	if err != nil {
		return a.segmentFail(w, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"sizes": sizes})
	return nil
}

// exportSegment streams members (?format=csv|jsonl|meta|google&fields=a,b&purpose=P).
// The counts of included and excluded members come as HTTP trailers
// (Atrium-Included, Atrium-Excluded-Consent, Atrium-Excluded-No-Contact),
// known only once the stream is written.
func (a *api) exportSegment(w http.ResponseWriter, r *http.Request) error {
	if err := a.segmentsOn(); err != nil {
		return err
	}
	q := r.URL.Query()
	fields, err := segments.ParseFields(q.Get("fields"))
	if err != nil {
		return a.segmentFail(w, err)
	}
	o := segments.ExportOptions{Format: q.Get("format"), Fields: fields, Purpose: q.Get("purpose")}
	if o.Format == "" {
		o.Format = segments.FormatCSV
	}
	// Validate and find the segment before the 200 goes out: an export with
	// zero rows is still a file, so errors must come first.
	if err := a.d.Segments.CheckExport(r.Context(), r.PathValue("id"), o); err != nil {
		return a.segmentFail(w, err)
	}
	ctype := "text/csv; charset=utf-8"
	if o.Format == segments.FormatJSONL {
		ctype = "application/x-ndjson"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="segment-export.`+strings.TrimPrefix(ext(o.Format), ".")+`"`)
	w.Header().Set("Trailer", "Atrium-Included, Atrium-Excluded-Consent, Atrium-Excluded-No-Contact")
	w.WriteHeader(http.StatusOK)
	res, err := a.d.Segments.Export(r.Context(), r.PathValue("id"), o, w)
	if err != nil {
		// The status is sent; the client sees a truncated body without the
		// trailers, which is how it tells a failed export.
		a.d.Logger.Error("segment export failed", "request_id", requestID(r), "err", err)
		return nil
	}
	w.Header().Set("Atrium-Included", strconv.FormatInt(res.Included, 10))
	w.Header().Set("Atrium-Excluded-Consent", strconv.FormatInt(res.ExcludedConsent, 10))
	w.Header().Set("Atrium-Excluded-No-Contact", strconv.FormatInt(res.ExcludedNoContact, 10))
	return nil
}

func ext(format string) string {
	if format == segments.FormatJSONL {
		return "jsonl"
	}
	return "csv"
}

func (a *api) refreshSegments(w http.ResponseWriter, r *http.Request) error {
	if err := a.segmentsOn(); err != nil {
		return err
	}
	var in struct {
		All   bool     `json:"all"`
		Names []string `json:"names"`
	}
	if r.ContentLength != 0 {
		if err := readJSON(r, &in); err != nil {
			return err
		}
	}
	o := segments.RefreshOptions{All: in.All || len(in.Names) == 0}
	for _, n := range in.Names {
		s, err := a.d.Segments.Get(r.Context(), n)
		if err != nil {
			return err
		}
		o.IDs, o.All = append(o.IDs, s.ID), false
	}
	res, err := a.d.Segments.Refresh(r.Context(), o)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// segmentChanges reads the change feed after a cursor (?after=SEQ&limit=N).
func (a *api) segmentChanges(w http.ResponseWriter, r *http.Request) error {
	if err := a.segmentsOn(); err != nil {
		return err
	}
	after, err := queryInt(r, "after", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 1000, 1, 10000)
	if err != nil {
		return err
	}
	ch, err := a.d.Segments.Changes(r.Context(), int64(after), limit)
	if err != nil {
		return err
	}
	if ch == nil {
		ch = []segments.Change{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": ch})
	return nil
}
