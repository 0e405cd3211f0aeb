package app_test

// Traits, groups and the consent ledger, end to end.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// Identify traits: null clears, absent keeps, the later event wins whatever
// the arrival order, set-once keeps the earliest, type changes are audited.
func TestIdentifyTraitSemantics(t *testing.T) {
	t.Parallel()
	s := startServer(t, `{"set_once_traits": ["signup_source"]}`)
	steps := []struct {
		at     string
		traits M
	}{
		{ts(1, 10), M{"plan": "pro", "city": "Paris", "age": 30, "customer_number": json.Number("12345678901234567890")}},
		{ts(1, 11), M{"plan": nil}},                    // null clears
		{ts(1, 9), M{"city": "Lyon", "plan": "basic"}}, // older than what is known: ignored
		{ts(1, 12), M{"city": "Nice"}},
		{ts(2, 10), M{"signup_source": "b"}},
		{ts(2, 8), M{"signup_source": "a"}}, // arrives later, happened earlier: wins
		{ts(2, 12), M{"signup_source": "c", "$set_once": M{"first_page": "/pricing"}}},
		{ts(2, 13), M{"$set_once": M{"first_page": "/home"}}},
		{ts(2, 14), M{"signup_source": nil}}, // null never clears a set-once value
		{ts(3, 10), M{"age": "thirty"}},      // type change: kept, audited
	}
	for i, st := range steps {
		s.batch(M{"type": "identify", "userId": "u-t", "messageId": "t" + string(rune('a'+i)), "timestamp": st.at, "traits": st.traits})
	}
	p := s.lookup("user_id", "u-t")
	want := M{"city": "Nice", "age": "thirty", "customer_number": 12345678901234567890.0, "signup_source": "a", "first_page": "/pricing"}
	if !jsonEqual(p.Traits, want) {
		t.Errorf("traits %v, want %v", p.Traits, want)
	}
	// Every digit of a large number survives the profile being rewritten.
	_, raw := s.api("GET", "/api/v1/profiles/"+p.ID, nil)
	if !strings.Contains(string(raw), `"customer_number":12345678901234567890`) {
		t.Errorf("customer_number lost digits: %s", raw)
	}
	s.withDB(func(db *duckdb.DB) {
		rows := auditRows(t, db, "trait_type_changed")
		if len(rows) != 1 {
			t.Fatalf("%d trait_type_changed rows, want 1: %+v", len(rows), rows)
		}
		d := rows[0].Details
		if d["key"] != "age" || d["from"] != "number" || d["to"] != "string" || d["message_id"] != "tj" || rows[0].ProfileID != p.ID {
			t.Errorf("audit %+v", rows[0])
		}
		if b, _ := json.Marshal(d); strings.Contains(string(b), "thirty") {
			t.Error("the audit log holds the trait's value")
		}
	})
}

