package identity

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func at(h int) time.Time { return time.Date(2024, 5, 1, h, 0, 0, 0, time.UTC) }

type M = map[string]any

func TestApplyTraitSemantics(t *testing.T) {
	s := NewTraitState()
	steps := []struct {
		name        string
		traits      M
		once        []string
		at          int
		wantChanged bool
		want        M
		wantChanges []TypeChange
	}{
		{"set", M{"plan": "pro", "city": "Paris"}, nil, 10, true, M{"plan": "pro", "city": "Paris"}, nil},
		{"null clears, absent keeps", M{"plan": nil}, nil, 11, true, M{"city": "Paris"}, nil},
		{"older event changes nothing, even a cleared key", M{"plan": "basic", "city": "Lyon"}, nil, 9, false, M{"city": "Paris"}, nil},
		{"same value, newer time", M{"city": "Paris"}, nil, 12, false, M{"city": "Paris"}, nil},
		{"older than the confirmed value", M{"city": "Lyon"}, nil, 11, false, M{"city": "Paris"}, nil},
		{"number", M{"age": json.Number("30")}, nil, 12, true, M{"city": "Paris", "age": json.Number("30")}, nil},
		{"same number again", M{"age": json.Number("30")}, nil, 13, false, M{"city": "Paris", "age": json.Number("30")}, nil},
		{"type change kept and reported", M{"age": "thirty"}, nil, 14, true, M{"city": "Paris", "age": "thirty"},
			[]TypeChange{{Key: "age", FromType: "number", ToType: "string"}}},
		{"set-once by settings", M{"signup": "b"}, []string{"signup"}, 10, true, M{"city": "Paris", "age": "thirty", "signup": "b"}, nil},
		{"set-once: an earlier event wins even arriving later", M{"signup": "a"}, []string{"signup"}, 8, true,
			M{"city": "Paris", "age": "thirty", "signup": "a"}, nil},
		{"set-once: a later event loses", M{"signup": "c"}, []string{"signup"}, 12, false, M{"city": "Paris", "age": "thirty", "signup": "a"}, nil},
		{"set-once stays set-once without the setting", M{"signup": "d"}, nil, 20, false, M{"city": "Paris", "age": "thirty", "signup": "a"}, nil},
		{"null never clears set-once", M{"signup": nil}, nil, 21, false, M{"city": "Paris", "age": "thirty", "signup": "a"}, nil},
		{"$set_once in the traits", M{"$set_once": M{"first_page": "/pricing"}, "city": "Nice"}, nil, 15, true,
			M{"city": "Nice", "age": "thirty", "signup": "a", "first_page": "/pricing"}, nil},
		{"$set_once later loses", M{"$set_once": M{"first_page": "/home"}}, nil, 16, false,
			M{"city": "Nice", "age": "thirty", "signup": "a", "first_page": "/pricing"}, nil},
		{"$set_once earlier wins", M{"$set_once": M{"first_page": "/"}}, nil, 1, true,
			M{"city": "Nice", "age": "thirty", "signup": "a", "first_page": "/"}, nil},
	}
	for _, st := range steps {
		changed, changes := s.Apply(st.traits, st.once, at(st.at))
		if changed != st.wantChanged || !reflect.DeepEqual(s.Traits, st.want) || !reflect.DeepEqual(changes, st.wantChanges) {
			t.Fatalf("%s: changed %v traits %v changes %v\nwant %v %v %v", st.name, changed, s.Traits, changes, st.wantChanged, st.want, st.wantChanges)
		}
	}
	if m := s.Meta["plan"]; !m.Deleted || !m.At.Equal(at(11)) {
		t.Errorf("plan meta %+v, want deleted at 11:00", m)
	}
	if m := s.Meta["signup"]; !m.Once || !m.At.Equal(at(8)) {
		t.Errorf("signup meta %+v, want set-once at 08:00", m)
	}
}

func TestMergeFromAndUnfill(t *testing.T) {
	sv := NewTraitState()
	sv.Apply(M{"name": "Jane", "plan": "pro"}, nil, at(10))
	sv.Apply(M{"$set_once": M{"first": "ads"}}, nil, at(5))
	sv.Apply(M{"city": "Paris"}, nil, at(10))
	sv.Apply(M{"city": nil}, nil, at(12)) // the survivor cleared city at 12:00
	other := NewTraitState()
	other.Apply(M{"plan": "free", "city": "Lyon", "zip": "69000"}, nil, at(11))
	other.Apply(M{"$set_once": M{"first": "newsletter"}}, nil, at(1))

	fills := sv.MergeFrom(other)
	// plan: the survivor keeps its own; city: cleared later than the other
	// side set it; zip: only the other side knew it; first: set-once, the
	// other side's is earlier.
	if want := (M{"name": "Jane", "plan": "pro", "zip": "69000", "first": "newsletter"}); !reflect.DeepEqual(sv.Traits, want) {
		t.Fatalf("merged traits %v, want %v", sv.Traits, want)
	}
	if len(fills) != 2 || fills["first"].Previous != "ads" || fills["zip"].PrevMeta != nil {
		t.Fatalf("fills %+v", fills)
	}
	// The undo data is stored as JSON; read it back the way Unmerge does.
	b, _ := json.Marshal(fills)
	var back map[string]Fill
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	un := decodeCopy(t, sv)
	if !un.Unfill(back) {
		t.Fatal("unfill changed nothing")
	}
	if want := (M{"name": "Jane", "plan": "pro", "first": "ads"}); !reflect.DeepEqual(un.Traits, want) {
		t.Errorf("after unfill %v, want %v", un.Traits, want)
	}
	if m := un.Meta["first"]; !m.Once || !m.At.Equal(at(5)) {
		t.Errorf("first meta after unfill %+v", m)
	}
	// A value changed by a newer event after the merge is kept by the undo.
	sv.Apply(M{"zip": "75001"}, nil, at(13))
	sv.Unfill(back)
	if sv.Traits["zip"] != "75001" || sv.Traits["first"] != "ads" {
		t.Errorf("unfill after a newer change: %v", sv.Traits)
	}
}

// decodeCopy round-trips a state through its stored form.
func decodeCopy(t *testing.T, s *TraitState) *TraitState {
	t.Helper()
	tr, meta := s.Encode()
	out, err := DecodeTraitState(tr, meta)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTraitStateKeepsLargeNumbers(t *testing.T) {
	s, err := DecodeTraitState([]byte(`{"customer_number":12345678901234567890,"ratio":0.1}`), []byte(`{"customer_number":{"t":"2024-05-01T10:00:00Z"}}`))
	if err != nil {
		t.Fatal(err)
	}
	s.Apply(M{"other": "x"}, nil, at(11))
	tr, _ := s.Encode()
	if want := `{"customer_number":12345678901234567890,"other":"x","ratio":0.1}`; string(tr) != want {
		t.Errorf("encoded %s, want %s", tr, want)
	}
	// The same number sent again is no change.
	if changed, _ := s.Apply(M{"customer_number": json.Number("12345678901234567890")}, nil, at(12)); changed {
		t.Error("the same large number counted as a change")
	}
	if s, err := DecodeTraitState(nil, nil); err != nil || len(s.Traits) != 0 || s.Meta == nil {
		t.Errorf("empty state: %v %+v", err, s)
	}
}
