package dedupe_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/dedupe"
	"github.com/atrium-cdp/atrium/internal/identity/match"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// workspace is a real DuckDB workspace in a temporary folder with a running
// ingest writer and the deduplication service over both.
type workspace struct {
	t   *testing.T
	db  *duckdb.DB
	w   *ingest.Writer
	svc *dedupe.Service
	src string
	n   int
}

func newWorkspace(t *testing.T) *workspace {
	t.Helper()
	ctx := context.Background()
	db, err := duckdb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	creds, err := app.Initialize(ctx, db, app.NewWorkspace(db))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := app.LoadIdentityConfig(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	w := ingest.New(db, cfg, app.WriterOptions(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err := w.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	t.Cleanup(func() {
		w.Stop()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("writer: %v", err)
		}
		db.Close()
	})
	ids := 0
	newID := func() string { ids++; return fmt.Sprintf("id-%04d", ids) }
	return &workspace{t: t, db: db, w: w, src: creds.SourceID, svc: dedupe.New(db, w, newID, time.Now)}
}

// identify ingests one identify call for a new user and returns its profile id.
func (ws *workspace) identify(userID string, day int, traits map[string]any) string {
	ws.t.Helper()
	ws.n++
	at := time.Date(2024, 5, day, 10, 0, 0, 0, time.UTC)
	msg := model.Message{Type: model.Identify, MessageID: fmt.Sprintf("m-%d", ws.n), SourceID: ws.src, UserID: userID,
		Timestamp: at, ReceivedAt: at, Traits: traits}
	if _, err := ws.w.Submit(context.Background(), []model.Message{msg}); err != nil {
		ws.t.Fatal(err)
	}
	pid, err := ws.db.Lookup(context.Background(), "user_id", userID)
	if err != nil {
		ws.t.Fatal(err)
	}
	return pid
}

func (ws *workspace) count(q string, args ...any) int {
	ws.t.Helper()
	var n int
	if err := ws.db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
		ws.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// The people of the tests. Jean Dupont's two profiles are one person typed
// twice (a CRM and a shop): same birth date, same street and town, the
// surname one letter off, the address abbreviated, no shared e-mail or
// phone (those would have merged them at ingest). Marie Curie shares only
// the town with them.
var (
	jeanCRM = map[string]any{"first_name": "Jean", "last_name": "Dupont", "birthday": "1980-05-03",
		"email": "jean.dupont@example.com", "phone": "+33612345678",
		"address": map[string]any{"street": "12 rue des Lilas", "postalCode": "69003", "city": "Lyon"}}
	jeanShop = map[string]any{"first_name": "Jean", "last_name": "Dupond", "birthday": "03/05/1980",
		"email": "jdupond@shop.example", "phone": "+33698765400",
		"address": map[string]any{"street": "12 r. des Lilas", "postalCode": "69003", "city": "LYON"}}
	marie = map[string]any{"first_name": "Marie", "last_name": "Curie", "birthday": "1967-11-07",
		"email": "marie.curie@example.org", "phone": "+33145678901",
		"address": map[string]any{"street": "1 place Bellecour", "postalCode": "69002", "city": "Lyon"}}
)

// background ingests n distinct generated people (the matcher's FEBRL-like
// generator without duplicates), so that the model is fitted on a
// population as in any real workspace; a handful of profiles gives EM and
// the u sample almost nothing to learn from (docs/dedupe.md, limits).
func (ws *workspace) background(n int) {
	ws.t.Helper()
	recs, _ := match.Generate(n, 0, 11)
	msgs := make([]model.Message, 0, n)
	for i, r := range recs {
		at := time.Date(2024, 4, 1, 0, 0, i, 0, time.UTC)
		msgs = append(msgs, model.Message{Type: model.Identify, MessageID: fmt.Sprintf("bg-%d", i), SourceID: ws.src,
			UserID: fmt.Sprintf("bg-%d", i), Timestamp: at, ReceivedAt: at, Traits: traitsOf(r)})
	}
	if _, err := ws.w.Submit(context.Background(), msgs); err != nil {
		ws.t.Fatal(err)
	}
}

// traitsOf writes a generated record as identify traits (Australian
// addresses: the generator's).
func traitsOf(r match.Record) map[string]any {
	t := map[string]any{"first_name": r.GivenName, "last_name": r.Surname, "country": "AU"}
	if d := r.BirthDate; d.Year > 0 && d.Month > 0 && d.Day > 0 {
		t["birthday"] = fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
	}
	street := r.StreetNumber
	for _, l := range r.AddressLines {
		street += " " + l
	}
	t["address"] = map[string]any{"street": street, "postalCode": r.PostalCode, "city": r.Locality, "state": r.Region}
	if r.Phone != "" {
		t["phone"] = r.Phone
	}
	if r.Email != "" {
		t["email"] = r.Email
	}
	return t
}
