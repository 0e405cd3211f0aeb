package duckdb

import (
	"context"
	"fmt"

	"github.com/atrium-cdp/atrium/internal/store"
)

// qualityFields are the normalised fields a profile may carry.
var qualityFields = []string{"email", "phone", "name", "civility", "country", "birthday", "address"}

// QualityReport counts, over live profiles, each normalised field's statuses
// and its most frequent reasons, with one raw example per reason (the caller
// masks it before showing it).
func (d *DB) QualityReport(ctx context.Context, topN int) ([]store.FieldQuality, error) {
	var out []store.FieldQuality
	for _, f := range qualityFields {
		fq := store.FieldQuality{Field: f, Statuses: map[string]int64{}}
		path := "$." + f
		rows, err := d.sql.QueryContext(ctx, `SELECT json_extract_string(normalized, ? || '.status') AS status, count(*)
			FROM profiles WHERE merged_into IS NULL AND json_extract_string(normalized, ? || '.status') IS NOT NULL
			GROUP BY 1 ORDER BY 1`, path, path)
		if err != nil {
			return nil, fmt.Errorf("quality report: %w", err)
		}
		for rows.Next() {
			var s string
			var n int64
			if err := rows.Scan(&s, &n); err != nil {
				rows.Close()
				return nil, err
			}
			fq.Statuses[s] = n
			fq.Total += n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		rrows, err := d.sql.QueryContext(ctx, `WITH r AS (
				SELECT unnest(from_json(json_extract(normalized, ? || '.reasons'), '["VARCHAR"]')) AS reason,
				       json_extract_string(normalized, ? || '.raw') AS raw
				FROM profiles WHERE merged_into IS NULL AND json_extract(normalized, ? || '.reasons') IS NOT NULL)
			SELECT reason, count(*) AS n, min(raw) FROM r GROUP BY reason ORDER BY n DESC, reason LIMIT ?`, path, path, path, topN)
		if err != nil {
			return nil, fmt.Errorf("quality report reasons: %w", err)
		}
		for rrows.Next() {
			var p store.QualityProblem
			var raw *string
			if err := rrows.Scan(&p.Reason, &p.Count, &raw); err != nil {
				rrows.Close()
				return nil, err
			}
			if raw != nil {
				p.Example = *raw
			}
			fq.Problems = append(fq.Problems, p)
		}
		rrows.Close()
		if err := rrows.Err(); err != nil {
			return nil, err
		}
		out = append(out, fq)
	}
	return out, nil
}
