package acfake_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
)

// TestListByTagAndTagSearch: GET /contacts?tagid= returns only the tagged
// contacts, paged by limit/offset with meta.total; GET /tags?search= finds a
// tag by name, through the real client.
func TestListByTagAndTagSearch(t *testing.T) {
	t.Parallel()
	srv := acfake.NewServer(acfake.Config{APIKey: key})
	defer srv.Close()
	want := map[string]bool{}
	for i := 0; i < 250; i++ {
		tags := []string{"Other"}
		if i%2 == 0 {
			tags = []string{"Import Me", "Other"}
		}
		id := srv.AddContact(acfake.Contact{Email: fmt.Sprintf("c%d@example.com", i), Tags: tags})
		if i%2 == 0 {
			want[id] = true
		}
	}
	srv.AddTag("Import Me Later")
	c, err := activecampaign.NewClient(srv.URL(), key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tag, err := c.Tags.Find(ctx, "import me")
	if err != nil || tag.Name != "Import Me" {
		t.Fatalf("Find(import me) = %+v, %v; want the tag Import Me", tag, err)
	}
	if _, err := c.Tags.Find(ctx, "Import"); !errors.Is(err, activecampaign.ErrNotFound) {
		t.Errorf("Find(Import) err = %v, want ErrNotFound (substring only)", err)
	}
	seen := map[string]bool{}
	pages := 0
	for off := 0; ; off += 100 {
		list, total, err := c.Contacts.ListByTag(ctx, tag.ID, off, 100)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if total != 125 {
			t.Errorf("offset %d: total %d, want 125", off, total)
		}
		for _, ct := range list {
			if !want[ct.ID] || seen[ct.ID] {
				t.Errorf("contact %s listed (tagged %v, seen before %v)", ct.ID, want[ct.ID], seen[ct.ID])
			}
			seen[ct.ID] = true
		}
		if len(list) < 100 {
			break
		}
	}
	if len(seen) != len(want) || pages != 2 {
		t.Errorf("listed %d contacts in %d pages, want %d in 2", len(seen), pages, len(want))
	}
	list, total, err := c.Contacts.ListByTag(ctx, "99999", 0, 100)
	if err != nil || total != 0 || len(list) != 0 {
		t.Errorf("unknown tag id: %v, %d, %v; want an empty page", list, total, err)
	}
}
