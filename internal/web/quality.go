package web

import (
	"context"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/atrium-cdp/atrium/internal/store"
)

// QualityReporter computes the data-quality report.
type QualityReporter interface {
	QualityReport(ctx context.Context, topN int) ([]store.FieldQuality, error)
}

// QualityJSON is the report as the API and the CLI show it.
type QualityJSON struct {
	Fields []FieldQualityJSON `json:"fields"`
}

// FieldQualityJSON adds shares to a field's counts.
type FieldQualityJSON struct {
	store.FieldQuality
	Shares map[string]float64 `json:"shares"`
}

// BuildQualityReport computes the report: shares per status, examples masked.
func BuildQualityReport(ctx context.Context, q QualityReporter) (QualityJSON, error) {
	fields, err := q.QualityReport(ctx, 10)
	if err != nil {
		return QualityJSON{}, err
	}
	out := QualityJSON{Fields: []FieldQualityJSON{}}
	for _, f := range fields {
		fj := FieldQualityJSON{FieldQuality: f, Shares: map[string]float64{}}
		for _, s := range []string{"valid", "corrected", "suspect", "invalid"} {
			if f.Total > 0 {
				fj.Shares[s] = float64(f.Statuses[s]) / float64(f.Total)
			} else {
				fj.Shares[s] = 0
			}
		}
		if fj.Problems == nil {
			fj.Problems = []store.QualityProblem{}
		}
		for i := range fj.Problems {
			fj.Problems[i].Example = Mask(fj.Problems[i].Example)
		}
		out.Fields = append(out.Fields, fj)
	}
	return out, nil
}

// Mask hides most of a personal value, keeping its shape: the first
// character of each word, the separators, and an e-mail's domain.
func Mask(s string) string {
	if at := strings.LastIndexByte(s, '@'); at > 0 {
		return maskWords(s[:at]) + s[at:]
	}
	return maskWords(s)
}

func maskWords(s string) string {
	var b strings.Builder
	start := true
	for _, r := range s {
		switch {
		case r == ' ' || r == '.' || r == '-' || r == '_' || r == '|' || r == ',':
			b.WriteRune(r)
			start = true
		case start:
			b.WriteRune(r)
			start = false
		default:
			b.WriteByte('*')
		}
	}
	if !utf8.ValidString(b.String()) {
		return "***"
	}
	return b.String()
}

func (a *api) qualityReport(w http.ResponseWriter, r *http.Request) error {
	rep, err := BuildQualityReport(r.Context(), a.d.Quality)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
