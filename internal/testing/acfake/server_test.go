package acfake_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/pkg/ratelimit"
)

const key = "fake-key"

var (
	_ activecampaign.Limiter = (*ratelimit.Limiter)(nil)
	_ activecampaign.Pauser  = (*ratelimit.Limiter)(nil)
)

func do(t *testing.T, srv *acfake.Server, method, path, token, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Api-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestRateLimit429AtSixth(t *testing.T) {
	t.Parallel()
	srv := acfake.NewServer(acfake.Config{APIKey: key, RateLimit: 5})
	defer srv.Close()
	for i := 1; i <= 6; i++ {
		resp, body := do(t, srv, "GET", "/api/3/users/me", key, "")
		want := 200
		if i == 6 {
			want = 429
			if ra := resp.Header.Get("Retry-After"); ra != "1" {
				t.Errorf("Retry-After = %q, want 1", ra)
			}
		}
		if resp.StatusCode != want {
			t.Fatalf("request %d: status %d (%s), want %d", i, resp.StatusCode, body, want)
		}
	}
	if srv.Throttled() != 1 || srv.MaxInWindow(time.Second) != 6 || len(srv.Requests()) != 6 {
		t.Errorf("Throttled, MaxInWindow, Requests = %d, %d, %d; want 1, 6, 6",
			srv.Throttled(), srv.MaxInWindow(time.Second), len(srv.Requests()))
	}
	if r := srv.Requests()[5]; r.Status != 429 || r.Path != "/api/3/users/me" || r.Method != "GET" {
		t.Errorf("last request = %+v", r)
	}
	srv.ResetRequests()
	if len(srv.Requests()) != 0 || srv.Throttled() != 0 {
		t.Error("ResetRequests kept state")
	}
}

func TestAuthAndErrors(t *testing.T) {
	t.Parallel()
	srv := acfake.NewServer(acfake.Config{APIKey: key})
	defer srv.Close()
	srv.AddField("Password", "PASSWORD", "text")
	id := srv.AddContact(acfake.Contact{Email: "a@example.com"})
	tests := []struct {
		name, method, path, token, body string
		status                          int
		contains                        string
	}{
		{"no token", "GET", "/api/3/users/me", "", "", 403, `{"message":"Forbidden"}`},
		{"wrong token", "GET", "/api/3/users/me", "nope", "", 403, `{"message":"Forbidden"}`},
		{"unknown contact", "GET", "/api/3/contacts/999", key, "", 404, `No Result found for Subscriber with id 999`},
		{"unknown tag", "GET", "/api/3/tags/77", key, "", 404, `No Result found for Tag with id 77`},
		{"no prefix", "GET", "/contacts/" + id, key, "", 404, `Not Found`},
		{"bad json", "PUT", "/api/3/contacts/" + id, key, `{"contact":`, 422, `"errors"`},
		{"no envelope", "PUT", "/api/3/contacts/" + id, key, `{"fieldValues":[]}`, 422, `"errors"`},
		{"unknown field", "PUT", "/api/3/contacts/" + id, key, `{"contact":{"fieldValues":[{"field":"99","value":"x"}]}}`, 422, `field_invalid`},
		{"object value", "PUT", "/api/3/contacts/" + id, key, `{"contact":{"fieldValues":[{"field":"1","value":{}}]}}`, 422, `field_invalid`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, srv, tt.method, tt.path, tt.token, tt.body)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.contains) {
				t.Errorf("got %d %s, want %d containing %s", resp.StatusCode, body, tt.status, tt.contains)
			}
		})
	}
	if w := srv.FieldWrites(id); len(w) != 0 {
		t.Errorf("rejected PUTs wrote %v", w)
	}
}

