package activecampaign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
)

// DefaultTimeout bounds each request (not the limiter wait before it).
const DefaultTimeout = 15 * time.Second

// maxResponseBody caps how much of an answer is read.
const maxResponseBody = 16 << 20

// Limiter is waited on before every request; *ratelimit.Limiter satisfies it.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Pauser is optionally implemented by a Limiter. On 429 (Retry-After, default 1s) and 503
// (1s) the client calls Pause so every worker sharing the limiter backs off.
type Pauser interface {
	Pause(d time.Duration)
}

// Acquirer is optionally implemented by a Limiter; the client then uses Acquire
// instead of Wait, sends the request with the context it returns (which may trace
// when the request was written and answered) and calls done once the answer
// arrived, so that the limiter can count requests as the server does
// (*ratelimit.Limiter implements it).
type Acquirer interface {
	Acquire(ctx context.Context) (reqCtx context.Context, done func(), err error)
}

// Reserver is optionally implemented by a Limiter: Reserve waits for a slot
// and keeps it for the first request sent with the context it returns;
// release gives it back if no request took it (*ratelimit.Limiter implements
// it).
type Reserver interface {
	Reserve(ctx context.Context) (reqCtx context.Context, release func(), err error)
}

// Option configures a Client.
type Option func(*Client)

// WithLimiter makes the client wait on l before every request, cache loads included.
func WithLimiter(l Limiter) Option { return func(c *Client) { c.limiter = l } }

// WithHTTPClient uses hc for the requests (transport, proxies, TLS). Its Timeout, if any,
// applies on top of WithTimeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTimeout bounds each request; the default is DefaultTimeout. d <= 0 is ignored.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// Client talks to one ActiveCampaign account through its API v3.
type Client struct {
	rc      *resty.Client // unexported: resty is an implementation detail
	hc      *http.Client
	limiter Limiter
	timeout time.Duration
	now     func() time.Time // cache clock, replaced in tests

	Contacts *ContactsService
	Tags     *TagsService
	Fields   *FieldsService
	Users    *UsersService
}

// NewClient returns a client for baseURL (e.g. "https://acme.api-us1.com", with or
// without a trailing "/api/3") authenticated by apiKey. The error names what is wrong
// and never contains the key.
func NewClient(baseURL, apiKey string, opts ...Option) (*Client, error) {
	base, err := normalizeBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	apiKey = strings.TrimSpace(apiKey)
	if apiKey == "" {
		return nil, errors.New("activecampaign: empty API key")
	}
	for _, r := range apiKey {
		if r < 0x21 || r > 0x7e {
			return nil, errors.New("activecampaign: API key contains invalid characters")
		}
	}
	c := &Client{timeout: DefaultTimeout, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = &http.Client{}
		// Never forward the Api-Token header to another host.
		c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	c.rc = resty.NewWithClient(c.hc).
		SetBaseURL(base).
		SetHeader("Api-Token", apiKey).
		SetHeader("Accept", "application/json").
		SetRetryCount(0).
		SetDebug(false).
		SetDisableWarn(true).
		SetLogger(nopLogger{}).
		SetResponseBodyLimit(maxResponseBody)
	c.Contacts = &ContactsService{c: c}
	c.Tags = &TagsService{c: c, names: map[string]string{}, loadSem: make(chan struct{}, 1)}
	c.Fields = &FieldsService{c: c, loadSem: make(chan struct{}, 1)}
	c.Users = &UsersService{c: c}
	return c, nil
}

func normalizeBaseURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("activecampaign: empty base URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("activecampaign: base URL is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("activecampaign: base URL must start with http:// or https://")
	case u.Host == "":
		return "", errors.New("activecampaign: base URL has no host")
	case u.User != nil:
		return "", errors.New("activecampaign: base URL must not contain user info")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", errors.New("activecampaign: base URL must not contain a query or fragment")
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimRight(strings.TrimSuffix(p, "/api/3"), "/")
	u.Path, u.RawPath = p+"/api/3", ""
	return u.String(), nil
}

// call describes one request; path is a template such as "/contacts/{id}".
type call struct {
	method string
	path   string
	params map[string]string
	query  url.Values
	body   any
}

// Reserve waits until the rate limiter lets a request go, and keeps that
// slot for the first request made with the returned context; call release
// when the work is over (it gives the slot back if no request took it).
// Without a Reserver limiter it returns ctx at once.
func (c *Client) Reserve(ctx context.Context) (context.Context, func(), error) {
	r, ok := c.limiter.(Reserver)
	if !ok {
		return ctx, func() {}, nil
	}
	rctx, release, err := r.Reserve(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("activecampaign: wait for rate limiter: %w", err)
	}
	return rctx, release, nil
}

// do waits on the limiter, sends the request and decodes a 2xx JSON body into out.
// Every failure is an *Error.
func (c *Client) do(ctx context.Context, cl call, out any) error {
	_, err := c.doStatus(ctx, cl, out)
	return err
}

// doStatus is do, also returning the 2xx status of a success.
func (c *Client) doStatus(ctx context.Context, cl call, out any) (int, error) {
	if a, ok := c.limiter.(Acquirer); ok {
		reqCtx, done, err := a.Acquire(ctx)
		if err != nil {
			return 0, &Error{Method: cl.method, Path: cl.path, Message: "wait for rate limiter: " + err.Error(), err: err}
		}
		defer done()
		ctx = reqCtx
	} else if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return 0, &Error{Method: cl.method, Path: cl.path, Message: "wait for rate limiter: " + err.Error(), err: err}
		}
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req := c.rc.R().SetContext(rctx)
	if cl.params != nil {
		req.SetPathParams(cl.params)
	}
	if cl.query != nil {
		req.SetQueryParamsFromValues(cl.query)
	}
	if cl.body != nil {
		req.SetHeader("Content-Type", "application/json").SetBody(cl.body)
	}
	resp, err := req.Execute(cl.method, cl.path)
	if err != nil {
		return 0, transportError(cl, err)
	}
	status := resp.StatusCode()
	if status < 200 || status > 299 {
		e := newStatusError(cl.method, cl.path, status, resp.Header(), resp.Body())
		if e.RetryAfter > 0 {
			if p, ok := c.limiter.(Pauser); ok {
				p.Pause(e.RetryAfter)
			}
		}
		return 0, e
	}
	body := resp.Body()
	if len(strings.TrimSpace(string(body))) == 0 {
		return 0, invalidBody(cl.method, cl.path, status, "empty body")
	}
	if err := json.Unmarshal(body, out); err != nil {
		return 0, invalidBody(cl.method, cl.path, status, "body is not the expected JSON")
	}
	return status, nil
}

// transportError wraps err without the request URL (it may carry an email in the query).
func transportError(cl call, err error) *Error {
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	msg := cause.Error()
	if errors.Is(cause, context.DeadlineExceeded) {
		msg = "request timed out: " + msg
	}
	return &Error{Method: cl.method, Path: cl.path, Message: Truncate(msg, maxMessageLen), err: cause}
}

// nopLogger silences resty, whose default logger writes to stderr and has no off switch.
type nopLogger struct{}

func (nopLogger) Errorf(string, ...any) {}
func (nopLogger) Warnf(string, ...any)  {}
func (nopLogger) Debugf(string, ...any) {}

func checkID(what, id string) error {
	if !ValidID(id) {
		if id == "" {
			return fmt.Errorf("%w: empty %s id", ErrInvalidArgument, what)
		}
		return fmt.Errorf("%w: %s id must be decimal digits", ErrInvalidArgument, what)
	}
	return nil
}
