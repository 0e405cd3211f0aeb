package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"testing"
	"time"
)

// upload posts a multipart import and returns the status and answer.
func (s *server) upload(fields map[string]string, name string, data []byte) (int, []byte) {
	s.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if data != nil {
		fw, _ := mw.CreateFormFile("file", name)
		_, _ = fw.Write(data)
	}
	_ = mw.Close()
	return s.do("POST", "/api/v1/imports", body.Bytes(), func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+s.token)
		r.Header.Set("Content-Type", mw.FormDataContentType())
	})
}

type importReport struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Encoding  string `json:"encoding"`
	RowsRead  int    `json:"rows_read"`
	Created   int    `json:"created"`
	Updated   int    `json:"updated"`
	Unchanged int    `json:"unchanged"`
	Rejected  int    `json:"rejected"`
	Rejects   []struct {
		Row    int    `json:"row"`
		Column string `json:"column"`
		Value  string `json:"value"`
		Reason string `json:"reason"`
	} `json:"rejects"`
}

func (s *server) waitImport(id string) importReport {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var r importReport
		s.apiJSON("GET", "/api/v1/imports/"+id, nil, http.StatusOK, &r)
		if r.Status != "running" {
			return r
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("import %s still running", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The imports API: a multipart upload starts a job; its report says what
// happened; an imported contact joins the profile a tracked visitor made.
func TestImportsAPI(t *testing.T) {
	s := startServer(t, "")
	s.batch(M{"type": "identify", "messageId": "v1", "anonymousId": "anon-9", "traits": M{"email": "claire@example.fr"}})
	file := []byte("N° client;Prénom;Courriel;Date de naissance\n" +
		"17;Claire; Claire@Example.fr ;15/04/1991\n" +
		"18;Hélène;h@example.fr;03/04/1991\n" +
		"19;Bob;bob@;01/01/1990\n")
	status, raw := s.upload(map[string]string{"kind": "contacts", "source": "crm"}, "crm.csv", file)
	if status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", status, raw)
	}
	var started struct{ ID, Status, URL string }
	if err := json.Unmarshal(raw, &started); err != nil || started.ID == "" || started.URL != "/api/v1/imports/"+started.ID {
		t.Fatalf("answer %s (%v)", raw, err)
	}
	r := s.waitImport(started.ID)
	if r.Status != "done" || r.RowsRead != 3 || r.Created != 1 || r.Updated != 1 || r.Rejected != 1 {
		t.Fatalf("report %+v", r)
	}
	if x := r.Rejects[0]; x.Row != 4 || x.Column != "Courriel" || x.Value != "bxx@" {
		t.Errorf("reject %+v", x)
	}
	p := s.lookup("anonymous_id", "anon-9")
	if !p.has("crm_customer_id", "17") {
		t.Errorf("the CRM contact did not join the visitor's profile: %+v", p)
	}

	// Same file again: unchanged.
	_, raw = s.upload(map[string]string{"kind": "contacts", "source": "crm"}, "crm.csv", file)
	_ = json.Unmarshal(raw, &started)
	if r := s.waitImport(started.ID); r.Unchanged != 2 || r.Created+r.Updated != 0 {
		t.Errorf("re-import %+v", r)
	}

	s.apiError("GET", "/api/v1/imports/nope", nil, http.StatusNotFound, "not_found")
	status, raw = s.upload(map[string]string{"kind": "invoices"}, "x.csv", []byte("a\n1\n"))
	checkError(t, "unknown kind", status, raw, http.StatusBadRequest, "invalid_import")
	status, raw = s.upload(map[string]string{"kind": "contacts"}, "", nil)
	checkError(t, "no file", status, raw, http.StatusBadRequest, "invalid_file")
	// So are mappings that cannot serve the kind, whatever the file.
	for _, m := range []string{"kind: orders\nfields:\n  - field: email\n    column: a\n",
		"kind: contacts\nfields:\n  - field: email\n    column: a\n  - field: email\n    column: b\n"} {
		status, raw = s.upload(map[string]string{"kind": "contacts", "mapping": m}, "x.csv", []byte("a;b\nx@example.fr;y@example.fr\n"))
		checkError(t, "mapping "+m, status, raw, http.StatusBadRequest, "invalid_mapping")
	}
	// Options no file could satisfy are refused at once, not after a 202.
	for _, f := range []map[string]string{{"encoding": "ebcdic"}, {"delimiter": ";;"}, {"format": "pdf"}} {
		f["kind"] = "contacts"
		status, raw = s.upload(f, "x.csv", []byte("email\na@example.fr\n"))
		checkError(t, fmt.Sprint(f), status, raw, http.StatusBadRequest, "")
	}
	status, raw = s.upload(map[string]string{"kind": "contacts", "mapping": "fields: [{field: x}]"}, "x.csv", []byte("a\n1\n"))
	checkError(t, "bad mapping", status, raw, http.StatusBadRequest, "invalid_mapping")
	status, _ = s.do("POST", "/api/v1/imports", []byte("x"), nil)
	if status != http.StatusUnauthorized {
		t.Errorf("no token: %d", status)
	}
}
