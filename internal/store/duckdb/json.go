package duckdb

import "github.com/atrium-cdp/atrium/internal/jsonenc"

// traitsText serialises decoded traits for the events table (nil stays NULL).
// jsonenc writes json.Marshal's bytes without its reflection: every event of
// an import passes here on the writer goroutine.
func traitsText(t map[string]any) any {
	if t == nil {
		return nil
	}
	b, err := jsonenc.Object(t)
	if err != nil {
		return nil
	}
	return string(b)
}
