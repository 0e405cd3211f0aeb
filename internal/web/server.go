// Package web serves Atrium's HTTP interfaces: the collection API (delegated
// to package collect), the REST API under /api/v1 and the operational
// endpoints. One route table lists every route with the permission it needs;
// it doubles as the permission matrix (docs/api.md).
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/atrium-cdp/atrium/internal/collect"
	"github.com/atrium-cdp/atrium/internal/dedupe"
	"github.com/atrium-cdp/atrium/internal/imports"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/segments"
	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/workspace"
)

// Permission a route needs.
type Permission string

// Permissions. Every API token is an admin token for now; the column exists
// so that narrower roles only change the table below.
const (
	Public   Permission = "public"    // health, readiness, metrics
	WriteKey Permission = "write_key" // collection: the source's public write key
	Read     Permission = "read"      // API token, read
	Admin    Permission = "admin"     // API token, changes data or configuration
)

// Store is what the API reads and changes directly.
type Store interface {
	Survivor(ctx context.Context, id string) (string, error)
	Lookup(ctx context.Context, idType, value string) (string, error)
	IdentityTypes(ctx context.Context) ([]string, error)
	Profile(ctx context.Context, id string) (store.ProfileView, error)
	ProfileEvents(ctx context.Context, id string, limit int, before *store.EventCursor) ([]store.EventView, error)
	ProfileMerges(ctx context.Context, id string) ([]model.Merge, error)
	ProfileScores(ctx context.Context, id string) (map[string]store.ScoreValue, error)
	Ping(ctx context.Context) error
}

// Merger changes profiles through the ingest writer.
type Merger interface {
	Merge(ctx context.Context, a, b, actor string) (model.Merge, error)
	Unmerge(ctx context.Context, mergeID, actor string) (model.Merge, error)
}

// Keyer turns lookup values into identity keys.
type Keyer interface {
	EmailKey(raw string) (string, bool)
	PhoneKey(raw, region string) (string, bool)
}

