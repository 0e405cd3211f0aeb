package app_test

// Identity resolution at ingest, end to end: messages go in through the
// collection API, profiles come out of the REST API. Every expected value is
// worked out by hand from the rules in package identity's documentation.

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

func TestIdentifyLinksAnonymousVisitorToUser(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.batch(M{"type": "page", "anonymousId": "anon-1", "name": "Home", "messageId": "m1", "timestamp": ts(1, 10)})
	s.batch(M{"type": "identify", "userId": "u-1", "anonymousId": "anon-1", "messageId": "m2", "timestamp": ts(1, 11),
		"traits": M{"email": " JANE.DOE@EXAMPLE.COM ", "name": "Jane"}})
	// The same person on a second device, known by the e-mail only.
	s.batch(M{"type": "track", "anonymousId": "anon-2", "event": "Opened", "messageId": "m3", "timestamp": ts(1, 12),
		"context": M{"traits": M{"email": "jane.doe@example.com"}}})

	p := s.lookup("email", "jane.doe@example.com")
	for _, q := range [][2]string{{"user_id", "u-1"}, {"anonymous_id", "anon-1"}, {"anonymous_id", "anon-2"},
		{"email", " Jane.Doe@Example.COM "}} {
		if got := s.lookup(q[0], q[1]); got.ID != p.ID {
			t.Errorf("lookup %s=%q gave %s, want %s", q[0], q[1], got.ID, p.ID)
		}
	}
	want := []string{"anonymous_id=anon-1", "anonymous_id=anon-2", "email=jane.doe@example.com", "user_id=u-1"}
	got := p.ids()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("identities %v, want %v", got, want)
	}
	for _, i := range p.Identities {
		// The key is trimmed and lower-cased; the display keeps the case typed.
		if i.Type == "email" && i.Display != "JANE.DOE@EXAMPLE.COM" {
			t.Errorf("e-mail display %q, want JANE.DOE@EXAMPLE.COM", i.Display)
		}
	}
	if !p.Identified || p.Traits["name"] != "Jane" {
		t.Errorf("profile identified=%v traits=%v, want identified with name Jane", p.Identified, p.Traits)
	}
	if ids := messageIDs(s.allEvents(p.ID, 50)); !slices.Equal(ids, []string{"m3", "m2", "m1"}) {
		t.Errorf("events %v, want m3 m2 m1 (newest first)", ids)
	}
}

// Placeholder values never act as identifiers: people who share one stay apart.
func TestPlaceholderIdentifiersNeverMerge(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	// (An id of only spaces is refused by the decoder when no other id
	// carries the message: see TestBlankIDsAreMissing.)
	placeholders := []any{"undefined", "null", "None", "NaN", "0", 0, "[object Object]", "anonymous", " Undefined "}
	for i, ph := range placeholders {
		var msgs []M
		for _, who := range []string{"a", "b", "c"} {
			msgs = append(msgs, M{"type": "identify", "anonymousId": ph, "messageId": who + string(rune('0'+i)),
				"traits": M{"email": who + string(rune('0'+i)) + "@example.com"}})
		}
		// Separate requests as well as one batch: neither may glue them.
		s.batch(msgs[0])
		s.batch(msgs[1], msgs[2])
	}
	// A user id that is a placeholder is not one either.
	s.batch(M{"type": "identify", "userId": "undefined", "anonymousId": "dev-x", "messageId": "ux", "traits": M{"email": "x@example.com"}},
		M{"type": "identify", "userId": "undefined", "anonymousId": "dev-y", "messageId": "uy", "traits": M{"email": "y@example.com"}})

	seen := map[string]string{}
	for i := range placeholders {
		for _, who := range []string{"a", "b", "c"} {
			email := who + string(rune('0'+i)) + "@example.com"
			p := s.lookup("email", email)
			if other, dup := seen[p.ID]; dup {
				t.Fatalf("%s and %s share profile %s", other, email, p.ID)
			}
			seen[p.ID] = email
			if len(p.Identities) != 1 {
				t.Errorf("%s: identities %v, want the e-mail only", email, p.ids())
			}
		}
	}
	if s.lookup("email", "x@example.com").ID == s.lookup("email", "y@example.com").ID {
		t.Error(`two people with userId "undefined" were merged`)
	}
	for _, v := range []string{"undefined", "null", "None", "NaN", "0", "[object Object]", "anonymous"} {
		if st := s.lookupStatus("anonymous_id", v); st != http.StatusNotFound {
			t.Errorf("anonymous_id %q is an identity (lookup status %d)", v, st)
		}
	}
	if st := s.lookupStatus("user_id", "undefined"); st != http.StatusNotFound {
		t.Errorf(`user_id "undefined" is an identity (lookup status %d)`, st)
	}
	s.withDB(func(db *duckdb.DB) {
		// 30 + 2 people, one profile each; the skipped placeholders are audited.
		// 9 placeholders x 3 people + 2 people with userId "undefined".
		if n := count(t, db, `SELECT count(*) FROM profiles WHERE merged_into IS NULL`); n != 29 {
			t.Errorf("%d live profiles, want 29", n)
		}
		if n := len(auditRows(t, db, "placeholder_identifier_ignored")); n != 29 {
			t.Errorf("%d placeholder audit rows, want 29", n)
		}
	})
}

