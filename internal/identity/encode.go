package identity

import (
	"encoding/json"
	"time"

	"github.com/atrium-cdp/atrium/internal/jsonenc"
)

// EncodeTraits returns the stored JSON of a traits map, byte for byte what
// json.Marshal returns (nil when it fails), without its reflection: the
// writer encodes every changed profile on its one goroutine.
func EncodeTraits(t map[string]any) []byte {
	b, _ := jsonenc.Object(t)
	return b
}

// encodeMeta returns json.Marshal(m), written by hand for the same reason.
func encodeMeta(m map[string]TraitMeta) []byte {
	if m == nil {
		return []byte("null")
	}
	b := make([]byte, 0, 48*len(m)+2)
	b = append(b, '{')
	for i, k := range jsonenc.SortedKeys(m) {
		if i > 0 {
			b = append(b, ',')
		}
		tm := m[k]
		b = jsonenc.AppendString(b, k)
		b = append(b, `:{"t":`...)
		b = appendTime(b, tm.At)
		if tm.Once {
			b = append(b, `,"once":true`...)
		}
		if tm.Deleted {
			b = append(b, `,"del":true`...)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendTime writes t as time.Time.MarshalJSON does (RFC 3339 with
// nanoseconds); years out of its range go through it for its error path.
func appendTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		enc, err := json.Marshal(t)
		if err != nil {
			return append(b, `""`...)
		}
		return append(b, enc...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