// Deps are the services the handlers use.
type Deps struct {
	Store   Store
	Merger  Merger
	Admin   *workspace.Service
	Auth    *Auth
	Collect *collect.Handler
	Keyer   Keyer
	Region  string
	Gather  prometheus.Gatherer
	Logger  *slog.Logger
	Ready   func() bool
	// Settings and PutSetting read and write workspace settings; Rules
	// applies identity rules to the running writer.
	Settings   Settings
	PutSetting func(ctx context.Context, key, value string) error
	Rules      IdentityRules
	// Quality computes the data-quality report.
	Quality QualityReporter
	// Imports runs file imports (nil disables the imports API).
	Imports *imports.Jobs
	// Segments manages dynamic segments (nil disables the segments API).
	Segments *segments.Service
	// Dedupe runs probabilistic deduplication, its review queue and golden
	// records (nil answers 503 on those routes).
	Dedupe *dedupe.Service
	// Recommend serves product recommendations (nil answers 500 on that route).
	Recommend Recommender
	// ComputedTraits manages computed trait definitions and Scores runs
	// the "scores run" steps (nil answers 501 on their routes).
	ComputedTraits ComputedTraits
	Scores         ScoresRunner
	// Destinations manages activation destinations and deliveries (nil
	// answers 503 on their routes).
	Destinations Destinations
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type route struct {
	method, pattern string
	perm            Permission
	h               http.Handler
}

// NewRouter returns the handler for every route.
func NewRouter(d Deps) http.Handler {
	api := &api{d: d}
	routes := []route{
		{"GET", "/healthz", Public, http.HandlerFunc(health)},
		{"GET", "/readyz", Public, api.wrap(api.ready)},
		{"GET", "/metrics", Public, promhttp.HandlerFor(d.Gather, promhttp.HandlerOpts{})},

		{"GET", "/api/v1/profiles/lookup", Read, api.wrap(api.lookupProfile)},
		{"GET", "/api/v1/profiles/{id}", Read, api.wrap(api.getProfile)},
		{"GET", "/api/v1/profiles/{id}/events", Read, api.wrap(api.profileEvents)},
		{"GET", "/api/v1/profiles/{id}/merges", Read, api.wrap(api.profileMerges)},
		{"GET", "/api/v1/profiles/{id}/recommendations", Read, api.wrap(api.profileRecommendations)},
		{"POST", "/api/v1/profiles/{id}/merge", Admin, api.wrap(api.mergeProfiles)},
		{"POST", "/api/v1/merges/{id}/undo", Admin, api.wrap(api.undoMerge)},

		{"GET", "/api/v1/quality", Read, api.wrap(api.qualityReport)},
		{"GET", "/api/v1/settings/identity", Read, api.wrap(api.getIdentitySettings)},
		{"PUT", "/api/v1/settings/identity", Admin, api.wrap(api.putIdentitySettings)},

		{"POST", "/api/v1/imports", Admin, api.wrap(api.createImport)},
		{"GET", "/api/v1/imports/{id}", Read, api.wrap(api.getImport)},

		{"POST", "/api/v1/dedupe/run", Admin, api.wrap(api.runDedupe)},
		{"GET", "/api/v1/dedupe/reviews", Read, api.wrap(api.listReviews)},
		{"GET", "/api/v1/dedupe/reviews/{id}", Read, api.wrap(api.getReview)},
		{"POST", "/api/v1/dedupe/reviews/{id}/accept", Admin, api.wrap(api.acceptReview)},
		{"POST", "/api/v1/dedupe/reviews/{id}/reject", Admin, api.wrap(api.rejectReview)},
		{"GET", "/api/v1/profiles/{id}/golden", Read, api.wrap(api.goldenRecord)},
		{"GET", "/api/v1/settings/survivorship", Read, api.wrap(api.getSurvivorship)},
		{"PUT", "/api/v1/settings/survivorship", Admin, api.wrap(api.putSurvivorship)},

		{"GET", "/api/v1/segments", Read, api.wrap(api.listSegments)},
		{"POST", "/api/v1/segments", Admin, api.wrap(api.createSegment)},
		{"POST", "/api/v1/segments/preview", Read, api.wrap(api.previewSegment)},
		{"POST", "/api/v1/segments/refresh", Admin, api.wrap(api.refreshSegments)},
		{"GET", "/api/v1/segments/changes", Read, api.wrap(api.segmentChanges)},
		{"GET", "/api/v1/segments/{id}", Read, api.wrap(api.getSegment)},
		{"PUT", "/api/v1/segments/{id}", Admin, api.wrap(api.updateSegment)},
		{"DELETE", "/api/v1/segments/{id}", Admin, api.wrap(api.deleteSegment)},
		{"GET", "/api/v1/segments/{id}/members", Read, api.wrap(api.segmentMembers)},
		{"GET", "/api/v1/segments/{id}/overlap", Read, api.wrap(api.overlapSegments)},
		{"GET", "/api/v1/segments/{id}/sizes", Read, api.wrap(api.segmentSizes)},
		{"GET", "/api/v1/segments/{id}/export", Admin, api.wrap(api.exportSegment)},

		{"GET", "/api/v1/destinations", Read, api.wrap(api.listDestinations)},
		{"POST", "/api/v1/destinations", Admin, api.wrap(api.createDestination)},
		{"GET", "/api/v1/destinations/{id}", Read, api.wrap(api.getDestination)},
		{"PUT", "/api/v1/destinations/{id}", Admin, api.wrap(api.updateDestination)},
		{"DELETE", "/api/v1/destinations/{id}", Admin, api.wrap(api.deleteDestination)},
		{"GET", "/api/v1/destinations/{id}/deliveries", Read, api.wrap(api.destinationDeliveries)},
		{"POST", "/api/v1/destinations/{id}/replay", Admin, api.wrap(api.replayDeliveries)},
		{"POST", "/api/v1/destinations/{id}/test", Admin, api.wrap(api.testDestination)},
		{"POST", "/api/v1/destinations/{id}/sync", Admin, api.wrap(api.syncDestination)},

		{"GET", "/api/v1/computed-traits", Read, api.wrap(api.listComputedTraits)},
		{"POST", "/api/v1/computed-traits", Admin, api.wrap(api.createComputedTrait)},
		{"PUT", "/api/v1/computed-traits", Admin, api.wrap(api.applyComputedTraits)},
		{"GET", "/api/v1/computed-traits/{name}", Read, api.wrap(api.getComputedTrait)},
		{"PUT", "/api/v1/computed-traits/{name}", Admin, api.wrap(api.updateComputedTrait)},
		{"DELETE", "/api/v1/computed-traits/{name}", Admin, api.wrap(api.deleteComputedTrait)},
		{"POST", "/api/v1/scores/run", Admin, api.wrap(api.runScores)},

		{"GET", "/api/v1/sources", Admin, api.wrap(api.listSources)},
		{"POST", "/api/v1/sources", Admin, api.wrap(api.createSource)},
		{"DELETE", "/api/v1/sources/{id}", Admin, api.wrap(api.revokeSource)},
		{"GET", "/api/v1/tokens", Admin, api.wrap(api.listTokens)},
		{"POST", "/api/v1/tokens", Admin, api.wrap(api.createToken)},
		{"DELETE", "/api/v1/tokens/{id}", Admin, api.wrap(api.revokeToken)},
	}
	for _, call := range []string{"batch", "identify", "track", "page", "screen", "group", "alias", "i", "t", "p", "s", "g", "a"} {
		routes = append(routes,
			route{"POST", "/v1/" + call, WriteKey, d.Collect.ServeCall(call)},
			route{"OPTIONS", "/v1/" + call, Public, http.HandlerFunc(collect.Preflight)})
	}
	mux := http.NewServeMux()
	for _, rt := range routes {
		h := rt.h
		if rt.perm == Read || rt.perm == Admin {
			h = d.Auth.Require(rt.perm, h, api)
		}
		mux.Handle(rt.method+" "+rt.pattern, h)
	}
	return withRequestID(routeErrors(mux, api))
}

// routeErrors answers requests no route takes with the JSON error shape:
// 404 for an unknown path, 405 with an Allow header for a known path asked
// with another method (the mux works out which).
func routeErrors(mux *http.ServeMux, api *api) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r) // the mux sets the path values
			return
		}
		probe := &headerProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", probe.header.Get("Allow"))
			api.fail(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
				Message: r.Method + " is not allowed on " + r.URL.Path + " (allowed: " + probe.header.Get("Allow") + ")"})
			return
		}
		if probe.status == http.StatusMovedPermanently || probe.status == http.StatusTemporaryRedirect || probe.status == http.StatusPermanentRedirect {
			h.ServeHTTP(w, r) // the mux's own path cleaning redirects
			return
		}
		api.fail(w, r, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such route: " + r.Method + " " + r.URL.Path})
	})
}

