package outbox

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/wptest"
	"github.com/wpbridge/wpbridge/wordpress"
)

// applyStore stands in for wpbridge's queue: it keeps each event once (by
// Key) and applies the events of the users it watches to AC right away.
type applyStore struct {
	mu      sync.Mutex
	keys    map[string]bool
	watch   map[int64]bool
	applied map[int64]*Result
	m       *Mapper
	ac      AC
}

func (s *applyStore) Store(ctx context.Context, events []wordpress.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range events {
		if s.keys[Key(ev)] || !s.watch[ev.UserID] {
			continue
		}
		s.keys[Key(ev)] = true
		job, err := s.m.Build(ctx, ev)
		if err != nil {
			return err
		}
		res, err := Apply(ctx, s.ac, job)
		if err != nil {
			return err
		}
		s.applied[ev.UserID] = res
	}
	return nil
}

// A visitor signs up through WordPress's own registration form: the Puller
// pulls the event, the store applies it to (fake) AC, the plugin forgets it
// once acknowledged.
func TestIntegration_SignUpReachesAC(t *testing.T) {
	env := wptest.Env(t)
	env.LockOutbox(t)
	wp := env.Client(t)
	ctx := t.Context()
	if _, err := wp.Outbox.Enable(ctx, []string{"activecampaign_contact_id"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := wp.Outbox.Disable(context.Background(), false); err != nil {
			t.Errorf("disable: %v", err)
		}
	})
	srv, c := newFakeAC(t)
	email := wptest.UniqueEmail(t, "outbox-e2e")
	id := env.Register(t, strings.TrimSuffix(email, "@example.com"), email)
	t.Cleanup(func() { wp.Users.Delete(context.Background(), id, 0) })

	st := &applyStore{keys: map[string]bool{}, watch: map[int64]bool{id: true}, applied: map[int64]*Result{},
		m: &Mapper{FieldMap: fm("first_name", "firstName"), RegistrationTags: []string{"WordPress member"},
			ContactIDMetaKey: "activecampaign_contact_id", Fields: c.Fields},
		ac: NewAC(c)}
	var pulled []wordpress.Event
	p := &Puller{Source: watchSource{wp.Outbox, id, &pulled}, Store: st}
	if _, err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(pulled) != 1 || pulled[0].Type != wordpress.EventRegister || pulled[0].User.Email != email {
		t.Fatalf("pulled events of the new user = %+v", pulled)
	}
	res := st.applied[id]
	if res == nil || !res.Created {
		t.Fatalf("applied = %+v", res)
	}
	got, _ := srv.Contact(res.ContactID)
	if got.Email != email || !slices.Equal(got.Tags, []string{"WordPress member"}) {
		t.Errorf("AC contact = %+v", got)
	}
	// Acknowledged: the plugin has forgotten the event.
	left, err := wp.Outbox.Pull(ctx, 0, wordpress.MaxOutboxBatch)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range left {
		if ev.UserID == id {
			t.Errorf("event %d of user %d still pending after the ack", ev.ID, id)
		}
	}

	// wpbridge stores the contact id in the user's meta: its own write, not recorded (no loop).
	if _, err := wp.Users.Update(ctx, id, wordpress.UserRequest{Meta: map[string]any{"activecampaign_contact_id": res.ContactID}}); err != nil {
		t.Fatal(err)
	}
	pulled = nil
	if _, err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(pulled) != 0 {
		t.Errorf("wpbridge's own write came back: %+v", pulled)
	}
}

// watchSource records the pulled events of one user.
type watchSource struct {
	*wordpress.OutboxService
	user   int64
	pulled *[]wordpress.Event
}

func (w watchSource) Pull(ctx context.Context, after int64, limit int) ([]wordpress.Event, error) {
	evs, err := w.OutboxService.Pull(ctx, after, limit)
	for _, ev := range evs {
		if ev.UserID == w.user {
			*w.pulled = append(*w.pulled, ev)
		}
	}
	return evs, err
}
