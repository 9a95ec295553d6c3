package wptest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// UserIDsWithEmail returns the id of every user whose email is email (ignoring
// case), lowest first. WordPress refuses a second user with a taken email, but
// two creates racing each other can both pass that check, so a test that must
// end with one user per address counts them here, and only among its own
// addresses: other packages' tests share the site. (wordpress.Client's
// FindByEmail returns the first match only.) It may be called from any
// goroutine.
func (e Site) UserIDsWithEmail(ctx context.Context, email string) ([]int64, error) {
	var ids []int64
	for page := 1; ; page++ {
		q := url.Values{"rest_route": {"/wp/v2/users"}, "context": {"edit"}, "search": {email},
			"per_page": {"100"}, "page": {strconv.Itoa(page)}, "orderby": {"id"}, "order": {"asc"}}
		var list []struct {
			ID    int64  `json:"id"`
			Email string `json:"email"`
		}
		pages, err := e.getJSON(ctx, q, &list)
		if err != nil {
			return nil, fmt.Errorf("search users by email: %w", err)
		}
		for _, u := range list {
			if strings.EqualFold(u.Email, email) {
				ids = append(ids, u.ID)
			}
		}
		if page >= pages {
			return ids, nil
		}
	}
}

// getJSON sends an authenticated GET with query q to the site as the
// administrator, decodes the JSON answer into out and returns X-WP-TotalPages.
func (e Site) getJSON(ctx context.Context, q url.Values, out any) (pages int, err error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/?"+q.Encode(), nil)
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(e.Username, e.AppPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, stripURL(err) // the URL may carry an email address; no secret
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("answer %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return 0, fmt.Errorf("decode answer: %w", err)
	}
	pages, _ = strconv.Atoi(resp.Header.Get("X-WP-TotalPages"))
	return pages, nil
}

// NewAppPassword creates an application password for user id (as the
// administrator) and returns it: the way a test signs in as a user it made,
// e.g. one given a custom role with SetCapabilities. The password is a
// secret: never logged.
func (e Site) NewAppPassword(t testing.TB, id int64) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	q := url.Values{"rest_route": {"/wp/v2/users/" + strconv.FormatInt(id, 10) + "/application-passwords"}}
	body := strings.NewReader(url.Values{"name": {"wpbridge test"}}.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/?"+q.Encode(), body)
	if err != nil {
		t.Fatalf("application password: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(e.Username, e.AppPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("application password for user %d: %v", id, stripURL(err))
	}
	defer resp.Body.Close()
	var out struct {
		Password string `json:"password"`
	}
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&out) != nil || out.Password == "" {
		t.Fatalf("application password for user %d: answer %d", id, resp.StatusCode)
	}
	return out.Password
}
