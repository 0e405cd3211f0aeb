package imports

import (
	"strings"
	"time"
	"unicode"
)

// MaxRejectsListed bounds the rejected rows a report lists; the counts stay exact.
const MaxRejectsListed = 1000

// Reject is one rejected row (or, in Warnings, one row imported with a remark).
type Reject struct {
	Row    int    `json:"row"`
	Column string `json:"column,omitempty"`
	Value  string `json:"value,omitempty"` // masked when the column may hold personal data
	Reason string `json:"reason"`
}

// Report is what an import did. Counts of created, updated and unchanged are
// records of the kind (profiles' contacts, orders, products, consent
// changes, events); rows_read and rejected are file rows.
type Report struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Source     string     `json:"source"`
	File       string     `json:"file"`
	Status     string     `json:"status"` // running, done, failed
	DryRun     bool       `json:"dry_run,omitempty"`
	Format     string     `json:"format"`
	Encoding   string     `json:"encoding"`
	Delimiter  string     `json:"delimiter,omitempty"`
	Sheet      string     `json:"sheet,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Error      string     `json:"error,omitempty"`

	RowsRead  int `json:"rows_read"`
	Processed int `json:"rows_processed"`
	Records   int `json:"records"` // contacts, orders, products... the rows made
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Rejected  int `json:"rejected"`
	// Orders only.
	Lines       int     `json:"lines,omitempty"`
	GuestOrders int     `json:"guest_orders,omitempty"`
	Revenue     float64 `json:"revenue,omitempty"` // sum of totals of orders neither cancelled nor refunded
	Customers   int     `json:"customers,omitempty"`

	DateOrders map[string]string `json:"date_orders,omitempty"` // column -> day-first / month-first
	Rejects    []Reject          `json:"rejects"`
	Warnings   []Reject          `json:"warnings,omitempty"`
	Truncated  int               `json:"rejects_not_listed,omitempty"`
	RowsPerSec float64           `json:"rows_per_second,omitempty"`
}

func (r *Report) reject(x Reject) {
	r.Rejected++
	if len(r.Rejects) < MaxRejectsListed {
		r.Rejects = append(r.Rejects, x)
	} else {
		r.Truncated++
	}
}

// reportMark is the part of a report reading rows moves on, so that a chunk
// written in the background is reported as of the rows read when it was sent.
type reportMark struct {
	processed, rejected, listed, truncated, records int
}

func (r *Report) mark() reportMark {
	return reportMark{r.Processed, r.Rejected, len(r.Rejects), r.Truncated, r.Records}
}

// rewind sets the counters back (or forward) to m. Rejects listed since m
// are only hidden, so rewinding forward again shows them.
func (r *Report) rewind(m reportMark) {
	r.Processed, r.Rejected, r.Truncated, r.Records = m.processed, m.rejected, m.truncated, m.records
	r.Rejects = r.Rejects[:m.listed]
}

func (r *Report) warn(x Reject) {
	if len(r.Warnings) < MaxRejectsListed {
		r.Warnings = append(r.Warnings, x)
	}
}

// Mask hides a personal value while keeping its shape: the first character,
// then letters as x, digits as 9, punctuation kept (so "03/04/1991" shows as
// "09/99/9999" and a broken e-mail keeps its @ and dots).
func Mask(s string) string {
	var b strings.Builder
	for i, r := range []rune(s) {
		switch {
		case i == 0:
			b.WriteRune(r)
		case unicode.IsDigit(r):
			b.WriteByte('9')
		case unicode.IsLetter(r):
			b.WriteByte('x')
		default:
			b.WriteRune(r)
		}
		if i > 64 {
			b.WriteString("…")
			break
		}
	}
	return b.String()
}
