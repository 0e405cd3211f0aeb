package collect

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
)

// Sources authenticates write keys. It returns store.ErrNotFound for an
// unknown or revoked key.
type Sources interface {
	SourceByWriteKey(ctx context.Context, key string) (store.Source, error)
}

// Submitter durably stores messages (the ingestion log).
type Submitter interface {
	Submit(ctx context.Context, msgs []model.Message) (ingest.Result, error)
}

// Handler serves the Segment-spec collection endpoints.
type Handler struct {
	dec     *Decoder
	sources Sources
	log     Submitter
	logger  *slog.Logger
	m       *metrics
}

type metrics struct {
	messages *prometheus.CounterVec
	requests *prometheus.CounterVec
}

// NewHandler builds the collection handler; its metrics are registered on reg.
func NewHandler(dec *Decoder, sources Sources, log Submitter, logger *slog.Logger, reg prometheus.Registerer) *Handler {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "atrium_collect_messages_total",
			Help: "Messages received by the collection API, by result (accepted, duplicate, rejected) and reason code."}, []string{"result", "reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "atrium_collect_requests_total",
			Help: "Collection requests by HTTP status."}, []string{"status"}),
	}
	reg.MustRegister(m.messages, m.requests)
	return &Handler{dec: dec, sources: sources, log: log, logger: logger, m: m}
}

// Response is the body of every collection answer. Success is what Segment
// SDKs read; the rest is Atrium's detail.
type Response struct {
	Success    bool        `json:"success"`
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Rejected   []Rejection `json:"rejected"`
	Error      *ErrorBody  `json:"error,omitempty"`
}

// ErrorBody is a machine-readable refusal.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ServeCall handles POST /v1/{call} for one endpoint name ("batch", "identify",
// "i", ...).
func (h *Handler) ServeCall(endpoint string) http.HandlerFunc {
	if t, ok := model.ParseMessageType(endpoint); ok {
		endpoint = string(t)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		cors(w, r)
		status, resp := h.serve(r, endpoint)
		h.m.requests.WithLabelValues(strconv.Itoa(status)).Inc()
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="atrium write key"`)
		}
		writeJSON(w, status, resp)
	}
}

// Preflight answers browsers' CORS preflight requests.
func Preflight(w http.ResponseWriter, r *http.Request) {
	cors(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func cors(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = "*"
	} else {
		h.Add("Vary", "Origin")
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, Content-Encoding")
	h.Set("Access-Control-Max-Age", "86400")
}

func (h *Handler) serve(r *http.Request, endpoint string) (int, Response) {
	resp := Response{Rejected: []Rejection{}}
	d, err := h.dec.Decode(endpoint, r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"), r.Body)
	if err != nil {
		var re *RequestError
		if errors.As(err, &re) {
			h.m.messages.WithLabelValues("rejected", re.Code).Inc()
			resp.Error = &ErrorBody{Code: re.Code, Message: re.Message}
			return re.Status, resp
		}
		h.logger.Warn("collect: reading request failed", "err", err)
		resp.Error = &ErrorBody{Code: "bad_request", Message: "the request body could not be read"}
		return http.StatusBadRequest, resp
	}
	key := d.WriteKey
	if u, _, ok := r.BasicAuth(); ok && u != "" {
		key = u
	}
	if key == "" {
		resp.Error = &ErrorBody{Code: "missing_write_key", Message: "send the source's write key as the HTTP Basic user name or as \"writeKey\" in the body"}
		return http.StatusUnauthorized, resp
	}
	src, err := h.sources.SourceByWriteKey(r.Context(), key)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			resp.Error = &ErrorBody{Code: "invalid_write_key", Message: "the write key is unknown or its source was revoked; nothing was stored"}
			return http.StatusUnauthorized, resp
		}
		h.logger.Error("collect: source lookup failed", "err", err)
		resp.Error = &ErrorBody{Code: "unavailable", Message: "temporarily unable to store messages; retry"}
		return http.StatusServiceUnavailable, resp
	}
	if d.Rejected != nil {
		resp.Rejected = d.Rejected
	}
	for _, rj := range d.Rejected {
		h.m.messages.WithLabelValues("rejected", rj.Code).Inc()
	}
	if len(d.Messages) > 0 {
		for i := range d.Messages {
			d.Messages[i].SourceID = src.ID
		}
		res, err := h.log.Submit(r.Context(), d.Messages)
		if err != nil {
			h.logger.Error("collect: commit failed", "messages", len(d.Messages), "err", err)
			resp.Error = &ErrorBody{Code: "unavailable", Message: "the messages were not stored; retry (duplicates are detected by messageId)"}
			return http.StatusServiceUnavailable, resp
		}
		resp.Accepted, resp.Duplicates = res.Accepted, len(res.Duplicates)
		h.m.messages.WithLabelValues("accepted", "").Add(float64(res.Accepted))
		h.m.messages.WithLabelValues("duplicate", "").Add(float64(len(res.Duplicates)))
	}
	if endpoint != "batch" && len(d.Rejected) > 0 {
		rj := d.Rejected[0]
		resp.Error = &ErrorBody{Code: rj.Code, Message: rj.Reason}
		if rj.Code == "message_too_large" {
			return http.StatusRequestEntityTooLarge, resp
		}
		return http.StatusBadRequest, resp
	}
	resp.Success = true
	return http.StatusOK, resp
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}
