package outbox

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/wordpress"
)

type fakeMeta struct{ set map[int64]string }

func (f *fakeMeta) SetContactID(_ context.Context, userID int64, _, contactID string) error {
	f.set[userID] = contactID
	return nil
}

type fakeEchoes struct{ begun, confirmed []string }

type fakeEcho struct {
	e  *fakeEchoes
	id string
}

func (e *fakeEchoes) Begin(_ context.Context, id string) (EchoWrite, error) {
	e.begun = append(e.begun, id)
	return fakeEcho{e, id}, nil
}
func (w fakeEcho) Confirm(context.Context) error {
	w.e.confirmed = append(w.e.confirmed, w.id)
	return nil
}
func (w fakeEcho) Cancel(context.Context) error { return nil }

func TestEventRoundTrip(t *testing.T) {
	t.Parallel()
	ev := wordpress.Event{ID: 9, Epoch: "ep", Type: wordpress.EventUpdate, UserID: 4, Time: time.Unix(1700000000, 0).UTC(),
		User: wordpress.EventUser{Login: "bo", Email: "bo@example.com", FirstName: "Bo", OldEmail: "b@example.com",
			Meta: map[string]any{"phone": "123", "groups": []string{"a", "b"}}}}
	b, err := EncodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", ev) {
		t.Errorf("decoded %+v\nwant    %+v", got, ev)
	}
	if k := ContactKey(ev, "activecampaign_contact_id"); k != "wp-user:4" {
		t.Errorf("ContactKey = %q", k)
	}
	ev.User.Meta["activecampaign_contact_id"] = "77"
	if k := ContactKey(ev, "activecampaign_contact_id"); k != "77" {
		t.Errorf("ContactKey with a contact id = %q", k)
	}
}

// The round of a sign-up: the contact made with the registration tag, its
// id stored on the user, the write recorded as an echo; a later edit of the
// user carrying the id writes no meta; a deletion is ignored.
func TestRound(t *testing.T) {
	t.Parallel()
	srv, c := newFakeAC(t)
	meta := &fakeMeta{set: map[int64]string{}}
	echoes := &fakeEchoes{}
	r := &Round{Mapper: &Mapper{FieldMap: fm("first_name", "firstName"), RegistrationTags: []string{"Member"},
		ContactIDMetaKey: "activecampaign_contact_id", Fields: c.Fields}, AC: NewAC(c), Users: meta, Echoes: echoes}
	ctx := context.Background()
	run := func(ev wordpress.Event, register bool) contactsync.Result {
		t.Helper()
		b, err := EncodeEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.SyncToAC(ctx, contactsync.Request{ContactID: ContactKey(ev, "activecampaign_contact_id"),
			Action: contactsync.ActionWordPressSync, Event: b, Register: register})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// An update merged with the sign-up before it still counts as a sign-up.
	res := run(wordpress.Event{ID: 2, Epoch: "e", Type: wordpress.EventUpdate, UserID: 5,
		User: wordpress.EventUser{Email: "cy@example.com", FirstName: "Cy"}}, true)
	got, ok := srv.ContactByEmail("cy@example.com")
	if !ok || got.FirstName != "Cy" || !slices.Equal(got.Tags, []string{"Member"}) || res.Status != "done" || !res.Created {
		t.Fatalf("sign-up: contact %+v %v, result %+v", got, ok, res)
	}
	if meta.set[5] != got.ID || !slices.Equal(echoes.confirmed, []string{got.ID}) {
		t.Errorf("meta %v, echoes %+v; want contact %s", meta.set, echoes, got.ID)
	}
	delete(meta.set, 5)
	res = run(wordpress.Event{ID: 3, Epoch: "e", Type: wordpress.EventUpdate, UserID: 5,
		User: wordpress.EventUser{Email: "cy@example.com", FirstName: "Cyd", Meta: map[string]any{"activecampaign_contact_id": got.ID}}}, false)
	if got, _ = srv.ContactByEmail("cy@example.com"); got.FirstName != "Cyd" || res.Created || len(meta.set) != 0 {
		t.Errorf("edit: contact %+v, result %+v, meta %v", got, res, meta.set)
	}
	res = run(wordpress.Event{ID: 4, Epoch: "e", Type: wordpress.EventDelete, UserID: 5, User: wordpress.EventUser{Email: "cy@example.com"}}, false)
	if res.Status != "ignored" {
		t.Errorf("delete: %+v, want ignored", res)
	}
}
