package wordpress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
)

// DefaultTimeout bounds each WordPress request unless WithTimeout says otherwise.
const DefaultTimeout = 30 * time.Second

// Client talks to the WordPress REST API (core users endpoints and the wpbridge
// companion plugin) with an application password. It is safe for concurrent use.
type Client struct {
	// Users reads and writes WordPress users.
	Users *UsersService
	// Site reads the companion plugin's status route.
	Site *SiteService
	// Outbox pulls the changes WordPress records for wpbridge (SYNC_TO_AC).
	Outbox *OutboxService

	rc       *resty.Client
	endpoint string // site URL ending in "/", requests add ?rest_route=...
	secrets  []string
	timeout  time.Duration
	sem      chan struct{}

	hc            *http.Client
	maxConcurrent int
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client used for requests. The client is copied:
// its Transport and Jar are shared, but redirects are never followed.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.hc = hc }
}

// WithTimeout bounds each request (default DefaultTimeout); 0 disables the bound.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.timeout = d }
}

// WithMaxConcurrent allows at most n WordPress requests in flight at once across
// all goroutines using the Client; 0 means unlimited. Waiting honours the context.
func WithMaxConcurrent(n int) Option {
	return func(c *Client) { c.maxConcurrent = n }
}

// NewClient returns a Client for the WordPress site at baseURL (e.g.
// "https://example.com" or "https://example.com/blog"), authenticating as
// username with an application password.
func NewClient(baseURL, username, appPassword string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("wordpress: base URL must be an absolute http(s) URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("wordpress: base URL must not contain credentials, a query or a fragment")
	}
	if username == "" || appPassword == "" {
		return nil, errors.New("wordpress: username and application password are required")
	}
	c := &Client{timeout: DefaultTimeout, hc: &http.Client{}}
	for _, opt := range opts {
		opt(c)
	}
	if c.maxConcurrent < 0 || c.timeout < 0 || c.hc == nil {
		return nil, errors.New("wordpress: invalid option")
	}
	if c.maxConcurrent > 0 {
		c.sem = make(chan struct{}, c.maxConcurrent)
	}
	hc := *c.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.rc = resty.NewWithClient(&hc).
		SetRetryCount(0).
		SetDisableWarn(true).
		SetLogger(nopLogger{}).
		SetBasicAuth(username, appPassword).
		SetHeader("Accept", "application/json").
		SetHeader("User-Agent", "wpbridge")
	u.Path = strings.TrimRight(u.Path, "/") + "/"
	u.RawPath = ""
	c.endpoint = u.String()
	c.secrets = secretVariants(appPassword)
	c.Users = &UsersService{c: c}
	c.Site = &SiteService{c: c}
	c.Outbox = &OutboxService{c: c}
	return c, nil
}

// secretVariants returns the strings to redact for a secret: as given and, for
// application passwords, without the spaces WordPress ignores.
func secretVariants(s string) []string {
	out := []string{s}
	if t := strings.ReplaceAll(s, " ", ""); t != s && len(t) >= 8 {
		out = append(out, t)
	}
	return out
}

// entryHeader marks wpbridge's requests: the companion plugin (1.4) serves
// them as soon as WordPress has loaded, by its REST server with the users
// endpoint registered alone (WPBridge_Entry). Older plugins ignore it.
const entryHeader = "X-WPBridge-Entry"

// request is one REST call: route is the REST route ("/wp/v2/users/5").
type request struct {
	method  string
	route   string
	query   url.Values
	body    any
	secrets []string // extra values to keep out of error messages (user passwords)
}

// do sends r and decodes a JSON answer into out (when non-nil). It returns the
// response headers on success and an *Error otherwise.
func (c *Client) do(ctx context.Context, r request, out any) (http.Header, error) {
	if c.sem != nil {
		select {
		case c.sem <- struct{}{}:
			defer func() { <-c.sem }()
		case <-ctx.Done():
			return nil, c.fail(r, 0, "", ctx.Err().Error(), ctx.Err())
		}
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := c.newRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	resp, err := req.Execute(r.method, c.endpoint)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL carries the query (emails); keep it out of messages
		}
		return nil, c.fail(r, 0, "", err.Error(), err)
	}
	return c.decode(r, resp, out)
}

// newRequest builds the resty request for r: its query with rest_route, and its
// body as JSON.
func (c *Client) newRequest(ctx context.Context, r request) (*resty.Request, error) {
	q := url.Values{}
	for k, v := range r.query {
		q[k] = v
	}
	q.Set("rest_route", r.route)
	req := c.rc.R().SetContext(ctx).SetQueryParamsFromValues(q).SetHeader(entryHeader, "rest")
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("wordpress: %s %s: encode body: %w", r.method, r.route, err)
		}
		req.SetHeader("Content-Type", "application/json").SetBody(b)
	}
	return req, nil
}

// decode checks the answer to r and decodes its JSON body into out (when
// non-nil). A redirect, a body that is not JSON and a WordPress error are *Error.
func (c *Client) decode(r request, resp *resty.Response, out any) (http.Header, error) {
	status, body := resp.StatusCode(), bytes.TrimSpace(resp.Body())
	if status >= 300 && status < 400 {
		return nil, c.fail(r, status, CodeRedirect, "WordPress answered with a redirect; check the site URL (http/https, www)", nil)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header().Get("Content-Type"))
	if len(body) == 0 || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, c.fail(r, status, CodeInvalidResponse, fmt.Sprintf("expected a JSON answer, got %d bytes of %q", len(body), mt), nil)
	}
	if status >= 400 {
		var we struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &we); err != nil || we.Code == "" {
			return nil, c.fail(r, status, CodeInvalidResponse, "error answer without a WordPress error code", nil)
		}
		return nil, c.fail(r, status, we.Code, we.Message, nil)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return nil, c.fail(r, status, CodeInvalidResponse, "decode answer: "+err.Error(), nil)
		}
	}
	return resp.Header(), nil
}

// fail builds the *Error for r, with the client's and r's secrets redacted from msg.
func (c *Client) fail(r request, status int, code, msg string, cause error) *Error {
	return &Error{StatusCode: status, Code: code, Message: redact(msg, c.secrets, r.secrets), Method: r.method, Path: r.route, err: cause}
}

func redact(msg string, lists ...[]string) string {
	for _, l := range lists {
		for _, s := range l {
			if s != "" {
				msg = strings.ReplaceAll(msg, s, "[redacted]")
			}
		}
	}
	return msg
}

// nopLogger silences resty, whose default logger writes to stderr and has no off switch.
type nopLogger struct{}

func (nopLogger) Errorf(string, ...any) {}
func (nopLogger) Warnf(string, ...any)  {}
func (nopLogger) Debugf(string, ...any) {}