// headerProbe records the status and headers the mux's fallback handler
// would send, and drops its plain-text body.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(s int)           { p.status = s }

// Error is an error with the status and the safe message the client sees.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

type api struct {
	d Deps
	// createMu makes check-then-write one step where the store cannot:
	// "exists? then create" for computed traits (two concurrent creates of
	// one name give one 201 and one 409), and "does a destination route
	// it? then delete" for segments against destination writes.
	createMu sync.Mutex
}

// wrap adapts a handler returning error: known errors map to their status and
// a safe message; anything else is logged with the request id and answered
// with a generic 500, never with its text.
func (a *api) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.fail(w, r, err)
		}
	})
}

func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	var ie *workspace.InputError
	switch {
	case errors.As(err, &e):
	case errors.As(err, &ie):
		e = &Error{Status: http.StatusBadRequest, Code: "invalid_" + ie.Field, Message: ie.Error()}
	case errors.Is(err, store.ErrNotFound):
		e = &Error{Status: http.StatusNotFound, Code: "not_found", Message: sentinelMessage(err, store.ErrNotFound)}
	case errors.Is(err, store.ErrConflict):
		e = &Error{Status: http.StatusConflict, Code: "conflict", Message: sentinelMessage(err, store.ErrConflict)}
	case errors.Is(err, context.Canceled):
		e = &Error{Status: 499, Code: "canceled", Message: "request canceled"}
	default:
		a.d.Logger.Error("request failed", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
		e = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error (request " + requestID(r) + ")"}
	}
	writeJSON(w, e.Status, map[string]any{"error": map[string]string{"code": e.Code, "message": e.Message}})
}

// sentinelMessage turns `profile "x": not found` into `profile "x" not
// found`: our own code writes these errors, naming ids, never personal data.
func sentinelMessage(err, sentinel error) string {
	msg := err.Error()
	if cut, ok := strings.CutSuffix(msg, ": "+sentinel.Error()); ok {
		msg = cut
		if sentinel == store.ErrNotFound {
			msg += " not found"
		}
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *api) ready(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if (a.d.Ready != nil && !a.d.Ready()) || a.d.Store.Ping(ctx) != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

type ctxKey int

const requestIDKey ctxKey = 0

func withRequestID(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey).(string)
	return id
}
