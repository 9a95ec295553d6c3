package outbox

import (
	"context"
	"slices"
	"testing"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/wordpress"
)

func newFakeAC(t *testing.T) (*acfake.Server, *activecampaign.Client) {
	t.Helper()
	srv := acfake.NewServer(acfake.Config{APIKey: "k"})
	t.Cleanup(srv.Close)
	c, err := activecampaign.NewClient(srv.URL(), "k")
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func TestApply(t *testing.T) {
	t.Parallel()
	srv, c := newFakeAC(t)
	company := srv.AddField("Company", "COMPANY", "text")
	m := &Mapper{FieldMap: fm("first_name", "firstName", "company", "%COMPANY%"), RegistrationTags: []string{"Member"},
		ContactIDMetaKey: "activecampaign_contact_id", Fields: c.Fields}
	ctx := context.Background()

	// A sign-up: a new contact with the mapped fields and the registration tag.
	reg := wordpress.Event{ID: 1, Epoch: "e", Type: wordpress.EventRegister, UserID: 3,
		User: wordpress.EventUser{Email: "ann@example.com", FirstName: "Ann", Meta: map[string]any{"company": "Acme"}}}
	s, err := m.Build(ctx, reg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Apply(ctx, NewAC(c), s)
	if err != nil || !res.Created {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	got, _ := srv.Contact(res.ContactID)
	if got.Email != "ann@example.com" || got.FirstName != "Ann" || got.Fields[company] != "Acme" || !slices.Equal(got.Tags, []string{"Member"}) {
		t.Errorf("contact after the sign-up = %+v", got)
	}
	// Applying it again (a re-pulled event) changes nothing.
	if res2, err := Apply(ctx, NewAC(c), s); err != nil || res2.ContactID != res.ContactID || res2.Created {
		t.Errorf("second Apply = %+v, %v", res2, err)
	}
	if got, _ := srv.Contact(res.ContactID); len(got.Tags) != 1 {
		t.Errorf("tags after a second apply = %q", got.Tags)
	}

	// An email change of a user carrying the contact id updates that contact.
	upd := wordpress.Event{ID: 2, Epoch: "e", Type: wordpress.EventUpdate, UserID: 3, User: wordpress.EventUser{
		Email: "ann.new@example.com", OldEmail: "ann@example.com", FirstName: "Annie",
		Meta: map[string]any{"activecampaign_contact_id": res.ContactID}}}
	s, err = m.Build(ctx, upd)
	if err != nil {
		t.Fatal(err)
	}
	res3, err := Apply(ctx, NewAC(c), s)
	if err != nil || res3.ContactID != res.ContactID || res3.Created {
		t.Fatalf("Apply of the email change = %+v, %v", res3, err)
	}
	got, _ = srv.Contact(res.ContactID)
	if got.Email != "ann.new@example.com" || got.FirstName != "Annie" || got.Fields[company] != "Acme" || len(got.Tags) != 1 {
		t.Errorf("contact after the email change = %+v (no tag on an update, the unmapped field kept)", got)
	}

	// The same change when that contact was deleted in AC: a sync by the new email.
	srv.DeleteContact(res.ContactID)
	res4, err := Apply(ctx, NewAC(c), s)
	if err != nil || !res4.Created || res4.ContactID == res.ContactID {
		t.Errorf("Apply after the contact was deleted = %+v, %v", res4, err)
	}
}
