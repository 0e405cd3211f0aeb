package identity

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// The metadata encoder must write what json.Marshal writes: stored rows do
// not depend on which path encoded them.
func TestEncodeMetaMatchesMarshal(t *testing.T) {
	t.Parallel()
	metas := []map[string]TraitMeta{
		nil,
		{},
		{"a": {At: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}, "b<": {At: time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC), Once: true},
			"é": {At: time.Date(2024, 5, 1, 10, 0, 0, 0, time.FixedZone("x", 3600)), Deleted: true, Once: true}, "z": {}},
	}
	for _, m := range metas {
		want, _ := json.Marshal(m)
		if got := encodeMeta(m); !bytes.Equal(got, want) {
			t.Errorf("encodeMeta(%v)\n got %s\nwant %s", m, got, want)
		}
	}
}