// Two profiles holding different user ids are never merged by ingest: not by
// a shared e-mail, not by an alias. The refusal is in the audit log.
func TestDifferentUserIDsNeverMergeAutomatically(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.batch(M{"type": "identify", "userId": "u-1", "messageId": "m1", "traits": M{"email": "shared@example.com"}})
	s.batch(M{"type": "identify", "userId": "u-2", "messageId": "m2", "traits": M{"email": "shared@example.com"}})
	s.batch(M{"type": "alias", "previousId": "u-1", "userId": "u-2", "messageId": "m3"})

	p1, p2 := s.lookup("user_id", "u-1"), s.lookup("user_id", "u-2")
	if p1.ID == p2.ID {
		t.Fatal("profiles with user ids u-1 and u-2 were merged")
	}
	if got := s.lookup("email", "shared@example.com").ID; got != p1.ID {
		t.Errorf("the e-mail moved to %s; it belongs to the first holder %s", got, p1.ID)
	}
	if slices.Contains(p2.ids(), "email=shared@example.com") || len(s.merges(p1.ID))+len(s.merges(p2.ID)) != 0 {
		t.Errorf("u-2 got the shared e-mail or a merge happened: %v", p2.ids())
	}
	s.withDB(func(db *duckdb.DB) {
		refused := auditRows(t, db, "identity_link_refused")
		if len(refused) != 2 {
			t.Fatalf("%d refusals in the audit log, want 2 (the identify and the alias): %+v", len(refused), refused)
		}
		for _, r := range refused {
			if r.Details["reason"] != "merge_limit:user_id" || r.Details["other_profile_id"] != p1.ID || r.ProfileID != p2.ID {
				t.Errorf("refusal %+v, want merge_limit:user_id of %s against %s", r, p2.ID, p1.ID)
			}
			// The audit log names types and profiles, never identifier values.
			if b, _ := json.Marshal(r.Details); strings.Contains(string(b), "shared@") || strings.Contains(string(b), `"u-`) {
				t.Errorf("refusal details hold an identifier value: %s", b)
			}
		}
		if got := []any{refused[0].Details["message_id"], refused[1].Details["message_id"]}; got[0] != "m2" || got[1] != "m3" {
			t.Errorf("refusals name messages %v, want m2 then m3", got)
		}
		if n := count(t, db, `SELECT count(*) FROM merges`); n != 0 {
			t.Errorf("%d merges, want 0", n)
		}
	})
}

