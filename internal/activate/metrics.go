package activate

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the dispatcher's Prometheus series, labelled by destination
// id (a handful per workspace, so the label stays bounded).
type Metrics struct {
	attempts *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
	queued   *prometheus.CounterVec
}

// NewMetrics registers the activation series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "atrium_delivery_attempts_total",
			Help: "Delivery attempts by destination and outcome (delivered, retry, dead, excluded)."}, []string{"destination", "outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "atrium_delivery_attempt_seconds",
			Help: "Duration of delivery attempts (request to answer).", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, []string{"destination"}),
		queued: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "atrium_deliveries_queued_total",
			Help: "Deliveries written to the queue by destination and status (pending or excluded)."}, []string{"destination", "status"}),
	}
	reg.MustRegister(m.attempts, m.seconds, m.queued)
	return m
}

func (m *Metrics) attempt(dest string, s Status, retry bool, took time.Duration) {
	if m == nil {
		return
	}
	outcome := string(s)
	if retry {
		outcome = "retry"
	}
	m.attempts.WithLabelValues(dest, outcome).Inc()
	if took > 0 {
		m.seconds.WithLabelValues(dest).Observe(took.Seconds())
	}
}

func (m *Metrics) enqueued(dest string, c Counts) {
	if m == nil {
		return
	}
	m.queued.WithLabelValues(dest, string(StatusPending)).Add(float64(c.Included))
	m.queued.WithLabelValues(dest, string(StatusExcluded)).Add(float64(c.Excluded))
}
