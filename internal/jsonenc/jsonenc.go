// Package jsonenc writes JSON objects of decoded values (map[string]any)
// without reflection. Its output is byte for byte what encoding/json's
// Marshal returns (keys sorted, HTML-safe escaping), so rows it writes are
// indistinguishable from rows json.Marshal wrote; values it has no fast path
// for are handed to json.Marshal.
package jsonenc

import (
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// Object returns json.Marshal(t), its error included (a value it cannot
// encode): the ingest writer encodes every changed profile (and the store
// every event's traits) on one goroutine, where the reflection-based encoder
// was a large share of an import.
func Object(t map[string]any) ([]byte, error) {
	return AppendObject(make([]byte, 0, 64*len(t)+2), t)
}

// AppendObject appends json.Marshal(t) to b.
func AppendObject(b []byte, t map[string]any) ([]byte, error) {
	if t == nil {
		return append(b, "null"...), nil
	}
	keys := SortedKeys(t)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, t[k]); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return AppendString(b, x), nil
	case bool:
		if x {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case map[string]any:
		return AppendObject(b, x)
	}
	// Numbers (float formatting, json.Number validation), arrays and
	// anything unusual: json.Marshal decides.
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}

// AppendString writes s as a JSON string. Plain printable ASCII is copied;
// anything json.Marshal would escape or rewrite goes through it.
func AppendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			enc, _ := json.Marshal(s)
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// SortedKeys returns the keys of m in the order json.Marshal writes them.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