func TestAliasMapsPreviousIDToUserID(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.batch(M{"type": "track", "anonymousId": "anon-9", "event": "Viewed", "messageId": "m1", "timestamp": ts(1, 10)})
	s.batch(M{"type": "alias", "previousId": "anon-9", "userId": "u-9", "messageId": "m2", "timestamp": ts(1, 11)})
	p := s.lookup("user_id", "u-9")
	if q := s.lookup("anonymous_id", "anon-9"); q.ID != p.ID {
		t.Fatalf("alias did not join anon-9 (%s) and u-9 (%s)", q.ID, p.ID)
	}
	if !p.Identified {
		t.Error("the aliased profile is not identified")
	}
	if ids := messageIDs(s.allEvents(p.ID, 10)); !slices.Equal(ids, []string{"m2", "m1"}) {
		t.Errorf("events %v, want m2 m1", ids)
	}

	// An alias whose previousId is a known user id names that user id, and a
	// profile holds one user id by default: the alias is refused, not applied
	// by replacing the user id, and the refusal is audited.
	s.batch(M{"type": "identify", "userId": "old-7", "messageId": "m3", "traits": M{"name": "Ann"}})
	s.batch(M{"type": "alias", "previousId": "old-7", "userId": "new-7", "messageId": "m4"})
	old := s.lookup("user_id", "old-7")
	if got := s.lookupStatus("user_id", "new-7"); got != http.StatusOK {
		t.Fatalf("new-7 not found (%d)", got)
	}
	if s.lookup("user_id", "new-7").ID == old.ID {
		t.Error("a second user id joined a profile whose limit is one")
	}
	s.withDB(func(db *duckdb.DB) {
		r := auditRows(t, db, "identity_link_refused")
		if len(r) != 1 || r[0].Details["message_id"] != "m4" || r[0].Details["identifier_type"] != "user_id" {
			t.Errorf("alias refusal audit %+v", r)
		}
	})
}

// One anonymous id shared by several identified users (a family tablet)
// never chains them into one profile.
func TestSharedDeviceDoesNotChainUsers(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.batch(M{"type": "page", "anonymousId": "tablet", "messageId": "m0", "timestamp": ts(1, 9)})
	for i, u := range []string{"alice", "bob", "carol"} {
		s.batch(M{"type": "identify", "userId": u, "anonymousId": "tablet", "messageId": "i" + u, "timestamp": ts(1, 10+i),
			"traits": M{"email": u + "@example.com"}})
		s.batch(M{"type": "track", "userId": u, "anonymousId": "tablet", "event": "Bought", "messageId": "t" + u, "timestamp": ts(1, 10+i)})
	}
	ids := map[string]bool{}
	for _, u := range []string{"alice", "bob", "carol"} {
		p := s.lookup("user_id", u)
		ids[p.ID] = true
		if e := s.lookup("email", u+"@example.com"); e.ID != p.ID {
			t.Errorf("%s's e-mail is on %s, not on %s", u, e.ID, p.ID)
		}
		if n := len(p.Identities); u != "alice" && n != 2 {
			t.Errorf("%s holds %v, want its user id and e-mail only", u, p.ids())
		}
		evs := messageIDs(s.allEvents(p.ID, 10))
		if !slices.Contains(evs, "i"+u) || !slices.Contains(evs, "t"+u) {
			t.Errorf("%s's events %v miss its own", u, evs)
		}
		for _, other := range []string{"alice", "bob", "carol"} {
			if other != u && slices.Contains(evs, "t"+other) {
				t.Errorf("%s's events include %s's purchase", u, other)
			}
		}
	}
	if len(ids) != 3 {
		t.Fatalf("three users on one tablet ended in %d profiles, want 3", len(ids))
	}
	// The device stays with the first person seen on it.
	if got := s.lookup("anonymous_id", "tablet").ID; got != s.lookup("user_id", "alice").ID {
		t.Errorf("the tablet's anonymous id moved to %s", got)
	}
}

