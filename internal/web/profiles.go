package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
)

// ProfileJSON is a profile as the API answers it.
type ProfileJSON struct {
	ID               string               `json:"id"`
	RequestedID      string               `json:"requested_id,omitempty"`
	Merged           bool                 `json:"merged"`
	Identified       bool                 `json:"identified"`
	Traits           json.RawMessage      `json:"traits"`
	Normalized       json.RawMessage      `json:"normalized"`
	Identities       []IdentityJSON       `json:"identities"`
	Consents         []store.ConsentState `json:"consents"`
	MergedProfileIDs []string             `json:"merged_profile_ids"`
	CreatedAt        time.Time            `json:"created_at"`
	UpdatedAt        time.Time            `json:"updated_at"`
	// Scores are the computed traits and scores (atrium scores run) by
	// name, each with when it was computed; {} before the first run.
	Scores map[string]store.ScoreValue `json:"scores"`
}

// IdentityJSON is one identifier: value is the matching key, display what the
// sender wrote.
type IdentityJSON struct {
	Type    string `json:"type"`
	Value   string `json:"value"`
	Display string `json:"display"`
}

// LoadProfile reads a profile as the API shows it, following merges: asking
// for a merged-away id answers with its survivor and says so.
func LoadProfile(ctx context.Context, st Store, id string) (ProfileJSON, error) {
	if err := checkID(id); err != nil {
		return ProfileJSON{}, err
	}
	surv, err := st.Survivor(ctx, id)
	if err != nil {
		return ProfileJSON{}, err
	}
	v, err := st.Profile(ctx, surv)
	if err != nil {
		return ProfileJSON{}, err
	}
	out := ProfileJSON{ID: v.ID, Identified: v.Identified, Traits: v.Traits, Normalized: v.Normalized, Identities: []IdentityJSON{},
		Consents: v.Consents, MergedProfileIDs: v.MergedIDs, CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC()}
	if surv != id {
		out.Merged, out.RequestedID = true, id
	}
	if out.Consents == nil {
		out.Consents = []store.ConsentState{}
	}
	if out.MergedProfileIDs == nil {
		out.MergedProfileIDs = []string{}
	}
	for _, i := range v.Identities {
		out.Identities = append(out.Identities, IdentityJSON{Type: i.Type, Value: i.Value, Display: i.Display})
	}
	if out.Scores, err = st.ProfileScores(ctx, surv); err != nil {
		return ProfileJSON{}, err
	}
	return out, nil
}

func (a *api) profileByID(w http.ResponseWriter, r *http.Request, id string) error {
	p, err := LoadProfile(r.Context(), a.d.Store, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *api) getProfile(w http.ResponseWriter, r *http.Request) error {
	return a.profileByID(w, r, r.PathValue("id"))
}

// lookupProfile finds a profile by exactly one identifier given as a query
// parameter named after its type.
func (a *api) lookupProfile(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if len(q) != 1 {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_lookup",
			Message: "give exactly one identifier: email, phone, user_id, anonymous_id or an external id type, e.g. ?email=jane@example.com"}
	}
	for k, vs := range q {
		if len(vs) != 1 {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_lookup", Message: "give the identifier once"}
		}
		pid, err := LookupProfileID(r.Context(), a.d.Store, a.d.Keyer, a.d.Region, k, vs[0])
		if err != nil {
			return err
		}
		return a.profileByID(w, r, pid)
	}
	return nil
}

// LookupProfileID finds the profile holding an identifier given by its type
// name and raw value (keyed the way ingestion keys it).
func LookupProfileID(ctx context.Context, st Store, keyer Keyer, region, idType, raw string) (string, error) {
	if len(raw) > 1024 || len(idType) > 64 || strings.TrimSpace(raw) == "" {
		return "", &Error{Status: http.StatusBadRequest, Code: "invalid_lookup", Message: "the identifier value must be 1 to 1024 bytes"}
	}
	value := strings.TrimSpace(raw)
	switch idType {
	case model.IDEmail:
		k, ok := keyer.EmailKey(raw)
		if !ok {
			return "", &Error{Status: http.StatusBadRequest, Code: "invalid_email", Message: "the email parameter is not an e-mail address"}
		}
		value = k
	case model.IDPhone:
		// An unescaped "+" in a query string arrives as a space.
		if strings.HasPrefix(raw, " ") {
			raw = "+" + strings.TrimLeft(raw, " ")
		}
		k, ok := keyer.PhoneKey(raw, region)
		if !ok {
			return "", &Error{Status: http.StatusBadRequest, Code: "invalid_phone", Message: "the phone parameter is not a phone number"}
		}
		value = k
	case model.IDUserID, model.IDAnonymousID:
	default:
		// External id types are named the way ingestion names them; a
		// parameter that is not such a name is a mistake, not a miss.
		if idType == "" || identity.ExternalType(idType) != idType {
			return "", &Error{Status: http.StatusBadRequest, Code: "invalid_lookup",
				Message: fmt.Sprintf("%q is not an identifier type: use email, phone, user_id, anonymous_id or an external id type such as crm_customer_id", idType)}
		}
		types, err := st.IdentityTypes(ctx)
		if err != nil {
			return "", err
		}
		if !slices.Contains(types, idType) {
			return "", &Error{Status: http.StatusBadRequest, Code: "invalid_lookup",
				Message: fmt.Sprintf("no identifier of type %q exists in this workspace (types in use: %s)", idType, strings.Join(types, ", "))}
		}
	}
	pid, err := st.Lookup(ctx, idType, value)
	if errors.Is(err, store.ErrNotFound) {
		return "", &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no profile has this " + idType}
	}
	return pid, err
}

