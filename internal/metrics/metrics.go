// Package metrics defines wpbridge's Prometheus metrics in one place. The
// collectors are registered on a registry the caller owns, never globally.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every collector wpbridge updates.
type Metrics struct {
	reg *prometheus.Registry

	WebhooksReceived *prometheus.CounterVec // action, status (HTTP status class of the answer)
	WebhooksRejected *prometheus.CounterVec // reason (max_pending): webhooks refused before being stored
	AckSeconds       prometheus.Histogram   // time from request to answer for webhooks
	JobsFinished     *prometheus.CounterVec // action, outcome (done, ignored, failed, retry, snoozed)
	JobSeconds       prometheus.Histogram   // time one round of work takes
	Coalesced        prometheus.Counter     // webhooks covered by another webhook's round
	APIRequests      *prometheus.CounterVec // api (activecampaign, wordpress), status code
	Paused           *prometheus.GaugeVec   // reason; 1 while work is paused
	QueueDepth       prometheus.GaugeFunc   // set by the queue through SetDepthFunc
	depth            func() float64

	sentMu sync.Mutex
	sent   map[string]*atomic.Uint64 // api -> requests sent by HTTPClient(api)
}

// New creates the collectors on a fresh registry, with Go and process metrics.
func New() *Metrics {
	m := newMetrics()
	m.reg.MustRegister(m.WebhooksReceived, m.WebhooksRejected, m.AckSeconds, m.JobsFinished, m.JobSeconds, m.Coalesced,
		m.APIRequests, m.Paused, m.QueueDepth,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Discard returns metrics that count but are served nowhere: for code that
// needs a *Metrics where nothing will read them (tests, wpbridge check).
// Its Handler serves an empty page.
func Discard() *Metrics { return newMetrics() }

// newMetrics creates the collectors, registered nowhere.
func newMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), sent: map[string]*atomic.Uint64{}}
	m.WebhooksReceived = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wpbridge_webhooks_received_total", Help: "Webhooks received, by action and answer status.",
	}, []string{"action", "status"})
	m.WebhooksRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wpbridge_webhooks_rejected_total", Help: "Webhooks refused before being stored, by reason (max_pending: MAX_PENDING webhooks were pending).",
	}, []string{"reason"})
	m.AckSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "wpbridge_webhook_ack_seconds", Help: "Time to answer a webhook.",
		Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2, 4, 8},
	})
	m.JobsFinished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wpbridge_jobs_total", Help: "Rounds of work, by action and outcome.",
	}, []string{"action", "outcome"})
	m.JobSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "wpbridge_job_seconds", Help: "Time one round of work for a contact takes.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
	})
	m.Coalesced = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "wpbridge_webhooks_coalesced_total", Help: "Webhooks covered by another webhook's round of work.",
	})
	m.APIRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wpbridge_api_requests_total", Help: "Requests to ActiveCampaign and WordPress, by outcome.",
	}, []string{"api", "outcome"})
	m.Paused = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "wpbridge_paused", Help: "1 while work is paused, by reason.",
	}, []string{"reason"})
	m.QueueDepth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "wpbridge_webhooks_pending", Help: "Webhooks stored and not yet finished.",
	}, func() float64 {
		if m.depth == nil {
			return 0
		}
		return m.depth()
	})
	return m
}

// SetDepthFunc sets the function that reports the number of pending webhooks.
// Call it before serving metrics.
func (m *Metrics) SetDepthFunc(f func() float64) { m.depth = f }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// HTTPClient returns an HTTP client that counts every request to api in
// APIRequests, by status code ("error" when no answer came). It follows no
// redirects, so credentials never travel to another host.
//
// Its transport keeps up to 32 idle connections per host (Go's default is 2),
// so a burst of AC requests or concurrent WordPress requests reuses
// connections instead of opening (and, over TLS, handshaking) new ones.
func (m *Metrics) HTTPClient(api string) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	return &http.Client{
		Transport:     &countingTransport{api: api, next: tr, counter: m.APIRequests, sent: m.sentTo(api)},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Sent returns how many requests the clients of HTTPClient(api) have sent
// so far, answered or not: a plain total the queue reads after each round
// to learn what a round costs.
func (m *Metrics) Sent(api string) uint64 { return m.sentTo(api).Load() }

func (m *Metrics) sentTo(api string) *atomic.Uint64 {
	m.sentMu.Lock()
	defer m.sentMu.Unlock()
	c := m.sent[api]
	if c == nil {
		c = new(atomic.Uint64)
		m.sent[api] = c
	}
	return c
}

type countingTransport struct {
	api     string
	next    http.RoundTripper
	counter *prometheus.CounterVec
	sent    *atomic.Uint64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.sent.Add(1)
	resp, err := t.next.RoundTrip(r)
	outcome := "error"
	if err == nil {
		outcome = strconv.Itoa(resp.StatusCode)
	}
	t.counter.WithLabelValues(t.api, outcome).Inc()
	return resp, err
}
