package outbox

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/wordpress"
)

type fakeFields map[string]string // reference -> id

func (f fakeFields) Resolve(_ context.Context, ref string) (*activecampaign.Field, error) {
	if id, ok := f[ref]; ok {
		return &activecampaign.Field{ID: id}, nil
	}
	return nil, activecampaign.ErrNotFound
}

func fm(pairs ...string) []contactsync.Mapping {
	var m []contactsync.Mapping
	for i := 0; i < len(pairs); i += 2 {
		m = append(m, contactsync.Mapping{Target: pairs[i], Source: pairs[i+1]})
	}
	return m
}

func TestMapper_Build(t *testing.T) {
	t.Parallel()
	user := wordpress.EventUser{Login: "ann", Email: "ann@example.com", FirstName: "Ann", LastName: "Lee", Nickname: "annie",
		Meta: map[string]any{"billing_phone": "555", "company": "Acme", "interests": []string{"a", "b"}, "activecampaign_contact_id": "42"}}
	m := &Mapper{
		FieldMap: fm("first_name", "firstName", "last_name", "lastName", "billing_phone", "phone", "company", "%COMPANY%",
			"interests", "field:7", "user_pass", "field:9", "role", "field:10", "user_email", "email", "org", "orgname",
			"nickname", "firstName", "missing_meta", "field:11"),
		RegistrationTags: []string{"Member", "Welcome"},
		ContactIDMetaKey: "activecampaign_contact_id",
		Fields:           fakeFields{"%COMPANY%": "12"},
	}
	ev := wordpress.Event{ID: 5, Epoch: "e1", Type: wordpress.EventRegister, UserID: 9, User: user}
	s, err := m.Build(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	want := &Sync{Key: "e1:5", Type: wordpress.EventRegister, UserID: 9, ContactID: "42", Tags: []string{"Member", "Welcome"},
		Contact: activecampaign.ContactSync{Email: "ann@example.com", FirstName: activecampaign.String("Ann"),
			LastName: activecampaign.String("Lee"), Phone: activecampaign.String("555"),
			FieldValues: map[string]string{"12": "Acme", "7": "a, b"}}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Build =\n%+v\nwant\n%+v", s, want)
	}
	if *s.Contact.FirstName != "Ann" {
		t.Errorf("the first mapping of firstName must win over nickname")
	}

	// An update: no registration tags; an email change carries the old email.
	ev.Type = wordpress.EventUpdate
	ev.User.Email, ev.User.OldEmail = "new@example.com", "ann@example.com"
	s, err = m.Build(context.Background(), ev)
	if err != nil || s.Tags != nil || s.OldEmail != "ann@example.com" || s.Contact.Email != "new@example.com" {
		t.Errorf("update: %+v, %v", s, err)
	}
}

func TestMapper_BuildRefuses(t *testing.T) {
	t.Parallel()
	m := &Mapper{FieldMap: fm("company", "%UNKNOWN%")}
	ctx := context.Background()
	base := wordpress.EventUser{Email: "a@example.com", Meta: map[string]any{"company": "x"}}
	if _, err := m.Build(ctx, wordpress.Event{ID: 1, Type: wordpress.EventDelete, User: base}); !errors.Is(err, ErrNothingToSync) {
		t.Errorf("delete: %v", err)
	}
	if _, err := m.Build(ctx, wordpress.Event{ID: 1, Type: wordpress.EventUpdate, User: base}); err == nil {
		t.Errorf("a personalization tag without a resolver was accepted")
	}
	m.Fields = fakeFields{}
	if _, err := m.Build(ctx, wordpress.Event{ID: 1, Type: wordpress.EventUpdate, User: base}); !errors.Is(err, activecampaign.ErrNotFound) {
		t.Errorf("unknown personalization tag: %v", err)
	}
	if _, err := m.Build(ctx, wordpress.Event{ID: 1, Type: wordpress.EventUpdate, User: wordpress.EventUser{Email: " "}}); err == nil {
		t.Errorf("an event without an email was accepted")
	}
	if _, err := m.Build(ctx, wordpress.Event{ID: 1, Type: "login", User: base}); err == nil {
		t.Errorf("an unknown event type was accepted")
	}
	// A meta key the user lacks leaves the field alone (no resolver call needed).
	s, err := m.Build(ctx, wordpress.Event{ID: 1, Type: wordpress.EventUpdate, User: wordpress.EventUser{Email: "a@example.com"}})
	if err != nil || s.Contact.FieldValues != nil {
		t.Errorf("missing meta: %+v, %v", s, err)
	}
}
