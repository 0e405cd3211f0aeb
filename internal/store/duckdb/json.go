package duckdb

import "encoding/json"

// traitsText serialises decoded traits for the events table (nil stays NULL).
func traitsText(t map[string]any) any {
	if t == nil {
		return nil
	}
	b, err := json.Marshal(t)
	if err != nil {
		return nil
	}
	return string(b)
}
