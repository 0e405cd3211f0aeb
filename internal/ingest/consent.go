package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
)

// Consent capture (documented in docs/consent.md):
//   - Segment's context.consent.categoryPreferences: each category is a
//     purpose, true = granted, false = denied; a ledger row is appended only
//     when the state changes, since browsers repeat the object on every call;
//   - explicit track events "Consent Granted", "Consent Denied" and "Consent
//     Withdrawn" with properties purpose (required), channel and text_version:
//     always appended, being a deliberate act.
// Each row's hash chains to the previous row of the same (profile, purpose).

var consentEvents = map[string]model.ConsentStatus{
	"consent granted":   model.ConsentGranted,
	"consent denied":    model.ConsentDenied,
	"consent withdrawn": model.ConsentWithdrawn,
}

func isConsentEvent(m *model.Message) bool {
	if m.Type != model.Track {
		return false
	}
	_, ok := consentEvents[strings.ToLower(strings.TrimSpace(m.Event))]
	return ok
}

func (w *Writer) loadConsents(ctx context.Context, pids, fresh map[string]bool) (map[string]map[string]store.ConsentState, error) {
	var ids []string
	for id := range pids {
		if !fresh[id] {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	st, err := w.st.LatestConsents(ctx, ids)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// consentRows appends the ledger rows one message implies and updates cur.
func (w *Writer) consentRows(now time.Time, pid string, m *model.Message, cur map[string]map[string]store.ConsentState) []model.Consent {
	if cur[pid] == nil {
		cur[pid] = map[string]store.ConsentState{}
	}
	state := cur[pid]
	proof := map[string]any{"message_id": m.MessageID, "source_id": m.SourceID, "type": string(m.Type)}
	if m.IP != "" {
		proof["ip"] = m.IP
	}
	if m.UserAgent != "" {
		proof["user_agent"] = m.UserAgent
	}
	if m.Page.URL != "" {
		proof["url"] = m.Page.URL
	}
	var rows []model.Consent
	add := func(purpose, channel, textVer string, status model.ConsentStatus, always bool) {
		purpose = strings.ToLower(strings.TrimSpace(purpose))
		if purpose == "" || len(purpose) > 128 {
			return
		}
		prev, had := state[purpose]
		if had && !always && prev.Status == status {
			return
		}
		// The hash covers the time as stored: stores keep microseconds, and a
		// hash over nanoseconds could never be checked against the ledger.
		at := m.Timestamp.UTC().Truncate(time.Microsecond)
		c := model.Consent{ID: w.newID(), ProfileID: pid, Purpose: purpose, Channel: channel, Status: status,
			SourceID: m.SourceID, MessageID: m.MessageID, TextVer: textVer, OccurredAt: at, RecordedAt: now, PrevHash: prev.Hash}
		c.Proof, _ = json.Marshal(proof)
		c.Hash = chainHash(c)
		rows = append(rows, c)
		state[purpose] = store.ConsentState{Purpose: purpose, Status: status, Channel: channel, SourceID: m.SourceID,
			MessageID: m.MessageID, At: at, Hash: c.Hash}
	}
	if m.Consent != nil {
		proof["consent"] = json.RawMessage(m.Consent.Raw)
		cats := make([]string, 0, len(m.Consent.Categories))
		for k := range m.Consent.Categories {
			cats = append(cats, k)
		}
		sort.Strings(cats)
		for _, k := range cats {
			status := model.ConsentDenied
			if m.Consent.Categories[k] {
				status = model.ConsentGranted
			}
			add(k, "", "", status, false)
		}
	}
	if isConsentEvent(m) {
		var p struct {
			Purpose     string `json:"purpose"`
			Channel     string `json:"channel"`
			TextVersion string `json:"text_version"`
		}
		_ = json.Unmarshal(m.Properties, &p)
		proof["properties"] = json.RawMessage(m.Properties)
		add(p.Purpose, p.Channel, p.TextVersion, consentEvents[strings.ToLower(strings.TrimSpace(m.Event))], true)
	}
	return rows
}

// chainHash is SHA-256 over the previous hash and the row's facts, so a
// removed or edited ledger row breaks the chain after it.
func chainHash(c model.Consent) string {
	h := sha256.New()
	for _, s := range []string{c.PrevHash, c.ProfileID, c.Purpose, c.Channel, string(c.Status), c.SourceID, c.MessageID,
		c.TextVer, c.OccurredAt.UTC().Format(time.RFC3339Nano)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