// eventsPage is the answer of the events endpoint.
type eventsPage struct {
	Events []store.EventView `json:"events"`
	Next   *string           `json:"next"`
}

func (a *api) profileEvents(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := checkID(id); err != nil {
		return err
	}
	limit := 50
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_limit", Message: "limit must be a whole number from 1 to 1000"}
		}
		limit = n
	}
	var before *store.EventCursor
	if s := r.URL.Query().Get("before"); s != "" {
		c, err := decodeCursor(s)
		if err != nil {
			return &Error{Status: http.StatusBadRequest, Code: "invalid_cursor", Message: "before must be the next value of a previous page"}
		}
		before = &c
	}
	surv, err := a.d.Store.Survivor(r.Context(), id)
	if err != nil {
		return err
	}
	evs, err := a.d.Store.ProfileEvents(r.Context(), surv, limit, before)
	if err != nil {
		return err
	}
	page := eventsPage{Events: evs}
	if len(evs) == limit {
		last := evs[len(evs)-1]
		c := encodeCursor(store.EventCursor{Timestamp: last.Timestamp, Seq: last.Seq})
		page.Next = &c
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func encodeCursor(c store.EventCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d.%d", c.Timestamp.UnixNano(), c.Seq)))
}

func decodeCursor(s string) (store.EventCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.EventCursor{}, err
	}
	parts := strings.SplitN(string(b), ".", 2)
	if len(parts) != 2 {
		return store.EventCursor{}, errors.New("bad cursor")
	}
	ns, err1 := strconv.ParseInt(parts[0], 10, 64)
	seq, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return store.EventCursor{}, errors.New("bad cursor")
	}
	return store.EventCursor{Timestamp: time.Unix(0, ns).UTC(), Seq: seq}, nil
}

func (a *api) profileMerges(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := checkID(id); err != nil {
		return err
	}
	surv, err := a.d.Store.Survivor(r.Context(), id)
	if err != nil {
		return err
	}
	ms, err := a.d.Store.ProfileMerges(r.Context(), surv)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"merges": ms})
	return nil
}

// mergeProfiles merges another profile into this one: POST {"profile_id": "..."}.
func (a *api) mergeProfiles(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		ProfileID string `json:"profile_id"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.ProfileID == "" {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "the body needs \"profile_id\": the profile to merge into this one"}
	}
	if err := checkID(body.ProfileID); err != nil {
		return err
	}
	a1, err := a.d.Store.Survivor(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	b1, err := a.d.Store.Survivor(r.Context(), body.ProfileID)
	if err != nil {
		return err
	}
	if a1 == b1 {
		return &Error{Status: http.StatusConflict, Code: "already_merged", Message: "the two profiles are already one"}
	}
	m, err := a.d.Merger.Merge(r.Context(), a1, b1, "api")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (a *api) undoMerge(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := checkID(id); err != nil {
		return err
	}
	m, err := a.d.Merger.Unmerge(r.Context(), id, "api")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// checkID refuses ids that cannot be ours before they reach a query.
func checkID(id string) error {
	if id == "" || len(id) > 64 || strings.ContainsAny(id, " \x00/") || !utf8.ValidString(id) {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_id", Message: "malformed id: 1 to 64 UTF-8 characters without spaces or slashes"}
	}
	return nil
}

// readJSON decodes a small JSON request body strictly: one JSON object of
// valid UTF-8 (a byte that is not is refused with its offset, never
// replaced), known fields only, nothing after it.
func readJSON(r *http.Request, v any) error {
	body, err := readCapped(r, 64<<10)
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json",
			Message: fmt.Sprintf("the body is not valid UTF-8 (first bad byte at offset %d)", invalidUTF8At(body))}
	}
	if err := decodeStrict(body, v); err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "the body must be one JSON object: " + err.Error()}
	}
	return nil
}

// decodeStrict decodes body as exactly one JSON value into v, refusing
// unknown fields and anything after the value; the error says what and where.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New(jsonProblem(err))
	}
	rest := body[dec.InputOffset():]
	if len(bytes.TrimSpace(rest)) > 0 {
		return fmt.Errorf("more data at byte %d", len(body)-len(bytes.TrimLeft(rest, " \t\r\n")))
	}
	return nil
}

// invalidUTF8At is the offset of the first byte of b that is not part of a
// valid UTF-8 sequence.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te) && te.Field == "":
		return fmt.Sprintf("found a JSON %s", te.Value)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type (found a JSON %s)", te.Field, te.Value)
	case errors.As(err, &mbe):
		return "body over 64 KB"
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	case errors.Is(err, io.EOF):
		return "the body is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early (an object, array or string is not closed)"
	}
	return "unreadable"
}
