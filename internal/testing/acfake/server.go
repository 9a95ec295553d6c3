// Package acfake is an in-process fake of the ActiveCampaign API v3 for tests: the
// contact, tag, field and user endpoints wpbridge calls, string ids, AC's envelopes and
// error bodies, limit/offset paging, Api-Token auth (403 otherwise) and a sliding 1s
// rate limit answering 429 with Retry-After; and v1's contact_view, which WP
// Fusion calls (v1.go). Faults can be injected (Inject, SetDown,
// SetDelay) and every request is recorded (Requests, MaxInWindow, Throttled).
//
//	srv := acfake.NewServer(acfake.Config{APIKey: "k", RateLimit: 5})
//	defer srv.Close()
//	id := srv.AddContact(acfake.Contact{Email: "a@example.com", Tags: []string{"VIP"}})
//	client, _ := activecampaign.NewClient(srv.URL(), "k")
package acfake

import (
	"crypto/subtle"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Config configures a Server.
type Config struct {
	APIKey     string // expected Api-Token; empty accepts any non-empty token
	RateLimit  int    // requests accepted per sliding 1s window (429 answers don't count); 0 = unlimited
	RetryAfter int    // seconds sent in Retry-After on 429; default 1
	// Latency is added to every answer from the start, as SetDelay does (the
	// real API answers in ~100-300 ms); the rate limit counts arrivals.
	Latency time.Duration
	// NewContactID, when set, gives the id of each contact the server
	// creates itself (POST /contact/sync, AddContact without an id) instead
	// of its own sequence: tests that share one WordPress draw ids no other
	// test uses, as a contact id links a WordPress user.
	NewContactID func() string
}

// Contact is a contact as seen by tests.
type Contact struct {
	ID, Email, FirstName, LastName, Phone, Orgname string
	Fields                                         map[string]string // custom field id -> value
	Tags                                           []string          // tag names; unknown names create tags
}

// FieldWrite is one value written by PUT /contacts/{id}.
type FieldWrite struct {
	Field, Value string
	At           time.Time
}

// Request is one request received by the server. Path is the raw URL path including
// the /api/3 prefix; At is the arrival time; Status the status answered.
type Request struct {
	Method, Path string
	Query        url.Values
	At           time.Time
	Status       int
}

// Server is the fake ActiveCampaign API. All methods are goroutine-safe.
type Server struct {
	cfg Config
	ts  *httptest.Server

	mu          sync.Mutex
	contacts    map[string]*contact
	fields      map[string]*field
	tags        map[string]string // id -> name
	seq         map[string]int    // id sequences per kind
	writes      map[string][]FieldWrite
	requests    []Request
	gen         int         // bumped by ResetRequests
	window      []time.Time // accepted arrivals in the last second
	throttled   int
	injStatus   int
	injN        int
	downStatus  int
	delay       time.Duration
	createdTime time.Time
	lists       *listState // writes.go: lists and list memberships, made on first use
}

type contact struct {
	Contact
	rows  map[string]*row // field id -> value row
	links []tagLink
}

type row struct{ id, value string }

type tagLink struct{ id, tag string }

type field struct{ id, title, perstag, typ string }

// NewServer starts a fake on 127.0.0.1. Close it when done.
func NewServer(cfg Config) *Server {
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 1
	}
	s := &Server{
		cfg:         cfg,
		contacts:    map[string]*contact{},
		fields:      map[string]*field{},
		tags:        map[string]string{},
		seq:         map[string]int{},
		writes:      map[string][]FieldWrite{},
		createdTime: time.Now(),
		delay:       cfg.Latency,
	}
	s.ts = httptest.NewServer(s)
	return s
}

// URL returns the base URL without /api/3.
func (s *Server) URL() string { return s.ts.URL }

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// nextID returns the next id of kind as a decimal string; callers hold s.mu.
func (s *Server) nextID(kind string) string {
	s.seq[kind]++
	return strconv.Itoa(s.seq[kind])
}

// newContactID is the id of a contact the server creates.
func (s *Server) newContactID() string {
	if s.cfg.NewContactID != nil {
		return s.cfg.NewContactID()
	}
	return s.nextID("contact")
}

// bump makes later generated ids of kind larger than a caller-chosen numeric id.
func (s *Server) bump(kind, id string) {
	if n, err := strconv.Atoi(id); err == nil && n > s.seq[kind] {
		s.seq[kind] = n
	}
}

// AddContact stores c and returns its id (assigned when c.ID is empty).
func (s *Server) AddContact(c Contact) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == "" {
		c.ID = s.newContactID()
	} else {
		s.bump("contact", c.ID)
	}
	ct := &contact{Contact: Contact{ID: c.ID, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName,
		Phone: c.Phone, Orgname: c.Orgname}, rows: map[string]*row{}}
	for fid, v := range c.Fields {
		ct.rows[fid] = &row{id: s.nextID("row"), value: v}
	}
	for _, name := range c.Tags {
		ct.links = append(ct.links, tagLink{id: s.nextID("contactTag"), tag: s.tagIDLocked(name)})
	}
	s.contacts[c.ID] = ct
	return c.ID
}