// Phones, external ids from context.externalIds and declared id traits are
// identifiers; each type keeps its limit.
func TestPhoneExternalIDsAndLimits(t *testing.T) {
	t.Parallel()
	s := startServer(t, `{"id_traits": ["crm_id"], "limits": {"email": 2}}`)
	s.batch(M{"type": "identify", "userId": "u-5", "messageId": "m1",
		"traits":  M{"phone": "+33 6 12 34 56 78", "crm_id": 4711, "email": "one@example.com"},
		"context": M{"externalIds": []M{{"id": "cus_123", "type": "stripe_customer_id", "collection": "users", "encoding": "none"}}}})
	// Numbers keep every digit: a phone sent as a JSON number is a phone.
	s.batch(M{"type": "identify", "anonymousId": "a-6", "messageId": "m2", "traits": M{"phone": 33698765432}})
	p := s.lookup("user_id", "u-5")
	for _, q := range [][2]string{{"phone", "+33 6 12 34 56 78"}, {"phone", "+33612345678"}, {"stripe_customer_id", "cus_123"},
		{"crm_id", "4711"}, {"email", "one@example.com"}} {
		if st := s.lookupStatus(q[0], q[1]); st != http.StatusOK {
			t.Errorf("lookup %s=%s: status %d", q[0], q[1], st)
			continue
		}
		if got := s.lookup(q[0], q[1]); got.ID != p.ID {
			t.Errorf("lookup %s=%s gave %s, want %s", q[0], q[1], got.ID, p.ID)
		}
	}
	if st := s.lookupStatus("phone", "33698765432"); st != http.StatusOK {
		t.Errorf("a phone sent as a JSON number is not an identity (status %d)", st)
	}

	// Limits: one external id of a type, two e-mails (as configured).
	s.batch(M{"type": "identify", "userId": "u-5", "messageId": "m3", "traits": M{"email": "two@example.com", "crm_id": "4712"}})
	s.batch(M{"type": "identify", "userId": "u-5", "messageId": "m4", "traits": M{"email": "three@example.com"}})
	if got := s.lookup("email", "two@example.com").ID; got != p.ID {
		t.Errorf("the second e-mail went to %s", got)
	}
	for _, q := range [][2]string{{"email", "three@example.com"}, {"crm_id", "4712"}} {
		if st := s.lookupStatus(q[0], q[1]); st != http.StatusNotFound {
			t.Errorf("%s=%s over its type's limit was attached (status %d)", q[0], q[1], st)
		}
	}
	s.withDB(func(db *duckdb.DB) {
		var reasons []string
		for _, r := range auditRows(t, db, "identity_link_refused") {
			reasons = append(reasons, r.Details["reason"].(string))
		}
		slices.Sort(reasons)
		if want := []string{"limit:crm_id", "limit:email"}; !slices.Equal(reasons, want) {
			t.Errorf("refusals %v, want %v", reasons, want)
		}
	})
}