func newClient(t *testing.T, srv *acfake.Server, opts ...activecampaign.Option) *activecampaign.Client {
	t.Helper()
	c, err := activecampaign.NewClient(srv.URL(), key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEnvelopesWithClient(t *testing.T) {
	t.Parallel()
	srv := acfake.NewServer(acfake.Config{APIKey: key})
	defer srv.Close()
	pw := srv.AddField("Password", "PASSWORD", "text")
	size := srv.AddField("Company size", "%COMPANY_SIZE%", "dropdown")
	for i := 0; i < 25; i++ { // more than one default page
		srv.AddTag("bulk" + string(rune('a'+i)))
	}
	id := srv.AddContact(acfake.Contact{Email: "Ann+x@example.com", FirstName: "Ann", Phone: "+1 5",
		Fields: map[string]string{size: "10-50", pw: ""}, Tags: []string{"VIP", "bulky"}})
	c := newClient(t, srv)
	ctx := context.Background()

	got, err := c.Contacts.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "Ann+x@example.com" || got.FirstName != "Ann" ||
		!reflect.DeepEqual(got.FieldValues, map[string]string{size: "10-50", pw: ""}) {
		t.Errorf("Get = %+v", got)
	}
	if f, err := c.Contacts.FindByEmail(ctx, "ann+X@example.com"); err != nil || f.ID != id {
		t.Errorf("FindByEmail = %+v, %v", f, err)
	}
	if names, err := c.Contacts.TagNames(ctx, id); err != nil || !reflect.DeepEqual(names, []string{"VIP", "bulky"}) {
		t.Errorf("TagNames = %q, %v", names, err)
	}
	if f, err := c.Fields.Resolve(ctx, "%company_size%"); err != nil || f.ID != size || f.Type != "dropdown" {
		t.Errorf("Resolve = %+v, %v", f, err)
	}
	if u, err := c.Users.Me(ctx); err != nil || u.ID != "1" {
		t.Errorf("Me = %+v, %v", u, err)
	}
	if err := c.Contacts.SetFieldValues(ctx, id, map[string]string{pw: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	if st, _ := srv.Contact(id); st.Fields[pw] != "s3cret" || st.Fields[size] != "10-50" {
		t.Errorf("server fields = %v", st.Fields)
	}
	if w := srv.FieldWrites(id); len(w) != 1 || w[0].Field != pw || w[0].Value != "s3cret" || w[0].At.IsZero() {
		t.Errorf("FieldWrites = %+v", w)
	}
	var e *activecampaign.Error
	err = c.Contacts.SetFieldValues(ctx, id, map[string]string{"999": "x"})
	if !errors.As(err, &e) || e.StatusCode != 422 || e.Code != "field_invalid" {
		t.Errorf("unknown field: err = %v", err)
	}
	srv.DeleteContact(id)
	if _, err := c.Contacts.Get(ctx, id); !errors.Is(err, activecampaign.ErrNotFound) {
		t.Errorf("deleted: err = %v, want ErrNotFound", err)
	}
	other, _ := activecampaign.NewClient(srv.URL(), "wrong")
	if _, err := other.Users.Me(ctx); !errors.Is(err, activecampaign.ErrUnauthorized) {
		t.Errorf("wrong key: err = %v, want ErrUnauthorized", err)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	srv := acfake.NewServer(acfake.Config{APIKey: key})
	defer srv.Close()
	c := newClient(t, srv, activecampaign.WithTimeout(100*time.Millisecond))
	ctx := context.Background()
	isTemp := func(err error) bool {
		var e *activecampaign.Error
		return errors.As(err, &e) && e.Temporary()
	}

	srv.Inject(503, 2)
	for i := 0; i < 2; i++ {
		if _, err := c.Users.Me(ctx); !errors.Is(err, activecampaign.ErrRateLimited) {
			t.Errorf("inject 503 #%d: err = %v", i, err)
		}
	}
	if _, err := c.Users.Me(ctx); err != nil {
		t.Errorf("after inject: %v", err)
	}
	srv.Inject(200, 1)
	if _, err := c.Users.Me(ctx); !isTemp(err) {
		t.Errorf("empty 2xx: err = %v, want temporary", err)
	}
	srv.Inject(429, 1)
	var e *activecampaign.Error
	if _, err := c.Users.Me(ctx); !errors.As(err, &e) || e.RetryAfter != time.Second {
		t.Errorf("inject 429: err = %v", err)
	}
	srv.SetDown(511)
	if _, err := c.Users.Me(ctx); !isTemp(err) {
		t.Errorf("down 511: err = %v", err)
	}
	srv.SetDown(0)
	srv.SetDelay(300 * time.Millisecond)
	if _, err := c.Users.Me(ctx); !isTemp(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("delay: err = %v, want timeout", err)
	}
	srv.SetDelay(0)
	if srv.Throttled() != 1 {
		t.Errorf("Throttled = %d, want 1", srv.Throttled())
	}
}

func TestStormWithLimiterNeverThrottled(t *testing.T) {
	t.Parallel()
	srv := acfake.NewServer(acfake.Config{APIKey: key, RateLimit: 5})
	defer srv.Close()
	id := srv.AddContact(acfake.Contact{Email: "a@example.com"})
	c := newClient(t, srv, activecampaign.WithLimiter(ratelimit.New(5)))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Contacts.Get(context.Background(), id); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if srv.Throttled() != 0 || srv.MaxInWindow(time.Second) > 5 {
		t.Errorf("Throttled = %d, MaxInWindow = %d", srv.Throttled(), srv.MaxInWindow(time.Second))
	}
}

func TestClient429PausesSharedLimiter(t *testing.T) {
	t.Parallel()
	srv := acfake.NewServer(acfake.Config{APIKey: key, RetryAfter: 2})
	defer srv.Close()
	lim := ratelimit.New(50)
	c := newClient(t, srv, activecampaign.WithLimiter(lim))
	srv.Inject(429, 1)
	start := time.Now()
	if _, err := c.Users.Me(context.Background()); !errors.Is(err, activecampaign.ErrRateLimited) {
		t.Fatalf("err = %v", err)
	}
	if d := lim.PausedUntil().Sub(start); d < 1900*time.Millisecond {
		t.Errorf("limiter paused for %v, want about 2s", d)
	}
}

// Config.Latency delays every answer; the rate limit still counts arrivals,
// so the sixth request arriving within the second gets 429 even though the
// first five are still being answered.
func TestConfigLatency(t *testing.T) {
	const lat = 150 * time.Millisecond
	srv := acfake.NewServer(acfake.Config{APIKey: key, RateLimit: 5, Latency: lat})
	defer srv.Close()
	t0 := time.Now()
	if resp, _ := do(t, srv, http.MethodGet, "/api/3/users/me", key, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if el := time.Since(t0); el < lat {
		t.Errorf("answer after %s, want >= %s", el, lat)
	}
	var wg sync.WaitGroup
	codes := make(chan int, 5)
	for range 5 {
		wg.Go(func() {
			resp, _ := do(t, srv, http.MethodGet, "/api/3/users/me", key, "")
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	n429 := 0
	for c := range codes {
		if c == http.StatusTooManyRequests {
			n429++
		}
	}
	if n429 != 1 || srv.Throttled() != 1 {
		t.Errorf("429 answers = %d (Throttled %d), want 1 of 6 arrivals in one second", n429, srv.Throttled())
	}
}
