package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/traits/recommend"
)

// farFuture is the cutoff that keeps every order and event: a profile's
// history is read whole when it asks for recommendations.
var farFuture = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Statements of the build, bound to the stored tables or to the offline
// evaluation's temporary ones. The table names are fixed here; values are
// always parameters.
var (
	buildIncidence  = `CREATE TEMP TABLE reco_build_incidence AS ` + recommend.IncidenceSQL
	buildNeighbours = `INSERT INTO reco_neighbours (product_id, neighbour_id, similarity, together, rank) ` +
		recommend.Bind(recommend.NeighboursSQL, map[string]string{"incidence": "reco_build_incidence"})
	buildItems = `INSERT INTO reco_items (product_id, name, buyers, window_buyers, share, popular_rank) ` +
		recommend.Bind(recommend.ItemsSQL, map[string]string{"incidence": "reco_build_incidence"})
	buildStats = `SELECT (SELECT count(DISTINCT profile_id) FROM reco_build_incidence),
		(SELECT count(*) FROM reco_items), (SELECT count(*) FROM reco_neighbours),
		(SELECT max(last_bought_at) FROM reco_build_incidence)`
	insertModel = `INSERT INTO reco_model (built_at, trained_until, window_start, window_end, profiles, products, pairs, options, build_seconds)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	selectModel = `SELECT built_at, trained_until, window_start, window_end, profiles, products, pairs, options, build_seconds
		FROM reco_model ORDER BY built_at DESC LIMIT 1`
)

// BuildRecommendModel builds the recommendation model from the orders and
// product views before until and replaces the stored one in one
// transaction: readers see the old model or the new one, never a mix.
func (d *DB) BuildRecommendModel(ctx context.Context, until time.Time, o recommend.Options) (recommend.Model, error) {
	o, err := o.WithDefaults()
	if err != nil {
		return recommend.Model{}, fmt.Errorf("recommendation options: %w", err)
	}
	start := time.Now()
	m := recommend.Model{BuiltAt: start.UTC(), TrainedUntil: until.UTC(), Options: o}
	opts, _ := json.Marshal(o)
	err = d.inTx(ctx, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, `DROP TABLE IF EXISTS reco_build_incidence`); err != nil {
			return fmt.Errorf("clear build table: %w", err)
		}
		steps := []struct{ what, stmt string }{
			{"read interactions", buildIncidence},
			{"clear neighbours", `DELETE FROM reco_neighbours`},
			{"compute neighbours", buildNeighbours},
			{"clear items", `DELETE FROM reco_items`},
			{"compute popularity", buildItems},
			{"clear model", `DELETE FROM reco_model`},
		}
		for _, s := range steps {
			if _, err := conn.ExecContext(ctx, s.stmt, params(s.stmt, until, o, 0, nil)...); err != nil {
				return fmt.Errorf("recommendation model: %s: %w", s.what, err)
			}
		}
		var last sql.NullTime
		if err := conn.QueryRowContext(ctx, buildStats).Scan(&m.Profiles, &m.Products, &m.Pairs, &last); err != nil {
			return fmt.Errorf("recommendation model: count: %w", err)
		}
		if last.Valid {
			m.WindowEnd = last.Time.UTC()
			m.WindowStart = m.WindowEnd.AddDate(0, 0, -o.WindowDays)
		}
		m.Seconds = time.Since(start).Seconds()
		if _, err := conn.ExecContext(ctx, insertModel, m.BuiltAt, m.TrainedUntil, nullTime(m.WindowStart), nullTime(m.WindowEnd),
			m.Profiles, m.Products, m.Pairs, string(opts), m.Seconds); err != nil {
			return fmt.Errorf("recommendation model: record: %w", err)
		}
		_, err := conn.ExecContext(ctx, `DROP TABLE reco_build_incidence`)
		return err
	})
	if err != nil {
		return recommend.Model{}, err
	}
	return m, nil
}

// RecommendModel describes the stored model, or returns store.ErrNotFound
// before the first build.
func (d *DB) RecommendModel(ctx context.Context) (recommend.Model, error) {
	var m recommend.Model
	var ws, we sql.NullTime
	var opts string
	err := d.sql.QueryRowContext(ctx, selectModel).Scan(&m.BuiltAt, &m.TrainedUntil, &ws, &we, &m.Profiles, &m.Products, &m.Pairs, &opts, &m.Seconds)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("recommendation model: %w", store.ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("read recommendation model: %w", err)
	}
	if err := json.Unmarshal([]byte(opts), &m.Options); err != nil {
		return m, fmt.Errorf("read recommendation model options: %w", err)
	}
	m.BuiltAt, m.TrainedUntil = m.BuiltAt.UTC(), m.TrainedUntil.UTC()
	if ws.Valid {
		m.WindowStart, m.WindowEnd = ws.Time.UTC(), we.Time.UTC()
	}
	return m, nil
}

// Recommendations returns up to limit recommendations for a live profile
// (callers resolve merges first) from the stored model, with the model they
// came from. The profile's history is read now, whole. Before the first
// build it returns store.ErrNotFound for the model.
func (d *DB) Recommendations(ctx context.Context, profileID string, limit int) ([]recommend.Recommendation, recommend.Model, error) {
	if limit < 1 || limit > recommend.MaxLimit {
		return nil, recommend.Model{}, fmt.Errorf("limit %d: want 1 to %d", limit, recommend.MaxLimit)
	}
	m, err := d.RecommendModel(ctx)
	if err != nil {
		return nil, m, err
	}
	stmt := recommend.ProfileRecommendSQL
	recs, err := scanRecommendations(ctx, d.sql, stmt, params(stmt, farFuture, m.Options, limit, profileID), m.Options.WindowDays)
	if err != nil {
		return nil, m, err
	}
	return recs[profileID], m, nil
}

// queryer is what scanRecommendations reads from: the pool or one
// connection holding temporary tables.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// scanRecommendations runs a scoring statement and groups its rows by
// profile, in rank order.
func scanRecommendations(ctx context.Context, q queryer, stmt string, args []any, windowDays int) (map[string][]recommend.Recommendation, error) {
	rows, err := q.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("recommend: %w", err)
	}
	defer rows.Close()
	out := map[string][]recommend.Recommendation{}
	for rows.Next() {
		var pid string
		var r recommend.Recommendation
		var anchorBought bool
		if err := rows.Scan(&pid, &r.Rank, &r.ProductID, &r.Name, &r.Score, &r.Fallback, &r.Because, &anchorBought, &r.Together); err != nil {
			return nil, fmt.Errorf("recommend: %w", err)
		}
		if !r.Fallback {
			r.BecauseRelation = "viewed"
			if anchorBought {
				r.BecauseRelation = "bought"
			}
		}
		r.Explain(windowDays)
		out[pid] = append(out[pid], r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recommend: %w", err)
	}
	return out, nil
}

var paramName = regexp.MustCompile(`\$([a-z_]+)`)

// params binds the named parameters a statement uses, and only those
// (DuckDB refuses a named argument the statement does not have).
func params(stmt string, cutoff time.Time, o recommend.Options, limit int, profile any) []any {
	values := map[string]any{
		"cutoff": cutoff.UTC(), "view_weight": o.ViewWeight, "max_items": o.MaxItems, "min_together": o.MinTogether,
		"k": o.Neighbours, "window_days": o.WindowDays, "limit": limit, "profile": profile,
	}
	var args []any
	seen := map[string]bool{}
	for _, m := range paramName.FindAllStringSubmatch(stmt, -1) {
		name := m[1]
		v, ok := values[name]
		if !ok || seen[name] {
			continue // "$.product_id" in a JSON path is not a parameter
		}
		seen[name] = true
		args = append(args, sql.Named(name, v))
	}
	return args
}

// RecommendEval is the result of an offline evaluation on a temporal split.
type RecommendEval struct {
	Split time.Time `json:"split"`
	K     int       `json:"k"`
	// TrainProfiles, TrainProducts and TrainPairs describe the model
	// trained on the interactions before the split.
	TrainProfiles int `json:"train_profiles"`
	TrainProducts int `json:"train_products"`
	TrainPairs    int `json:"train_pairs"`
	// BoughtBeforeAndAfter counts the customers with a purchase before the
	// split and one after; Evaluated those of them who bought, after the
	// split, at least one product they had not bought before (the others
	// have nothing new to find and are left out, for both methods).
	BoughtBeforeAndAfter int `json:"bought_before_and_after"`
	Evaluated            int `json:"evaluated"`
	// Model is the served method (similar products, filled up with popular
	// ones); Popularity the baseline (the popular products alone). Both
	// leave out what the customer bought before the split.
	Model      recommend.Metrics `json:"model"`
	Popularity recommend.Metrics `json:"popularity"`
	// FallbackShare is the share of the model's recommendations that came
	// from the popularity fill-up.
	FallbackShare float64           `json:"model_fallback_share"`
	Options       recommend.Options `json:"options"`
	Seconds       float64           `json:"seconds"`
	// Cases are the evaluated customers, per method (not printed).
	ModelCases      []recommend.Case `json:"-"`
	PopularityCases []recommend.Case `json:"-"`
}

// Statements of the offline evaluation, on temporary tables of one
// connection.
var (
	evalTables = []string{"reco_ev_train", "reco_ev_all", "reco_ev_neighbours", "reco_ev_items", "reco_ev_empty",
		"reco_ev_customers", "reco_ev_history", "reco_ev_relevant"}
	evalSteps = []struct{ what, stmt string }{
		{"read interactions before the split", `CREATE TEMP TABLE reco_ev_train AS ` + recommend.IncidenceSQL},
		{"compute neighbours", `CREATE TEMP TABLE reco_ev_neighbours AS ` +
			recommend.Bind(recommend.NeighboursSQL, map[string]string{"incidence": "reco_ev_train"})},
		{"compute popularity", `CREATE TEMP TABLE reco_ev_items AS ` +
			recommend.Bind(recommend.ItemsSQL, map[string]string{"incidence": "reco_ev_train"})},
		{"empty model", `CREATE TEMP TABLE reco_ev_empty AS SELECT * FROM reco_ev_neighbours LIMIT 0`},
	}
	// evalAll reads every purchase (no cutoff): a product bought after the
	// split has its last purchase at or after it.
	evalAll       = `CREATE TEMP TABLE reco_ev_all AS ` + recommend.IncidenceSQL
	evalCustomers = `CREATE TEMP TABLE reco_ev_customers AS
		SELECT DISTINCT a.profile_id FROM reco_ev_all a
		WHERE a.bought AND a.last_bought_at >= CAST($cutoff AS TIMESTAMP)
		  AND a.profile_id IN (SELECT profile_id FROM reco_ev_train WHERE bought)`
	evalHistory  = `CREATE TEMP TABLE reco_ev_history AS SELECT * FROM reco_ev_train WHERE profile_id IN (SELECT profile_id FROM reco_ev_customers)`
	evalRelevant = `CREATE TEMP TABLE reco_ev_relevant AS
		SELECT a.profile_id, a.product_id FROM reco_ev_all a
		WHERE a.bought AND a.last_bought_at >= CAST($cutoff AS TIMESTAMP)
		  AND a.profile_id IN (SELECT profile_id FROM reco_ev_customers)
		  AND NOT EXISTS (SELECT 1 FROM reco_ev_train t WHERE t.bought AND t.profile_id = a.profile_id AND t.product_id = a.product_id)`
	evalStats = `SELECT (SELECT count(DISTINCT profile_id) FROM reco_ev_train), (SELECT count(*) FROM reco_ev_items),
		(SELECT count(*) FROM reco_ev_neighbours), (SELECT count(*) FROM reco_ev_customers)`
	evalModel = recommend.Bind(recommend.BatchRecommendSQL,
		map[string]string{"history": "reco_ev_history", "neighbours": "reco_ev_neighbours", "items": "reco_ev_items"})
	evalPopularity = recommend.Bind(recommend.BatchRecommendSQL,
		map[string]string{"history": "reco_ev_history", "neighbours": "reco_ev_empty", "items": "reco_ev_items"})
)

// EvaluateRecommendations trains the model on the orders and views before
// split and measures, for the customers who bought before and after it,
// whether the k products recommended from their history before the split
// are among the new products they bought after it; the popularity baseline
// is measured in the same run on the same customers. Nothing stored
// changes: the work happens in temporary tables of one connection.
func (d *DB) EvaluateRecommendations(ctx context.Context, split time.Time, k int, o recommend.Options) (RecommendEval, error) {
	o, err := o.WithDefaults()
	if err != nil {
		return RecommendEval{}, fmt.Errorf("recommendation options: %w", err)
	}
	if k < 1 || k > recommend.MaxLimit {
		return RecommendEval{}, fmt.Errorf("k %d: want 1 to %d", k, recommend.MaxLimit)
	}
	start := time.Now()
	ev := RecommendEval{Split: split.UTC(), K: k, Options: o}
	conn, err := d.sql.Conn(ctx)
	if err != nil {
		return ev, fmt.Errorf("evaluation connection: %w", err)
	}
	defer conn.Close()
	dropAll := func(ctx context.Context) {
		for _, t := range evalTables {
			_, _ = conn.ExecContext(ctx, `DROP TABLE IF EXISTS `+t)
		}
	}
	dropAll(ctx)
	defer dropAll(context.WithoutCancel(ctx))
	for _, s := range evalSteps {
		if _, err := conn.ExecContext(ctx, s.stmt, params(s.stmt, split, o, k, nil)...); err != nil {
			return ev, fmt.Errorf("evaluate: %s: %w", s.what, err)
		}
	}
	if _, err := conn.ExecContext(ctx, evalAll, params(evalAll, farFuture, o, k, nil)...); err != nil {
		return ev, fmt.Errorf("evaluate: read every purchase: %w", err)
	}
	for _, stmt := range []string{evalCustomers, evalHistory, evalRelevant} {
		if _, err := conn.ExecContext(ctx, stmt, params(stmt, split, o, k, nil)...); err != nil {
			return ev, fmt.Errorf("evaluate: select customers: %w", err)
		}
	}
	if err := conn.QueryRowContext(ctx, evalStats).Scan(&ev.TrainProfiles, &ev.TrainProducts, &ev.TrainPairs, &ev.BoughtBeforeAndAfter); err != nil {
		return ev, fmt.Errorf("evaluate: count: %w", err)
	}
	relevant := map[string][]string{}
	rows, err := conn.QueryContext(ctx, `SELECT profile_id, product_id FROM reco_ev_relevant ORDER BY profile_id, product_id`)
	if err != nil {
		return ev, fmt.Errorf("evaluate: read purchases after the split: %w", err)
	}
	for rows.Next() {
		var pid, product string
		if err := rows.Scan(&pid, &product); err != nil {
			rows.Close()
			return ev, fmt.Errorf("evaluate: %w", err)
		}
		relevant[pid] = append(relevant[pid], product)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return ev, fmt.Errorf("evaluate: %w", err)
	}
	ev.Evaluated = len(relevant)
	ids := make([]string, 0, len(relevant))
	for pid := range relevant {
		ids = append(ids, pid)
	}
	sort.Strings(ids)
	fallbacks, total := 0, 0
	for _, method := range []struct {
		stmt  string
		cases *[]recommend.Case
		m     *recommend.Metrics
	}{{evalModel, &ev.ModelCases, &ev.Model}, {evalPopularity, &ev.PopularityCases, &ev.Popularity}} {
		recs, err := scanRecommendations(ctx, conn, method.stmt, params(method.stmt, split, o, k, nil), o.WindowDays)
		if err != nil {
			return ev, fmt.Errorf("evaluate: %w", err)
		}
		for _, pid := range ids {
			c := recommend.Case{ProfileID: pid, Relevant: relevant[pid]}
			for _, r := range recs[pid] {
				c.Recommended = append(c.Recommended, r.ProductID)
				if method.m == &ev.Model {
					total++
					if r.Fallback {
						fallbacks++
					}
				}
			}
			*method.cases = append(*method.cases, c)
		}
		*method.m = recommend.Evaluate(*method.cases, k)
	}
	if total > 0 {
		ev.FallbackShare = float64(fallbacks) / float64(total)
	}
	ev.Seconds = time.Since(start).Seconds()
	return ev, nil
}