// When an anonymous profile merges into a known one, the survivor keeps its
// status and its traits, gains what only the other knew, and shows both
// histories; undoing the merge gives each profile back what it had.
func TestMergeAtIngestKeepsSurvivorAndUndoes(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.batch(M{"type": "identify", "userId": "u-1", "messageId": "k1", "timestamp": ts(1, 10),
		"traits": M{"name": "Jane", "plan": "pro", "$set_once": M{"first_source": "ads"}}})
	s.batch(M{"type": "identify", "anonymousId": "anon-x", "messageId": "a1", "timestamp": ts(2, 10),
		"traits": M{"plan": "free", "city": "Lyon", "$set_once": M{"first_source": "newsletter"}}},
		M{"type": "track", "anonymousId": "anon-x", "event": "Viewed", "messageId": "a2", "timestamp": ts(2, 11)})
	// Before the merge: first_source was first set by the anonymous side on
	// 2 May, but the known side's own value dates from 1 May.
	known, anon := s.lookup("user_id", "u-1"), s.lookup("anonymous_id", "anon-x")
	if known.ID == anon.ID || anon.Identified {
		t.Fatal("the anonymous visitor was linked before any message joined them")
	}
	s.batch(M{"type": "identify", "userId": "u-1", "anonymousId": "anon-x", "messageId": "k2", "timestamp": ts(3, 10)})

	p := s.lookup("anonymous_id", "anon-x")
	if p.ID != known.ID || !p.Identified {
		t.Fatalf("after the link anon-x is on %s (identified %v), want the known profile %s", p.ID, p.Identified, known.ID)
	}
	wantTraits := M{"name": "Jane", "plan": "pro", "city": "Lyon", "first_source": "ads"}
	if !jsonEqual(p.Traits, wantTraits) {
		t.Errorf("survivor traits %v, want %v", p.Traits, wantTraits)
	}
	if !slices.Equal(p.MergedProfileIDs, []string{anon.ID}) {
		t.Errorf("merged_profile_ids %v, want [%s]", p.MergedProfileIDs, anon.ID)
	}
	if ids := messageIDs(s.allEvents(known.ID, 2)); !slices.Equal(ids, []string{"k2", "a2", "a1", "k1"}) {
		t.Errorf("survivor events %v, want k2 a2 a1 k1", ids)
	}
	old := s.profile(anon.ID)
	if !old.Merged || old.ID != known.ID || old.RequestedID != anon.ID {
		t.Errorf("GET merged-away id: id=%s merged=%v requested=%s", old.ID, old.Merged, old.RequestedID)
	}
	if ids := messageIDs(s.allEvents(anon.ID, 10)); len(ids) != 4 {
		t.Errorf("events asked by the merged-away id: %v, want the survivor's four", ids)
	}
	ms := s.merges(anon.ID)
	if len(ms) != 1 || ms[0].SurvivorID != known.ID || ms[0].MergedID != anon.ID || ms[0].Rule != "identifier_match" ||
		ms[0].Actor != "ingest" || ms[0].MessageID != "k2" || ms[0].UndoneAt != nil {
		t.Fatalf("merges %+v", ms)
	}

	var undone merge
	s.apiJSON("POST", "/api/v1/merges/"+ms[0].ID+"/undo", nil, http.StatusOK, &undone)
	if undone.UndoneAt == nil {
		t.Error("the undo answer has no undone_at")
	}
	k, a := s.profile(known.ID), s.profile(anon.ID)
	if a.Merged || a.ID != anon.ID || a.Identified {
		t.Errorf("restored profile: id=%s merged=%v identified=%v", a.ID, a.Merged, a.Identified)
	}
	if want := (M{"name": "Jane", "plan": "pro", "first_source": "ads"}); !jsonEqual(k.Traits, want) {
		t.Errorf("survivor traits after undo %v, want %v", k.Traits, want)
	}
	if want := (M{"plan": "free", "city": "Lyon", "first_source": "newsletter"}); !jsonEqual(a.Traits, want) {
		t.Errorf("restored traits %v, want %v", a.Traits, want)
	}
	if got := s.lookup("anonymous_id", "anon-x").ID; got != anon.ID {
		t.Errorf("anon-x is on %s after undo, want %s", got, anon.ID)
	}
	if ids := messageIDs(s.allEvents(known.ID, 10)); !slices.Equal(ids, []string{"k2", "k1"}) {
		t.Errorf("survivor events after undo %v, want k2 k1", ids)
	}
	if ids := messageIDs(s.allEvents(anon.ID, 10)); !slices.Equal(ids, []string{"a2", "a1"}) {
		t.Errorf("restored events %v, want a2 a1", ids)
	}
	s.apiError("POST", "/api/v1/merges/"+ms[0].ID+"/undo", nil, http.StatusConflict, "conflict")
	if ms := s.merges(known.ID); len(ms) != 1 || ms[0].UndoneAt == nil {
		t.Errorf("merge record after undo: %+v", ms)
	}
	s.withDB(func(db *duckdb.DB) {
		if rows := auditRows(t, db, "unmerge"); len(rows) != 1 || rows[0].Details["merge_id"] != ms[0].ID {
			t.Errorf("unmerge audit %+v", rows)
		}
	})
}

