package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
)

// TestRemoveAccessOptions: delete= and reassign= belong to remove_access;
// a reassign email no WordPress user has is 400, one WordPress cannot
// check now is stored (its round checks again).
func TestRemoveAccessOptions(t *testing.T) {
	exists := func(_ context.Context, email string) (bool, error) {
		switch email {
		case "heir@example.com":
			return true, nil
		case "down@example.com":
			return false, errors.New("wordpress down")
		}
		return false, nil
	}
	q := &fakeQueue{}
	s, _ := newTestServer(t, Options{SyncTimeout: time.Second, UserExists: exists}, q)
	tests := []struct {
		name, query string
		want        int
		del         bool
		reassign    string
	}{
		{"remove", "", 200, false, ""},
		{"delete", "&delete=true", 200, true, ""},
		{"delete reassign", "&delete=1&reassign=heir@example.com", 200, true, "heir@example.com"},
		{"reassign unknown", "&delete=true&reassign=nobody@example.com", 400, false, ""},
		{"reassign unchecked", "&delete=true&reassign=down@example.com", 200, true, "down@example.com"},
		{"reassign without delete", "&reassign=heir@example.com", 400, false, ""},
		{"reassign not an email", "&delete=true&reassign=heir", 400, false, ""},
		{"bad delete", "&delete=maybe", 400, false, ""},
		{"delete on add", "&delete=true&wpf_action=add", 400, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q.reset()
			action := "remove_access"
			if strings.Contains(tt.query, "wpf_action=add") {
				action, tt.query = "add", strings.Replace(tt.query, "&wpf_action=add", "", 1)
			}
			rec := send(s, http.MethodPost, "/?wpf_action="+action+"&access_key="+key1+tt.query, formType,
				strings.NewReader("contact%5Bid%5D=42"), nil)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body.String())
			}
			subs, _ := q.recorded()
			if tt.want != 200 {
				if len(subs) != 0 {
					t.Fatal("rejected webhook was stored")
				}
				return
			}
			r := subs[0].Request
			if len(subs) != 1 || r.Action != contactsync.ActionRemoveAccess || r.Delete != tt.del || r.Reassign != tt.reassign {
				t.Errorf("stored %+v, want delete=%v reassign=%q", r, tt.del, tt.reassign)
			}
		})
	}
}
