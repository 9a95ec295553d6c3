package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/app"
	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

var identitySeq atomic.Int64

// identityContactID returns a contact id no other test or run uses: 13 digits
// starting with 9, above the ids the other tests reserve.
func identityContactID() string {
	return fmt.Sprintf("9%012d", (time.Now().UnixMicro()+identitySeq.Add(1))%1_000_000_000_000)
}

// TestEmailHintTakeover: an update or update_tags naming the caller's own
// contact and a victim's email (in the payload or the query) is ignored and
// leaves the victim's account alone: no link, tags, names, email or
// password, even with the email and a password mapped from the contact.
func TestEmailHintTakeover(t *testing.T) {
	b := startBridge(t, map[string]string{
		"FIELD_MAP": "first_name=firstName,last_name=lastName,user_email=email,user_pass=%ATTACK_PW%"}, app.Options{})
	ctx := context.Background()
	pwField := b.AC.AddField("Attack password", "ATTACK_PW", "text")
	victimEmail := wptest.UniqueEmail(t, "victim")
	const victimPassword = "Victim-Own-Pw-123"
	v, err := b.WP.Users.Create(ctx, wordpress.UserRequest{Roles: []string{"subscriber"}, Fields: map[string]string{
		"username": contactsync.SanitizeLogin(victimEmail), "email": victimEmail, "password": victimPassword,
		"first_name": "Victor", "last_name": "Victim"}})
	if err != nil {
		t.Fatalf("create victim: %v", err)
	}
	t.Cleanup(func() {
		if err := b.WP.Users.Delete(context.Background(), v.ID, 1); err != nil && !errors.Is(err, wordpress.ErrNotFound) {
			t.Errorf("delete victim: %v", err)
		}
	})
	attacker := b.addContact(acfake.Contact{ID: identityContactID(), Email: wptest.UniqueEmail(t, "attacker"),
		FirstName: "Mallory", LastName: "Evil", Tags: []string{"Hacked"}, Fields: map[string]string{pwField: "Attacker-Pw-123"}})

	for _, action := range []string{"update", "update_tags"} {
		for _, via := range []string{"payload", "query"} {
			var r response
			if via == "payload" {
				r = b.post("/", hook(action), contactBody(attacker, victimEmail, "Hacked"))
			} else {
				r = b.post("/", hook(action, "contact_id", attacker, "email", victimEmail), "")
			}
			if r.Code != http.StatusOK || r.Status != "ignored" {
				t.Errorf("%s with the victim's email in the %s = %d %q %q, want 200 ignored", action, via, r.Code, r.Status, r.Message)
			}
		}
	}
	u := b.user(v.ID)
	if got := u.MetaString("activecampaign_contact_id"); got != "" {
		t.Errorf("victim linked to contact %q", got)
	}
	if got := u.MetaStrings("activecampaign_tags"); len(got) != 0 {
		t.Errorf("victim got tags %q", got)
	}
	if u.FirstName != "Victor" || u.LastName != "Victim" || u.Email != victimEmail {
		t.Errorf("victim's names or email changed: %q %q %q", u.FirstName, u.LastName, u.Email)
	}
	if !b.Site.CheckPassword(t, u.Username, victimPassword) {
		t.Error("the victim can no longer log in with their own password")
	}
	if b.Site.CheckPassword(t, u.Username, "Attacker-Pw-123") {
		t.Error("the attacker's password opens the victim's account")
	}
}