// Set-once traits are settled by the earliest event, whichever profile
// survives the merge and in whatever order the messages arrive.
func TestSetOnceSurvivesMergeEitherWay(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	// The known side set it later (5 May) than the anonymous side (1 May).
	s.batch(M{"type": "identify", "userId": "u-s", "messageId": "k1", "timestamp": ts(5, 10),
		"traits": M{"$set_once": M{"first_source": "ads"}}})
	s.batch(M{"type": "identify", "anonymousId": "anon-s", "messageId": "a1", "timestamp": ts(1, 10),
		"traits": M{"$set_once": M{"first_source": "newsletter"}}})
	s.batch(M{"type": "identify", "userId": "u-s", "anonymousId": "anon-s", "messageId": "k2", "timestamp": ts(6, 10)})
	p := s.lookup("user_id", "u-s")
	if p.Traits["first_source"] != "newsletter" {
		t.Errorf("first_source %v after the merge, want newsletter (the earliest event)", p.Traits["first_source"])
	}
	if _, ok := p.Traits["$set_once"]; ok {
		t.Error(`"$set_once" is stored as a trait`)
	}
	ms := s.merges(p.ID)
	s.apiJSON("POST", "/api/v1/merges/"+ms[0].ID+"/undo", nil, http.StatusOK, nil)
	if got := s.profile(p.ID).Traits["first_source"]; got != "ads" {
		t.Errorf("first_source %v after undo, want ads back", got)
	}

	// Admin merge the other way round: the anonymous profile survives.
	anon := s.lookup("anonymous_id", "anon-s")
	s.apiJSON("POST", "/api/v1/profiles/"+anon.ID+"/merge", M{"profile_id": p.ID}, http.StatusOK, nil)
	got := s.profile(p.ID)
	if got.ID != anon.ID || got.Traits["first_source"] != "newsletter" || !got.Identified {
		t.Errorf("admin merge into the anonymous side: id %s identified %v first_source %v", got.ID, got.Identified, got.Traits["first_source"])
	}
}

