package acfake_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
)

// The write endpoints, driven by the real client.
func TestWrites_SyncTagsLists(t *testing.T) {
	t.Parallel()
	srv := acfake.NewServer(acfake.Config{APIKey: key})
	defer srv.Close()
	fid := srv.AddField("Company", "COMPANY", "text")
	existing := srv.AddContact(acfake.Contact{Email: "Old@Example.com", FirstName: "Old"})
	c, err := activecampaign.NewClient(srv.URL(), key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	res, err := c.Contacts.Sync(ctx, activecampaign.ContactSync{Email: "new@example.com", FirstName: activecampaign.String("Ann"),
		FieldValues: map[string]string{fid: "Acme"}})
	if err != nil || !res.Created || res.Contact.ID == "" || res.Contact.FieldValues[fid] != "Acme" {
		t.Fatalf("create: %+v, %v", res, err)
	}
	got, ok := srv.ContactByEmail("new@example.com")
	if !ok || got.FirstName != "Ann" || got.Fields[fid] != "Acme" {
		t.Errorf("created contact = %+v", got)
	}
	res, err = c.Contacts.Sync(ctx, activecampaign.ContactSync{Email: "old@example.com", LastName: activecampaign.String("Smith")})
	if err != nil || res.Created || res.Contact.ID != existing {
		t.Fatalf("update by email: %+v, %v", res, err)
	}
	if got, _ := srv.Contact(existing); got.FirstName != "Old" || got.LastName != "Smith" {
		t.Errorf("updated contact = %+v (unset fields must stay)", got)
	}

	for _, tt := range []struct {
		in   activecampaign.ContactSync
		code string
	}{
		{activecampaign.ContactSync{Email: "not-an-email"}, "email_invalid"},
		{activecampaign.ContactSync{Email: "a@example.com", FieldValues: map[string]string{"999": "x"}}, "field_invalid"},
	} {
		_, err := c.Contacts.Sync(ctx, tt.in)
		var e *activecampaign.Error
		if !errors.As(err, &e) || e.StatusCode != http.StatusUnprocessableEntity || e.Code != tt.code || e.Temporary() {
			t.Errorf("Sync(%+v) = %v, want 422 %s", tt.in, err, tt.code)
		}
	}

	vip, err := c.Tags.Ensure(ctx, "VIP")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := c.Tags.Ensure(ctx, "VIP"); err != nil || again != vip {
		t.Errorf("second Ensure = %q, %v; want %s", again, err, vip)
	}
	if _, err := c.Tags.Create(ctx, "vip"); err == nil {
		t.Errorf("a duplicate tag name (case aside) was created")
	}
	if _, err := c.Contacts.AddTag(ctx, existing, vip); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Contacts.AddTag(ctx, existing, vip); err != nil {
		t.Errorf("adding a tag twice: %v", err)
	}
	if got, _ := srv.Contact(existing); len(got.Tags) != 1 || got.Tags[0] != "VIP" {
		t.Errorf("tags = %q", got.Tags)
	}
	if _, err := c.Contacts.AddTag(ctx, "9999", vip); !errors.Is(err, activecampaign.ErrNotFound) {
		t.Errorf("tagging a missing contact: %v", err)
	}
	if err := c.Contacts.RemoveTag(ctx, existing, vip); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Contact(existing); len(got.Tags) != 0 {
		t.Errorf("tags after remove = %q", got.Tags)
	}

	list := srv.AddList("Newsletter")
	if err := c.Contacts.SetListStatus(ctx, existing, list, activecampaign.ListActive); err != nil {
		t.Fatal(err)
	}
	if got := srv.ContactLists(existing); got[list] != 1 {
		t.Errorf("lists = %v", got)
	}
	if err := c.Contacts.SetListStatus(ctx, existing, list, activecampaign.ListUnsubscribed); err != nil {
		t.Fatal(err)
	}
	if got := srv.ContactLists(existing); got[list] != 2 {
		t.Errorf("lists after unsubscribe = %v", got)
	}
	if err := c.Contacts.SetListStatus(ctx, existing, "777", activecampaign.ListActive); !errors.Is(err, activecampaign.ErrNotFound) {
		t.Errorf("missing list: %v", err)
	}
	resp, body := do(t, srv, "GET", "/api/3/lists?filters[name]=newsletter", key, "")
	if resp.StatusCode != 200 || body == "" || !strings.Contains(body, `"id":"`+list+`"`) {
		t.Errorf("GET /lists = %d %s", resp.StatusCode, body)
	}
}

// The write endpoints count against the rate limit like every other: the sixth
// sync in a second is 429 with Retry-After, through the client as ErrRateLimited.
func TestWrites_RateLimited(t *testing.T) {
	t.Parallel()
	srv := acfake.NewServer(acfake.Config{APIKey: key, RateLimit: 5, RetryAfter: 2})
	defer srv.Close()
	c, err := activecampaign.NewClient(srv.URL(), key)
	if err != nil {
		t.Fatal(err)
	}
	var limited *activecampaign.Error
	for i := 0; i < 6; i++ {
		_, err := c.Contacts.Sync(context.Background(), activecampaign.ContactSync{Email: "burst@example.com"})
		if i < 5 && err != nil {
			t.Fatalf("sync %d: %v", i, err)
		}
		if i == 5 && !errors.As(err, &limited) {
			t.Fatalf("sync 6: %v, want 429", err)
		}
	}
	if !errors.Is(limited, activecampaign.ErrRateLimited) || limited.RetryAfter.Seconds() != 2 || srv.Throttled() != 1 {
		t.Errorf("6th sync: %v (retry after %v), throttled %d", limited, limited.RetryAfter, srv.Throttled())
	}
}
