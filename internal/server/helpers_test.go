package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/metrics"
	"github.com/wpbridge/wpbridge/internal/testing/syncbuf"
	"github.com/wpbridge/wpbridge/internal/webhook"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// Access keys used by the tests. They never may appear in the log.
const (
	key1 = "k3y-one-Secret-0001"
	key2 = "k3y-two-Secret-0002"
)

// fakeQueue is a Queue whose behaviour each test sets through function
// fields; it records what was submitted and how often Wait was called.
type fakeQueue struct {
	SubmitFunc func(ctx context.Context, w webhook.Webhook) (webhook.Outcome, error)
	WaitFunc   func(ctx context.Context, id int64, d time.Duration) (webhook.Outcome, error)
	ReadyFunc  func(ctx context.Context) error

	mu        sync.Mutex
	submitted []webhook.Webhook
	waits     int
}

func (q *fakeQueue) Arriving() func() { return func() {} }

func (q *fakeQueue) Submit(ctx context.Context, w webhook.Webhook) (webhook.Outcome, error) {
	q.mu.Lock()
	q.submitted = append(q.submitted, w)
	q.mu.Unlock()
	if q.SubmitFunc == nil {
		return webhook.Outcome{WebhookID: 1, State: webhook.StateDone}, nil
	}
	return q.SubmitFunc(ctx, w)
}

func (q *fakeQueue) Wait(ctx context.Context, id int64, d time.Duration) (webhook.Outcome, error) {
	q.mu.Lock()
	q.waits++
	q.mu.Unlock()
	if q.WaitFunc == nil {
		return webhook.Outcome{WebhookID: id, State: webhook.StateDone}, nil
	}
	return q.WaitFunc(ctx, id, d)
}

func (q *fakeQueue) Ready(ctx context.Context) error {
	if q.ReadyFunc == nil {
		return nil
	}
	return q.ReadyFunc(ctx)
}

// reset forgets what was recorded and restores the default behaviour.
func (q *fakeQueue) reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.submitted, q.waits = nil, 0
	q.SubmitFunc, q.WaitFunc, q.ReadyFunc = nil, nil, nil
}

func (q *fakeQueue) recorded() ([]webhook.Webhook, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]webhook.Webhook(nil), q.submitted...), q.waits
}

// logBuffer collects log output safely across goroutines.
type logBuffer struct{ syncbuf.Buffer }

// entries decodes the JSON log lines.
func (b *logBuffer) entries(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line is not JSON: %v", err)
		}
		out = append(out, e)
	}
	return out
}

// newTestServer builds a server with a JSON debug logger writing to the
// returned buffer.
func newTestServer(t *testing.T, opts Options, q Queue) (*Server, *logBuffer) {
	t.Helper()
	buf := &logBuffer{}
	log := logrus.New()
	log.SetOutput(buf)
	log.SetLevel(logrus.DebugLevel)
	log.SetFormatter(&logrus.JSONFormatter{})
	if opts.AccessKeys == nil {
		opts.AccessKeys = []string{key1, key2}
	}
	s, err := New(opts, q, log, metrics.New())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, buf
}

// send serves one request and returns the recorder.
func send(s http.Handler, method, target, ctype string, body io.Reader, mutate func(*http.Request)) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if mutate != nil {
		mutate(req)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// decode reads the JSON answer of every endpoint.
func decode(t *testing.T, rec *httptest.ResponseRecorder) reply {
	t.Helper()
	var r reply
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("answer is not JSON (%d): %v", rec.Code, err)
	}
	return r
}

var errStore = errors.New("database is locked")