// An administrator can merge two profiles the guard-rails keep apart, and undo it.
func TestAdminMergeAndUndoThroughAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	s.batch(M{"type": "identify", "userId": "u-a", "messageId": "a1", "timestamp": ts(1, 10), "traits": M{"name": "Ann", "age": 40}},
		M{"type": "track", "userId": "u-a", "event": "Bought", "messageId": "a2", "timestamp": ts(1, 11)},
		M{"type": "identify", "userId": "u-b", "messageId": "b1", "timestamp": ts(1, 12), "traits": M{"name": "Annie", "city": "Paris"}},
		M{"type": "track", "userId": "u-b", "event": "Viewed", "messageId": "b2", "timestamp": ts(1, 13)})
	a, b := s.lookup("user_id", "u-a"), s.lookup("user_id", "u-b")

	s.apiError("POST", "/api/v1/profiles/"+a.ID+"/merge", M{"profile_id": a.ID}, http.StatusConflict, "already_merged")
	s.apiError("POST", "/api/v1/profiles/"+a.ID+"/merge", M{"profile_id": "no-such-profile"}, http.StatusNotFound, "not_found")
	s.apiError("POST", "/api/v1/profiles/"+a.ID+"/merge", M{"profile": b.ID}, http.StatusBadRequest, "invalid_json")
	s.apiError("POST", "/api/v1/profiles/"+a.ID+"/merge", []byte("{"), http.StatusBadRequest, "invalid_json")

	var m merge
	s.apiJSON("POST", "/api/v1/profiles/"+a.ID+"/merge", M{"profile_id": b.ID}, http.StatusOK, &m)
	if m.SurvivorID != a.ID || m.MergedID != b.ID || m.Rule != "admin" || m.Actor != "api" || m.ID == "" {
		t.Fatalf("merge record %+v", m)
	}
	p := s.lookup("user_id", "u-b")
	if p.ID != a.ID {
		t.Fatalf("u-b is on %s after the merge, want %s", p.ID, a.ID)
	}
	if want := (M{"name": "Ann", "age": 40, "city": "Paris"}); !jsonEqual(p.Traits, want) {
		t.Errorf("merged traits %v, want %v", p.Traits, want)
	}
	if ids := messageIDs(s.allEvents(a.ID, 3)); !slices.Equal(ids, []string{"b2", "b1", "a2", "a1"}) {
		t.Errorf("merged events %v", ids)
	}
	s.apiError("POST", "/api/v1/profiles/"+b.ID+"/merge", M{"profile_id": a.ID}, http.StatusConflict, "already_merged")

	// The undo works from what was stored, after a restart too.
	s.restart()
	s.apiJSON("POST", "/api/v1/merges/"+m.ID+"/undo", nil, http.StatusOK, nil)
	a2, b2 := s.lookup("user_id", "u-a"), s.lookup("user_id", "u-b")
	if a2.ID != a.ID || b2.ID != b.ID {
		t.Fatalf("after undo u-a on %s, u-b on %s; want %s and %s", a2.ID, b2.ID, a.ID, b.ID)
	}
	if !jsonEqual(a2.Traits, M{"name": "Ann", "age": 40}) || !jsonEqual(b2.Traits, M{"name": "Annie", "city": "Paris"}) || !b2.Identified {
		t.Errorf("after undo: a %v, b %v (identified %v)", a2.Traits, b2.Traits, b2.Identified)
	}
	if ids := messageIDs(s.allEvents(b.ID, 10)); !slices.Equal(ids, []string{"b2", "b1"}) {
		t.Errorf("b's events after undo %v", ids)
	}
	s.apiError("POST", "/api/v1/merges/no-such-merge/undo", nil, http.StatusNotFound, "not_found")
	// Ingest agrees: a message for u-b lands on b again.
	s.batch(M{"type": "track", "userId": "u-b", "event": "Back", "messageId": "b3", "timestamp": ts(2, 10)})
	if ids := messageIDs(s.allEvents(b.ID, 10)); !slices.Equal(ids, []string{"b3", "b2", "b1"}) {
		t.Errorf("b's events after a new message %v", ids)
	}
}

// jsonEqual compares two JSON-shaped values after a round trip, so that 40
// and 40.0 compare equal.
func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var x, y any
	_ = json.Unmarshal(ja, &x)
	_ = json.Unmarshal(jb, &y)
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// An id of only white space cannot carry a message: it is rejected by index
// and nothing is stored; beside another id it is a placeholder.
func TestBlankIDsAreMissing(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	status, r := s.send("batch", M{"batch": []M{
		{"type": "identify", "userId": "   ", "messageId": "b1", "traits": M{"email": "blank@example.com"}},
		{"type": "identify", "userId": " ", "anonymousId": "dev-b", "messageId": "b2", "traits": M{"email": "b2@example.com"}},
	}})
	if status != http.StatusOK || r.Accepted != 1 || len(r.Rejected) != 1 || r.Rejected[0].Index != 0 || r.Rejected[0].Code != "missing_field" {
		t.Fatalf("status %d, answer %+v", status, r)
	}
	if st := s.lookupStatus("email", "blank@example.com"); st != http.StatusNotFound {
		t.Errorf("the rejected message was stored (lookup %d)", st)
	}
	if p := s.lookup("email", "b2@example.com"); p.has("user_id", "") || !p.has("anonymous_id", "dev-b") {
		t.Errorf("identities %v", p.ids())
	}
}
