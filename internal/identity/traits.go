package identity

import (
	"bytes"
	"encoding/json"
	"reflect"
	"time"
)

// Trait semantics (documented in docs/profiles.md):
//   - an identify's traits merge into the profile: a key with a value sets it,
//     a key with null clears it, an absent key keeps it;
//   - between two events the later event time wins, whatever the arrival
//     order (a late batch never overwrites a newer value);
//   - set-once traits (sent under "$set_once", or named in the workspace's
//     set_once_traits) keep the value of the earliest event that set them;
//   - a trait whose JSON type changes is kept, and the change is reported.

// TraitMeta is what the profile remembers about one trait.
type TraitMeta struct {
	At      time.Time `json:"t"`
	Once    bool      `json:"once,omitempty"`
	Deleted bool      `json:"del,omitempty"`
}

// TraitState is a profile's traits with their metadata.
type TraitState struct {
	Traits map[string]any
	Meta   map[string]TraitMeta
}

// NewTraitState returns an empty state.
func NewTraitState() *TraitState {
	return &TraitState{Traits: map[string]any{}, Meta: map[string]TraitMeta{}}
}

// DecodeTraitState reads stored JSON (either part may be empty).
func DecodeTraitState(traits, meta []byte) (*TraitState, error) {
	s := NewTraitState()
	if len(traits) > 0 {
		// UseNumber: traits decoded as float64 lost digits past 2^53 (a
		// customer number sent as a JSON number) the next time the profile
		// was written; json.Number keeps the literal, as the decoder does.
		dec := json.NewDecoder(bytes.NewReader(traits))
		dec.UseNumber()
		if err := dec.Decode(&s.Traits); err != nil {
			return nil, err
		}
	}
	if len(meta) > 0 {
		if err := json.Unmarshal(meta, &s.Meta); err != nil {
			return nil, err
		}
	}
	if s.Traits == nil {
		s.Traits = map[string]any{}
	}
	if s.Meta == nil {
		s.Meta = map[string]TraitMeta{}
	}
	return s, nil
}

// Encode returns the stored JSON of the state (what json.Marshal of each
// part returns).
func (s *TraitState) Encode() (traits, meta []byte) {
	return EncodeTraits(s.Traits), encodeMeta(s.Meta)
}

// EncodeMeta returns the stored JSON of the metadata alone.
func (s *TraitState) EncodeMeta() []byte { return encodeMeta(s.Meta) }

// TypeChange reports a trait whose JSON type changed.
type TypeChange struct {
	Key      string `json:"key"`
	FromType string `json:"from"`
	ToType   string `json:"to"`
}

// SetOnceKey is the traits key under which a sender passes set-once traits.
const SetOnceKey = "$set_once"

// Apply merges one identify's traits, sent at event time at. It reports
// whether anything changed and the type changes seen.
func (s *TraitState) Apply(traits map[string]any, setOnceNames []string, at time.Time) (changed bool, changes []TypeChange) {
	once := map[string]bool{}
	for _, n := range setOnceNames {
		once[n] = true
	}
	for k, v := range traits {
		if k == SetOnceKey {
			if m, ok := v.(map[string]any); ok {
				for ok2, ov := range m {
					if c, tc := s.setOnce(ok2, ov, at); c {
						changed = true
						changes = append(changes, tc...)
					}
				}
			}
			continue
		}
		if once[k] {
			if c, tc := s.setOnce(k, v, at); c {
				changed = true
				changes = append(changes, tc...)
			}
			continue
		}
		meta, known := s.Meta[k]
		if known && meta.Once {
			// A trait once declared set-once stays so.
			if c, tc := s.setOnce(k, v, at); c {
				changed = true
				changes = append(changes, tc...)
			}
			continue
		}
		if known && meta.At.After(at) {
			continue // a newer event already decided this trait
		}
		if v == nil {
			if _, had := s.Traits[k]; had || !known || !meta.Deleted {
				delete(s.Traits, k)
				s.Meta[k] = TraitMeta{At: at, Deleted: true}
				changed = true
			}
			continue
		}
		old, had := s.Traits[k]
		if had {
			if reflect.DeepEqual(old, v) {
				if meta.At.Before(at) {
					s.Meta[k] = TraitMeta{At: at}
				}
				continue
			}
			if ft, tt := jsonType(old), jsonType(v); ft != tt {
				changes = append(changes, TypeChange{Key: k, FromType: ft, ToType: tt})
			}
		}
		s.Traits[k] = v
		s.Meta[k] = TraitMeta{At: at}
		changed = true
	}
	return changed, changes
}

func (s *TraitState) setOnce(k string, v any, at time.Time) (bool, []TypeChange) {
	if v == nil {
		return false, nil // null never clears a first-touch value
	}
	meta, known := s.Meta[k]
	old, had := s.Traits[k]
	if had && known && meta.Once && !at.Before(meta.At) {
		return false, nil // an earlier (or equal) event already set it
	}
	var tc []TypeChange
	if had {
		if reflect.DeepEqual(old, v) && known && meta.Once && meta.At.Equal(at) {
			return false, nil
		}
		if ft, tt := jsonType(old), jsonType(v); ft != tt {
			tc = append(tc, TypeChange{Key: k, FromType: ft, ToType: tt})
		}
	}
	s.Traits[k] = v
	s.Meta[k] = TraitMeta{At: at, Once: true}
	return true, tc
}

// Fill is one value the survivor of a merge took from the merged profile.
type Fill struct {
	Value    any        `json:"value"`
	Meta     TraitMeta  `json:"meta"`
	Previous any        `json:"previous,omitempty"`
	PrevMeta *TraitMeta `json:"previous_meta,omitempty"`
}

// MergeFrom fills s (the survivor) with what only other knows, and settles
// set-once traits by the earliest event across both. It returns what it took,
// which is what an unmerge gives back.
func (s *TraitState) MergeFrom(other *TraitState) map[string]Fill {
	fills := map[string]Fill{}
	for k, v := range other.Traits {
		om := other.Meta[k]
		cur, had := s.Traits[k]
		cm, known := s.Meta[k]
		switch {
		case !had && !(known && cm.Deleted && cm.At.After(om.At)):
			s.Traits[k] = v
			s.Meta[k] = om
			fills[k] = Fill{Value: v, Meta: om}
		case had && om.Once && cm.Once && om.At.Before(cm.At):
			pm := cm
			s.Traits[k] = v
			s.Meta[k] = om
			fills[k] = Fill{Value: v, Meta: om, Previous: cur, PrevMeta: &pm}
		}
	}
	return fills
}

// Unfill gives back what MergeFrom took, for each trait still holding the
// value the merge put there (a later change by a newer event is kept).
func (s *TraitState) Unfill(fills map[string]Fill) bool {
	changed := false
	for k, f := range fills {
		cur, had := s.Traits[k]
		if !had || !reflect.DeepEqual(normalizeJSON(cur), normalizeJSON(f.Value)) {
			continue
		}
		if f.PrevMeta != nil {
			s.Traits[k] = f.Previous
			s.Meta[k] = *f.PrevMeta
		} else {
			delete(s.Traits, k)
			delete(s.Meta, k)
		}
		changed = true
	}
	return changed
}

// normalizeJSON round-trips a value so values read back from JSON compare
// equal to values decoded elsewhere.
func normalizeJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64, json.Number, int, int64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}
