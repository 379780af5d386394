// Package metrics exposes custos's Prometheus metrics. Request metrics are
// recorded on the hot path through label children resolved once per model
// and route; backend and gate state are read from their owners at scrape
// time, so nothing has to push them.
package metrics

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds custos's registry and its request metrics.
type Metrics struct {
	reg *prometheus.Registry

	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	ttfb        *prometheus.HistogramVec
	queued      *prometheus.GaugeVec
	inFlight    *prometheus.GaugeVec
	retries     *prometheus.CounterVec
	fallbacks   *prometheus.CounterVec
	interrupted *prometheus.CounterVec

	mu     sync.Mutex
	routes map[routeKey]*Route
}

type routeKey struct{ model, route string }

// latencyBuckets span a fast gateway error (100 µs) to a long generation (10 min).
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// New returns the metrics, registered with Go and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custos_requests_total", Help: "Inference requests by model, route and HTTP status code.",
		}, []string{"model", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "custos_request_duration_seconds", Help: "Time from request to the last byte of the response.", Buckets: latencyBuckets,
		}, []string{"model", "route"}),
		ttfb: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "custos_time_to_first_byte_seconds", Help: "Time from request to the first byte of the response body.", Buckets: latencyBuckets,
		}, []string{"model", "route"}),
		queued: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "custos_queue_depth", Help: "Requests waiting for a slot of the model's backend.",
		}, []string{"model"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "custos_in_flight_requests", Help: "Requests holding a slot of the model's backend.",
		}, []string{"model"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custos_retries_total", Help: "Requests sent again after the backend failed before any byte reached the client.",
		}, []string{"model"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custos_fallback_requests_total", Help: "Requests served by the fallback upstream.",
		}, []string{"model"}),
		interrupted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "custos_responses_interrupted_total",
			Help: "Responses the upstream broke off after they had begun to reach the client (counted under their status in custos_requests_total too): an event stream ended with an error event, a plain body cut short.",
		}, []string{"model", "route"}),
		routes: map[routeKey]*Route{},
	}
	m.reg.MustRegister(m.requests, m.latency, m.ttfb, m.queued, m.inFlight, m.retries, m.fallbacks, m.interrupted,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// MustRegister adds collectors to the registry.
func (m *Metrics) MustRegister(cs ...prometheus.Collector) { m.reg.MustRegister(cs...) }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Route is the metrics of one model and route, resolved once.
type Route struct {
	model, route string
	requests     *prometheus.CounterVec
	codes        sync.Map // int → prometheus.Counter
	Latency      prometheus.Observer
	TTFB         prometheus.Observer
	Queued       prometheus.Gauge
	InFlight     prometheus.Gauge
	Retries      prometheus.Counter
	Fallbacks    prometheus.Counter
	Interrupted  prometheus.Counter
}

// Route returns the metrics of a model and route.
func (m *Metrics) Route(model, route string) *Route {
	k := routeKey{model, route}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.routes[k]; r != nil {
		return r
	}
	r := &Route{
		model: model, route: route, requests: m.requests,
		Latency:     m.latency.WithLabelValues(model, route),
		TTFB:        m.ttfb.WithLabelValues(model, route),
		Queued:      m.queued.WithLabelValues(model),
		InFlight:    m.inFlight.WithLabelValues(model),
		Retries:     m.retries.WithLabelValues(model),
		Fallbacks:   m.fallbacks.WithLabelValues(model),
		Interrupted: m.interrupted.WithLabelValues(model, route),
	}
	m.routes[k] = r
	return r
}

// UnroutedModel is the model label of requests answered before they
// reached a model: gate closed, shutting down, a bad body, an unknown
// model. One label for them all keeps a client sending random model
// names from creating series.
const UnroutedModel = "-"

// CountUnrouted records a request on route answered before it reached a
// model: it has only a status, no model whose latency, queue or retries
// to record.
func (m *Metrics) CountUnrouted(route string, code int) {
	m.requests.WithLabelValues(UnroutedModel, route, strconv.Itoa(code)).Inc()
}

// Count records one finished request with its status code.
func (r *Route) Count(code int) {
	if c, ok := r.codes.Load(code); ok {
		c.(prometheus.Counter).Inc()
		return
	}
	c := r.requests.WithLabelValues(r.model, r.route, strconv.Itoa(code))
	r.codes.Store(code, c)
	c.Inc()
}
