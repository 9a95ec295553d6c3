package activecampaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestTagsFind(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	var queries []string
	ac.mux.HandleFunc("GET /tags", func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		q := r.URL.Query()
		switch {
		case q.Get("search") == "VIP" && q.Get("offset") == "0":
			// A full first page of look-alikes: Find must page on.
			var b strings.Builder
			for i := 0; i < 100; i++ {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `{"id":"%d","tag":"VIP %d"}`, 100+i, i)
			}
			_, _ = io.WriteString(w, `{"tags":[`+b.String()+`],"meta":{"total":"102"}}`)
		case q.Get("search") == "VIP" && q.Get("offset") == "100":
			_, _ = io.WriteString(w, `{"tags":[{"id":"7","tag":"vip"},{"id":"8","tag":"VIP"}],"meta":{"total":"102"}}`)
		case q.Get("search") == "gold":
			_, _ = io.WriteString(w, `{"tags":[{"id":"3","tag":"Gold Plus"},{"id":"4","tag":"GOLD"}],"meta":{"total":"2"}}`)
		case q.Get("search") == "Bronze":
			_, _ = io.WriteString(w, `{"tags":[{"id":"5","tag":"Bronze Age"}],"meta":{"total":"1"}}`)
		default:
			_, _ = io.WriteString(w, `{"tags":[],"meta":{"total":"0"}}`)
		}
	})
	c, lim := ac.client(t)
	ctx := context.Background()
	tests := []struct {
		name, want string // want "" = not found
	}{
		{"VIP", "8"},     // exact case wins over a case-folded match on the same page
		{" gold ", "4"},  // no exact match: the case-insensitive one, not the substring
		{"Bronze", ""},   // substring only
		{"Platinum", ""}, // nothing
	}
	for _, tt := range tests {
		got, err := c.Tags.Find(ctx, tt.name)
		switch {
		case tt.want == "" && !errors.Is(err, ErrNotFound):
			t.Errorf("Find(%q) = %+v, %v; want ErrNotFound", tt.name, got, err)
		case tt.want != "" && (err != nil || got.ID != tt.want):
			t.Errorf("Find(%q) = %+v, %v; want id %s", tt.name, got, err, tt.want)
		}
	}
	if queries[0] != "limit=100&offset=0&search=VIP" || queries[1] != "limit=100&offset=100&search=VIP" {
		t.Errorf("queries = %q", queries)
	}
	if lim.waits != ac.requests() || ac.requests() != 5 {
		t.Errorf("waits, requests = %d, %d; want 5 each (every request through the limiter)", lim.waits, ac.requests())
	}
	if _, err := c.Tags.Find(ctx, " "); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Find(blank) err = %v, want ErrInvalidArgument", err)
	}
}

func TestContactsListByTag(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	ac.mux.HandleFunc("GET /contacts", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		off, _ := strconv.Atoi(q.Get("offset"))
		if q.Get("tagid") != "20" || q.Get("limit") != "100" {
			t.Errorf("query %q", r.URL.RawQuery)
		}
		if off == 0 {
			_, _ = io.WriteString(w, `{"contacts":[{"id":"1","email":"a@example.com","firstName":"A"},
				{"id":"2","email":"b@example.com"}],"meta":{"total":"3","page_input":{}}}`)
			return
		}
		_, _ = io.WriteString(w, `{"contacts":[{"id":3,"email":"c@example.com"}],"meta":{"total":"3"}}`)
	})
	c, lim := ac.client(t)
	ctx := context.Background()
	got, total, err := c.Contacts.ListByTag(ctx, "20", 0, 500)
	if err != nil || total != 3 || len(got) != 2 || got[0].ID != "1" || got[0].Email != "a@example.com" || got[0].FirstName != "A" {
		t.Fatalf("page 1 = %+v, %d, %v", got, total, err)
	}
	got, total, err = c.Contacts.ListByTag(ctx, "20", 2, 100)
	if err != nil || total != 3 || len(got) != 1 || got[0].ID != "3" {
		t.Fatalf("page 2 = %+v, %d, %v", got, total, err)
	}
	if lim.waits != 2 {
		t.Errorf("limiter waits = %d, want 2", lim.waits)
	}
	for _, bad := range []string{"", "x1"} {
		if _, _, err := c.Contacts.ListByTag(ctx, bad, 0, 100); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ListByTag(%q) err = %v, want ErrInvalidArgument", bad, err)
		}
	}
}

func TestContactsListByTagBadBodies(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{"meta":{"total":"1"}}`, `{"contacts":[]}`, `{"contacts":[{"email":"x@y"}],"meta":{"total":"1"}}`} {
		ac := newTestAC(t)
		ac.handle("GET /contacts", 200, body)
		c, _ := ac.client(t)
		if _, _, err := c.Contacts.ListByTag(context.Background(), "1", 0, 100); err == nil {
			t.Errorf("body %s: no error", body)
		}
	}
}