// A group call stores the account, merges its traits like identify does and
// records each member once.
func TestGroupStoresAccountAndMembers(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.batch(M{"type": "group", "userId": "u-g", "groupId": "acme", "messageId": "g1", "timestamp": ts(1, 10),
		"traits": M{"name": "Acme", "employees": 40}})
	s.batch(M{"type": "group", "userId": "u-g", "groupId": "acme", "messageId": "g2", "timestamp": ts(1, 11),
		"traits": M{"plan": "enterprise", "employees": 45}})
	s.batch(M{"type": "group", "userId": "u-h", "groupId": "acme", "messageId": "g3", "timestamp": ts(1, 12)})
	g, h := s.lookup("user_id", "u-g").ID, s.lookup("user_id", "u-h").ID
	s.withDB(func(db *duckdb.DB) {
		var traits string
		if err := db.SQL().QueryRow(`SELECT traits FROM groups WHERE group_id = 'acme'`).Scan(&traits); err != nil {
			t.Fatal(err)
		}
		var got M
		_ = json.Unmarshal([]byte(traits), &got)
		if want := (M{"name": "Acme", "employees": 45, "plan": "enterprise"}); !jsonEqual(got, want) {
			t.Errorf("group traits %s, want %v", traits, want)
		}
		rows, err := db.SQL().Query(`SELECT profile_id, first_seen_at, last_seen_at FROM group_members WHERE group_id = 'acme' ORDER BY first_seen_at`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var members []string
		for rows.Next() {
			var pid string
			var first, last time.Time
			if err := rows.Scan(&pid, &first, &last); err != nil {
				t.Fatal(err)
			}
			members = append(members, pid)
			if pid == g && (!first.Equal(mustTime(ts(1, 10))) || !last.Equal(mustTime(ts(1, 11)))) {
				t.Errorf("u-g membership seen %s..%s, want 1 May 10:00..11:00", first, last)
			}
		}
		if len(members) != 2 || members[0] != g || members[1] != h {
			t.Errorf("members %v, want [%s %s]", members, g, h)
		}
	})
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// ledgerRow is one row of the consents table.
type ledgerRow struct {
	ID, ProfileID, Purpose, Channel, Status, SourceID, MessageID, TextVer, Proof, PrevHash, Hash string
	OccurredAt                                                                                   time.Time
}

func ledger(t *testing.T, db *duckdb.DB, profileID string) []ledgerRow {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT id, profile_id, purpose, coalesce(channel, ''), status, source_id, coalesce(message_id, ''),
		coalesce(text_version, ''), proof, prev_hash, hash, occurred_at FROM consents WHERE profile_id = ?`, profileID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []ledgerRow
	for rows.Next() {
		var r ledgerRow
		if err := rows.Scan(&r.ID, &r.ProfileID, &r.Purpose, &r.Channel, &r.Status, &r.SourceID, &r.MessageID, &r.TextVer,
			&r.Proof, &r.PrevHash, &r.Hash, &r.OccurredAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// chains checks the ledger rows of one profile form one hash chain per
// purpose, each hash recomputed from the stored row alone (SHA-256 over the
// previous hash and the row's facts in ledger order, each followed by a NUL
// byte), and returns the rows of each purpose in chain order as
// "status:message_id". Anyone holding the table must be able to check it.
func chains(t *testing.T, rows []ledgerRow) map[string][]string {
	t.Helper()
	byPrev := map[string]map[string]ledgerRow{}
	for _, r := range rows {
		if byPrev[r.Purpose] == nil {
			byPrev[r.Purpose] = map[string]ledgerRow{}
		}
		if _, fork := byPrev[r.Purpose][r.PrevHash]; fork {
			t.Errorf("purpose %s: two rows follow hash %q (the chain forks)", r.Purpose, r.PrevHash)
		}
		byPrev[r.Purpose][r.PrevHash] = r
		h := sha256.New()
		for _, f := range []string{r.PrevHash, r.ProfileID, r.Purpose, r.Channel, r.Status, r.SourceID, r.MessageID, r.TextVer,
			r.OccurredAt.UTC().Format(time.RFC3339Nano)} {
			h.Write([]byte(f))
			h.Write([]byte{0})
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != r.Hash {
			t.Errorf("row %s (%s %s): stored hash %s, recomputed %s", r.ID, r.Purpose, r.MessageID, r.Hash, got)
		}
	}
	out := map[string][]string{}
	for purpose, next := range byPrev {
		prev := ""
		for range next {
			r, ok := next[prev]
			if !ok {
				t.Errorf("purpose %s: the chain breaks after %q", purpose, prev)
				break
			}
			out[purpose] = append(out[purpose], r.Status+":"+r.MessageID)
			prev = r.Hash
		}
	}
	return out
}

func TestConsentLedger(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	prefs := func(analytics, ads bool) M {
		return M{"consent": M{"categoryPreferences": M{"analytics": analytics, "advertising": ads}, "region": "EU"}}
	}
	// No timestamps: the event time is the receive time, with nanoseconds.
	s.batch(M{"type": "page", "anonymousId": "anon-c", "messageId": "c1", "context": prefs(true, false)})
	s.batch(M{"type": "page", "anonymousId": "anon-c", "messageId": "c2", "context": prefs(true, false)}) // unchanged
	s.batch(M{"type": "track", "anonymousId": "anon-c", "event": "Clicked", "messageId": "c3", "context": prefs(true, true)})
	grant := M{"purpose": "Email_Marketing", "channel": "email", "text_version": "v3"}
	s.batch(M{"type": "track", "anonymousId": "anon-c", "event": "Consent Granted", "messageId": "c4", "properties": grant})
	s.batch(M{"type": "track", "anonymousId": "anon-c", "event": "Consent Granted", "messageId": "c5", "properties": grant})
	s.batch(M{"type": "track", "anonymousId": "anon-c", "event": "Consent Withdrawn", "messageId": "c6",
		"properties": M{"purpose": "email_marketing", "channel": "email"}})
	s.batch(M{"type": "track", "anonymousId": "anon-c", "event": "Consent Denied", "messageId": "c7"}) // no purpose: no row
	// Two decisions on one purpose in one request: the second is the state.
	s.batch(M{"type": "track", "anonymousId": "anon-d", "event": "Consent Granted", "messageId": "d1", "properties": M{"purpose": "sms"}},
		M{"type": "track", "anonymousId": "anon-d", "event": "Consent Withdrawn", "messageId": "d2", "properties": M{"purpose": "sms"}})
	s.batch(M{"type": "track", "anonymousId": "anon-d", "event": "Consent Denied", "messageId": "d3", "properties": M{"purpose": "calls"}},
		M{"type": "track", "anonymousId": "anon-d", "event": "Consent Granted", "messageId": "d4", "properties": M{"purpose": "calls"}})
	s.batch(M{"type": "track", "anonymousId": "anon-d", "event": "Consent Denied", "messageId": "d5", "properties": M{"purpose": "calls"}})

	c, d := s.lookup("anonymous_id", "anon-c"), s.lookup("anonymous_id", "anon-d")
	for purpose, want := range map[string]string{"analytics": "granted", "advertising": "granted", "email_marketing": "withdrawn"} {
		if got := c.consent(purpose); got != want {
			t.Errorf("anon-c %s: %q, want %q", purpose, got, want)
		}
	}
	if len(c.Consents) != 3 {
		t.Errorf("anon-c has %d purposes, want 3: %+v", len(c.Consents), c.Consents)
	}
	if d.consent("sms") != "withdrawn" || d.consent("calls") != "denied" {
		t.Errorf("anon-d sms %q calls %q, want withdrawn and denied", d.consent("sms"), d.consent("calls"))
	}
	// The state survives a restart (it is derived from the ledger).
	s.restart()
	if got := s.profile(d.ID); got.consent("sms") != "withdrawn" || got.consent("calls") != "denied" {
		t.Errorf("after restart anon-d sms %q calls %q", got.consent("sms"), got.consent("calls"))
	}

	s.withDB(func(db *duckdb.DB) {
		rows := ledger(t, db, c.ID)
		got := chains(t, rows)
		want := map[string][]string{
			"advertising":     {"denied:c1", "granted:c3"},
			"analytics":       {"granted:c1"},
			"email_marketing": {"granted:c4", "granted:c5", "withdrawn:c6"},
		}
		if !jsonEqual(got, want) {
			t.Errorf("anon-c ledger %v, want %v", got, want)
		}
		for _, r := range rows {
			if r.SourceID != s.sourceID {
				t.Errorf("row %s source %q", r.MessageID, r.SourceID)
			}
			var proof M
			if err := json.Unmarshal([]byte(r.Proof), &proof); err != nil || proof["message_id"] != r.MessageID {
				t.Errorf("row %s proof %s", r.MessageID, r.Proof)
			}
			switch r.MessageID {
			case "c1":
				wantRaw := M{"categoryPreferences": M{"analytics": true, "advertising": false}, "region": "EU"}
				if !jsonEqual(proof["consent"], wantRaw) {
					t.Errorf("c1 proof keeps consent %v, want the object sent %v", proof["consent"], wantRaw)
				}
			case "c4":
				if r.Channel != "email" || r.TextVer != "v3" {
					t.Errorf("c4 channel %q text_version %q", r.Channel, r.TextVer)
				}
			}
		}
		gotD := chains(t, ledger(t, db, d.ID))
		wantD := map[string][]string{"sms": {"granted:d1", "withdrawn:d2"}, "calls": {"denied:d3", "granted:d4", "denied:d5"}}
		if !jsonEqual(gotD, wantD) {
			t.Errorf("anon-d ledger %v, want %v", gotD, wantD)
		}
	})
}

// The profile JSON shows the current consent state, and a merged profile's
// decisions count for its survivor.
func TestConsentStateFollowsMerge(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.batch(M{"type": "track", "anonymousId": "anon-m", "event": "Consent Granted", "messageId": "m1", "timestamp": ts(1, 10),
		"properties": M{"purpose": "newsletter", "channel": "email"}})
	s.batch(M{"type": "identify", "userId": "u-m", "messageId": "m2", "timestamp": ts(1, 9), "traits": M{"email": "m@example.com"}})
	s.batch(M{"type": "identify", "userId": "u-m", "anonymousId": "anon-m", "messageId": "m3", "timestamp": ts(1, 11)})
	p := s.lookup("email", "m@example.com")
	if p.consent("newsletter") != "granted" {
		t.Fatalf("survivor consents %+v, want newsletter granted from the merged visitor", p.Consents)
	}
	var raw map[string]json.RawMessage
	_, body := s.api("GET", "/api/v1/profiles/"+p.ID, nil)
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "traits", "identities", "consents", "created_at", "updated_at"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("profile JSON has no %q: %s", k, body)
		}
	}
}
