package web

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/atrium-cdp/atrium/internal/imports"
)

// MaxImportBytes bounds an uploaded import file.
const MaxImportBytes = 1 << 30

// createImport starts an import from a multipart upload: a "file" part, a
// "kind" field and optional source, format, sheet, encoding, delimiter,
// date_format, dry_run fields and a "mapping" part (YAML). It answers 202
// with the job id; GET /api/v1/imports/{id} follows the job.
func (a *api) createImport(w http.ResponseWriter, r *http.Request) error {
	if a.d.Imports == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "imports are not enabled"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxImportBytes)
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "the file is larger than 1 GB"}
		}
		return &Error{Status: http.StatusBadRequest, Code: "invalid_upload", Message: "expected a multipart/form-data upload with a file part"}
	}
	defer r.MultipartForm.RemoveAll()
	data, name, err := formFile(r, "file")
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_file", Message: "the upload needs a \"file\" part"}
	}
	req := imports.Request{Kind: r.FormValue("kind"), SourceName: r.FormValue("source"), FileName: name,
		Read: imports.ReadOptions{Format: r.FormValue("format"), Sheet: r.FormValue("sheet"), Encoding: r.FormValue("encoding"),
			Delimiter: r.FormValue("delimiter"), NoHeader: r.FormValue("no_header") == "true"},
		DateFormat: r.FormValue("date_format")}
	if v := r.FormValue("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_dry_run", Message: "dry_run must be true or false"}
		}
		req.DryRun = b
	}
	if m, _, err := formFile(r, "mapping"); err == nil {
		if req.Mapping, err = imports.ParseMapping(m); err != nil {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_mapping", Message: err.Error()}
		}
	} else if s := r.FormValue("mapping"); s != "" {
		if req.Mapping, err = imports.ParseMapping([]byte(s)); err != nil {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_mapping", Message: err.Error()}
		}
	}
	if req.Mapping != nil && imports.ValidKind(req.Kind) {
		if err := req.Mapping.CheckFor(req.Kind); err != nil {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_mapping", Message: err.Error()}
		}
	}
	id, err := a.d.Imports.Start(r.Context(), req, data)
	if err != nil {
		var ie *imports.InputError
		if errors.As(err, &ie) {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_import", Message: ie.Msg}
		}
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"id": id, "status": "running", "url": "/api/v1/imports/" + id})
	return nil
}

// getImport returns an import job's report (progress while it runs).
func (a *api) getImport(w http.ResponseWriter, r *http.Request) error {
	if a.d.Imports == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "imports are not enabled"}
	}
	rep, err := a.d.Imports.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func formFile(r *http.Request, field string) ([]byte, string, error) {
	f, h, err := r.FormFile(field)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return b, fileName(h), err
}

func fileName(h *multipart.FileHeader) string {
	if h == nil {
		return ""
	}
	return h.Filename
}