// Contact returns the current state of contact id, including written field values.
func (s *Server) Contact(id string) (Contact, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ct, ok := s.contacts[id]
	if !ok {
		return Contact{}, false
	}
	out := ct.Contact
	out.Fields = map[string]string{}
	for fid, r := range ct.rows {
		out.Fields[fid] = r.value
	}
	out.Tags = nil
	for _, l := range ct.links {
		out.Tags = append(out.Tags, s.tags[l.tag])
	}
	return out, true
}

// DeleteContact removes contact id; later requests for it get 404.
func (s *Server) DeleteContact(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.contacts, id)
}

// AddField creates a custom field and returns its id. perstag is stored without %.
func (s *Server) AddField(title, perstag, typ string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID("field")
	s.fields[id] = &field{id: id, title: title, perstag: trimPercent(perstag), typ: typ}
	return id
}

// AddTag creates a tag (or finds one with that name) and returns its id.
func (s *Server) AddTag(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tagIDLocked(name)
}

func (s *Server) tagIDLocked(name string) string {
	for id, n := range s.tags {
		if n == name {
			return id
		}
	}
	id := s.nextID("tag")
	s.tags[id] = name
	return id
}

// FieldWrites returns every value written for contactID by PUT /contacts/{id}, in order.
func (s *Server) FieldWrites(contactID string) []FieldWrite {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]FieldWrite(nil), s.writes[contactID]...)
}

// Requests returns the completed requests since the last ResetRequests, by arrival.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	out := append([]Request(nil), s.requests...)
	s.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// ResetRequests forgets the recorded requests and the Throttled count (not the rate
// limit window).
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.throttled = nil, 0
	s.gen++
}

// MaxInWindow returns the largest number of recorded (completed) requests that arrived
// within any window of length d, including those answered 429.
func (s *Server) MaxInWindow(d time.Duration) int {
	reqs := s.Requests()
	best, j := 0, 0
	for i := range reqs {
		for reqs[i].At.Sub(reqs[j].At) >= d {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// Throttled returns how many recorded requests were answered 429.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// Inject answers the next n requests with status (429 with Retry-After; a 2xx status
// gets an empty body, as during AC's outages). Rate limiting still applies first.
func (s *Server) Inject(status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injStatus, s.injN = status, n
}

// SetDown answers every request with status until SetDown(0).
func (s *Server) SetDown(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.downStatus = status
}

// SetDelay adds latency to every request (replacing Config.Latency).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	s.mu.Lock()
	gen, delay := s.gen, s.delay
	fault := 0
	if s.rateLimitedLocked(now) {
		fault = http.StatusTooManyRequests
	} else if s.downStatus != 0 {
		fault = s.downStatus
	} else if s.injN > 0 {
		fault = s.injStatus
		s.injN--
	}
	s.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	var status int
	switch {
	case fault != 0:
		status = s.writeFault(w, fault)
	case r.URL.Path == v1Path:
		status = s.routeV1(w, r)
	case !s.authorized(r):
		status = writeJSON(w, http.StatusForbidden, msg("Forbidden"))
	default:
		status = s.route(w, r)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.gen {
		return
	}
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: recordedQuery(r.URL.Query()), At: now, Status: status})
	if status == http.StatusTooManyRequests {
		s.throttled++
	}
}

// rateLimitedLocked applies the sliding 1s window; accepted arrivals are counted.
func (s *Server) rateLimitedLocked(now time.Time) bool {
	if s.cfg.RateLimit <= 0 {
		return false
	}
	keep := s.window[:0]
	for _, t := range s.window {
		if now.Sub(t) < time.Second {
			keep = append(keep, t)
		}
	}
	s.window = keep
	if len(s.window) >= s.cfg.RateLimit {
		return true
	}
	s.window = append(s.window, now)
	return false
}

func (s *Server) authorized(r *http.Request) bool {
	tok := r.Header.Get("Api-Token")
	if tok == "" {
		return false
	}
	return s.cfg.APIKey == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.APIKey)) == 1
}

func (s *Server) writeFault(w http.ResponseWriter, status int) int {
	switch {
	case status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(s.cfg.RetryAfter))
		return writeJSON(w, status, msg("Too Many Requests"))
	case status >= 200 && status <= 299:
		w.WriteHeader(status) // empty 2xx body
		return status
	case status >= 500:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("<html><body><h1>" + http.StatusText(status) + "</h1></body></html>"))
		return status
	default:
		return writeJSON(w, status, msg(http.StatusText(status)))
	}
}
