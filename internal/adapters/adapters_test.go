package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/testing/acfake"
	"github.com/wpbridge/wpbridge/internal/webhook"
	"github.com/wpbridge/wpbridge/wordpress"
)

const acKey = "ac-test-key"

func newContacts(t *testing.T) (*Contacts, *acfake.Server) {
	t.Helper()
	srv := acfake.NewServer(acfake.Config{APIKey: acKey})
	t.Cleanup(srv.Close)
	ac, err := activecampaign.NewClient(srv.URL(), acKey)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return &Contacts{AC: ac, Echoes: &fakeEchoes{}}, srv
}

// fakeEchoes records, in order, what happens to the echo records: "begin
// ID", "confirm ID", "cancel ID". err, when set, is Begin's answer; begin,
// when set, is called on each Begin.
type fakeEchoes struct {
	err    error
	begin  func(contactID string)
	events []string
}

func (f *fakeEchoes) Begin(_ context.Context, contactID string) (EchoWrite, error) {
	if f.begin != nil {
		f.begin(contactID)
	}
	f.events = append(f.events, "begin "+contactID)
	if f.err != nil {
		return nil, f.err
	}
	return fakeEchoWrite{f: f, id: contactID}, nil
}

type fakeEchoWrite struct {
	f  *fakeEchoes
	id string
}

func (w fakeEchoWrite) Confirm(context.Context) error {
	w.f.events = append(w.f.events, "confirm "+w.id)
	return nil
}

func (w fakeEchoWrite) Cancel(context.Context) error {
	w.f.events = append(w.f.events, "cancel "+w.id)
	return nil
}

func TestContactsNotFound(t *testing.T) {
	c, srv := newContacts(t)
	ctx := context.Background()
	deleted := srv.AddContact(acfake.Contact{Email: "gone@example.com"})
	srv.DeleteContact(deleted)

	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"Contact unknown id", func() error { _, err := c.Contact(ctx, "999"); return err }, contactsync.ErrContactNotFound},
		{"Contact deleted", func() error { _, err := c.Contact(ctx, deleted); return err }, contactsync.ErrContactNotFound},
		{"ContactByEmail none", func() error { _, err := c.ContactByEmail(ctx, "nobody@example.com"); return err }, contactsync.ErrContactNotFound},
		// A missing custom field is not a missing contact.
		{"FieldID unknown perstag", func() error { _, err := c.FieldID(ctx, "%NOPE%"); return err }, contactsync.ErrFieldNotFound},
		{"FieldID unknown id", func() error { _, err := c.FieldID(ctx, "4242"); return err }, contactsync.ErrFieldNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if errors.Is(tc.want, contactsync.ErrFieldNotFound) && errors.Is(err, contactsync.ErrContactNotFound) {
				t.Errorf("err %v: a missing field reads as a missing contact", err)
			}
			if !errors.Is(err, activecampaign.ErrNotFound) {
				t.Errorf("err %v lost the client's ErrNotFound", err)
			}
		})
	}
}

func TestContactsMapping(t *testing.T) {
	c, srv := newContacts(t)
	ctx := context.Background()
	fid := srv.AddField("Company size", "COMPANY_SIZE", "text")
	id := srv.AddContact(acfake.Contact{
		Email: "ann@example.com", FirstName: "Ann", LastName: "Lee", Phone: "+1 555", Orgname: "Acme",
		Fields: map[string]string{fid: "10-50"}, Tags: []string{"VIP", "Customer"},
	})

	got, err := c.Contact(ctx, id)
	if err != nil {
		t.Fatalf("Contact: %v", err)
	}
	want := contactsync.Contact{ID: id, Email: "ann@example.com", FirstName: "Ann", LastName: "Lee", Phone: "+1 555", Orgname: "Acme"}
	if got.ID != want.ID || got.Email != want.Email || got.FirstName != want.FirstName || got.LastName != want.LastName ||
		got.Phone != want.Phone || got.Orgname != want.Orgname || got.Fields[fid] != "10-50" {
		t.Errorf("Contact = %+v", got)
	}
	byEmail, err := c.ContactByEmail(ctx, "ann@example.com")
	if err != nil || byEmail.ID != id {
		t.Errorf("ContactByEmail = %+v, %v", byEmail, err)
	}
	tags, err := c.TagNames(ctx, id)
	slices.Sort(tags)
	if err != nil || !slices.Equal(tags, []string{"Customer", "VIP"}) {
		t.Errorf("TagNames = %q, %v", tags, err)
	}
	for _, ref := range []string{fid, "%COMPANY_SIZE%"} {
		if got, err := c.FieldID(ctx, ref); err != nil || got != fid {
			t.Errorf("FieldID(%q) = %q, %v", ref, got, err)
		}
	}

	// SetField records the echo as in flight first, confirms it after the
	// write; a failed record stops the write.
	echoes := &fakeEchoes{}
	echoes.begin = func(contactID string) { // each begin comes before its write
		if len(srv.FieldWrites(contactID)) != len(echoes.events)/2 {
			t.Error("echo recorded after the write")
		}
	}
	c.Echoes = echoes
	if err := c.SetField(ctx, id, fid, "51-200"); err != nil {
		t.Fatalf("SetField: %v", err)
	}
	if w := srv.FieldWrites(id); len(w) != 1 || w[0].Field != fid || w[0].Value != "51-200" ||
		!slices.Equal(echoes.events, []string{"begin " + id, "confirm " + id}) {
		t.Errorf("writes %+v, echo records %q", w, echoes.events)
	}
	echoes.err = errors.New("record failed")
	if err := c.SetField(ctx, id, fid, "x"); !errors.Is(err, echoes.err) {
		t.Errorf("SetField with a failing echo record: %v", err)
	}
	if w := srv.FieldWrites(id); len(w) != 1 {
		t.Errorf("write happened although recording its echo failed: %+v", w)
	}
}

// TestSetFieldEchoRecord: against the real echo table, a failed write leaves
// no echo record (so a genuine API update right after it is worked), a
// successful one leaves one (its echo is dropped), and a failed write puts
// back the record of an earlier write whose echo has not come yet.
func TestSetFieldEchoRecord(t *testing.T) {
	c, srv := newContacts(t)
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "wpbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c.Echoes = StoreEchoes{Echoes: db.Echoes}
	fid := srv.AddField("Password", "WP_PASSWORD", "text")
	id := srv.AddContact(acfake.Contact{Email: "echo@example.com"})
	isEcho := func() bool { // what Submit asks of an API update webhook
		t.Helper()
		tx, err := db.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback() //nolint:errcheck // rolled back on purpose: the check only looks
		echo, err := db.Echoes.TakeTx(ctx, tx, id)
		if err != nil {
			t.Fatal(err)
		}
		return echo
	}

	for _, status := range []int{http.StatusInternalServerError, http.StatusUnprocessableEntity} {
		srv.Inject(status, 1)
		if err := c.SetField(ctx, id, fid, "pw"); err == nil {
			t.Fatalf("SetField against a %d: no error", status)
		}
		if isEcho() {
			t.Errorf("after a failed write (%d) an API update is taken for its echo", status)
		}
	}
	if err := c.SetField(ctx, id, fid, "pw"); err != nil {
		t.Fatalf("SetField: %v", err)
	}
	if !isEcho() {
		t.Error("after a successful write its echo is not recognised")
	}
	// The echo of the successful write has not come yet when a second write
	// fails: the first write's record stays.
	srv.Inject(http.StatusInternalServerError, 1)
	if err := c.SetField(ctx, id, fid, "pw2"); err == nil {
		t.Fatal("SetField against a 500: no error")
	}
	if !isEcho() {
		t.Error("a failed write erased the record of an earlier successful one")
	}
}

func TestContactsAuthIsNotNotFound(t *testing.T) {
	srv := acfake.NewServer(acfake.Config{APIKey: acKey})
	defer srv.Close()
	ac, err := activecampaign.NewClient(srv.URL(), "wrong-key")
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&Contacts{AC: ac, Echoes: &fakeEchoes{}}).Contact(context.Background(), "1")
	if errors.Is(err, contactsync.ErrContactNotFound) {
		t.Fatalf("a rejected key became not found: %v", err)
	}
	if v := Classify(err); v.Class != webhook.AuthFailed {
		t.Errorf("class %v, want AuthFailed", v.Class)
	}
}

// wpFake answers WordPress REST routes (?rest_route=...) from a table.
type wpFake struct {
	routes map[string]func(w http.ResponseWriter, r *http.Request)
	bodies []map[string]any
}

func (f *wpFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := r.URL.Query().Get("rest_route")
	if r.Method == http.MethodPost {
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		f.bodies = append(f.bodies, b)
	}
	h, ok := f.routes[r.Method+" "+route]
	if !ok {
		wpJSON(w, 404, map[string]any{"code": "rest_no_route", "message": "No route was found matching the URL and request method."})
		return
	}
	h(w, r)
}

func wpJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func answer(status int, v any) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { wpJSON(w, status, v) }
}

func wpError(status int, code string) func(http.ResponseWriter, *http.Request) {
	return answer(status, map[string]any{"code": code, "message": code, "data": map[string]any{"status": status}})
}

func newUsers(t *testing.T, routes map[string]func(http.ResponseWriter, *http.Request)) (*Users, *wpFake) {
	t.Helper()
	f := &wpFake{routes: routes}
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	wp, err := wordpress.NewClient(ts.URL, "admin", "abcd efgh ijkl mnop")
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return &Users{WP: wp}, f
}

var annWire = map[string]any{
	"id": 5, "username": "ann", "email": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
	"name": "Ann Lee", "nickname": "annie", "description": "d", "url": "https://ann.example", "roles": []string{"customer"},
	"wpbridge_meta": map[string]any{"activecampaign_contact_id": "7", "activecampaign_tags": []string{"VIP"}},
}

func TestUsersNotFound(t *testing.T) {
	ctx := context.Background()
	users, _ := newUsers(t, map[string]func(http.ResponseWriter, *http.Request){
		"GET /wpbridge/v1/users/by-meta": wpError(404, "wpbridge_user_not_found"),
		"GET /wp/v2/users":               answer(200, []map[string]any{{"id": 9, "username": "x", "email": "ann@example.com.au"}}),
	})
	_, err := users.FindByMeta(ctx, "activecampaign_contact_id", "7")
	if !errors.Is(err, contactsync.ErrUserNotFound) || !errors.Is(err, wordpress.ErrNotFound) {
		t.Errorf("FindByMeta: %v, want ErrUserNotFound wrapping wordpress.ErrNotFound", err)
	}
	_, err = users.FindByEmail(ctx, "ann@example.com")
	if !errors.Is(err, contactsync.ErrUserNotFound) {
		t.Errorf("FindByEmail near match: %v, want ErrUserNotFound", err)
	}

	// Without the plugin the route is missing: that is not "no such user".
	bare, _ := newUsers(t, nil)
	_, err = bare.FindByMeta(ctx, "activecampaign_contact_id", "7")
	if errors.Is(err, contactsync.ErrUserNotFound) || !errors.Is(err, wordpress.ErrPluginMissing) {
		t.Errorf("FindByMeta without plugin: %v", err)
	}
	if v := Classify(err); v.Class != webhook.AuthFailed || v.Reason == "" {
		t.Errorf("plugin missing classified %v %q", v.Class, v.Reason)
	}
}

func TestUsersMapping(t *testing.T) {
	ctx := context.Background()
	users, f := newUsers(t, map[string]func(http.ResponseWriter, *http.Request){
		"GET /wpbridge/v1/users/by-meta": answer(200, annWire),
		"GET /wp/v2/users":               answer(200, []map[string]any{annWire}),
		"POST /wpbridge/v1/users/lookup": answer(200, map[string]any{"found": "created", "user": annWire}),
		"POST /wp/v2/users/5":            answer(200, annWire),
	})
	check := func(name string, u *contactsync.User, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if u.ID != 5 || u.Login != "ann" || u.Email != "ann@example.com" || !slices.Equal(u.Roles, []string{"customer"}) {
			t.Errorf("%s: user %+v", name, u)
		}
		wantFields := map[string]string{"user_email": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
			"display_name": "Ann Lee", "nickname": "annie", "description": "d", "user_url": "https://ann.example"}
		for k, v := range wantFields {
			if u.Fields[k] != v {
				t.Errorf("%s: Fields[%s] = %q, want %q", name, k, u.Fields[k], v)
			}
		}
		if u.Meta["activecampaign_contact_id"] != "7" {
			t.Errorf("%s: meta %v", name, u.Meta)
		}
	}
	u, err := users.FindByMeta(ctx, "activecampaign_contact_id", "7")
	check("FindByMeta", u, err)
	u, err = users.FindByEmail(ctx, "ANN@example.com")
	check("FindByEmail", u, err)
	found, err := users.Lookup(ctx, contactsync.Lookup{Key: "activecampaign_contact_id", ContactID: "7", Email: "ann@example.com",
		Logins: []string{"ann", "ann12"}, Create: &contactsync.NewUser{Change: contactsync.Change{
			Fields: map[string]string{"user_email": "ann@example.com", "user_pass": "pw-Secret-123", "first_name": "Ann",
				"display_name": "Ann Lee", "user_url": "https://ann.example"},
			Roles: []string{"customer"}, Meta: map[string]any{"activecampaign_tags": []string{"VIP"}}, SendNotification: true,
		}}})
	if found.By != contactsync.FoundCreated {
		t.Errorf("Lookup found by %v, want created", found.By)
	}
	check("Lookup", found.User, err)
	u, err = users.Update(ctx, &contactsync.User{ID: 5}, contactsync.Change{Fields: map[string]string{"last_name": "Lee"}})
	check("Update", u, err)

	if len(f.bodies) != 2 {
		t.Fatalf("%d POST bodies", len(f.bodies))
	}
	lookup := f.bodies[0]
	if lookup["key"] != "activecampaign_contact_id" || lookup["value"] != "7" || lookup["email"] != "ann@example.com" {
		t.Errorf("lookup body %v", lookup)
	}
	if logins, _ := lookup["logins"].([]any); len(logins) != 2 || logins[0] != "ann" {
		t.Errorf("lookup logins %v", lookup["logins"])
	}
	create, _ := lookup["create"].(map[string]any)
	for k, v := range map[string]any{"email": "ann@example.com", "password": "pw-Secret-123",
		"first_name": "Ann", "name": "Ann Lee", "url": "https://ann.example", "send_user_notification": true} {
		if create[k] != v {
			t.Errorf("create body %s = %v, want %v", k, create[k], v)
		}
	}
	if roles, _ := create["roles"].([]any); len(roles) != 1 || roles[0] != "customer" {
		t.Errorf("create roles %v", create["roles"])
	}
	if meta, _ := create["wpbridge_meta"].(map[string]any); meta == nil || meta["activecampaign_tags"] == nil {
		t.Errorf("create meta %v", create["wpbridge_meta"])
	}
	if upd := f.bodies[1]; len(upd) != 1 || upd["last_name"] != "Lee" {
		t.Errorf("update body %v: only the changed field may be sent", upd)
	}
}

func TestUsersTaken(t *testing.T) {
	ctx := context.Background()
	nu := contactsync.NewUser{Login: "ann", Change: contactsync.Change{
		Fields: map[string]string{"user_email": "ann@example.com", "user_pass": "pw-Secret-123"}}}
	tests := []struct {
		name     string
		status   int
		code     string
		update   bool
		want     error
		notWant  error
		wpTarget error
	}{
		{name: "create login taken", status: 500, code: "existing_user_login", want: contactsync.ErrLoginTaken, notWant: contactsync.ErrEmailTaken, wpTarget: wordpress.ErrExistingLogin},
		{name: "create email taken", status: 500, code: "existing_user_email", want: contactsync.ErrEmailTaken, notWant: contactsync.ErrLoginTaken, wpTarget: wordpress.ErrExistingEmail},
		{name: "update email taken", status: 500, code: "existing_user_email", update: true, want: contactsync.ErrEmailTaken, wpTarget: wordpress.ErrExistingEmail},
		{name: "update invalid email", status: 400, code: "rest_user_invalid_email", update: true, notWant: contactsync.ErrEmailTaken, wpTarget: wordpress.ErrInvalid},
		{name: "create forbidden", status: 403, code: "rest_cannot_create_user", notWant: contactsync.ErrLoginTaken, wpTarget: wordpress.ErrForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			users, _ := newUsers(t, map[string]func(http.ResponseWriter, *http.Request){
				"POST /wpbridge/v1/users/lookup": wpError(tc.status, tc.code),
				"POST /wp/v2/users/5":            wpError(tc.status, tc.code),
			})
			var err error
			if tc.update {
				_, err = users.Update(ctx, &contactsync.User{ID: 5}, nu.Change)
			} else {
				_, err = users.Lookup(ctx, contactsync.Lookup{Key: "k", ContactID: "7", Create: &nu, Logins: []string{"ann"}})
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
			if tc.notWant != nil && errors.Is(err, tc.notWant) {
				t.Errorf("err %v matches %v", err, tc.notWant)
			}
			if !errors.Is(err, tc.wpTarget) {
				t.Errorf("err %v lost the client's %v", err, tc.wpTarget)
			}
			if err != nil && (strings.Contains(err.Error(), "pw-Secret-123") || strings.Contains(err.Error(), "abcd efgh")) {
				t.Errorf("error carries a secret: %v", err)
			}
		})
	}
}

// TestLookupOldPlugin: a plugin older than the lookup route pauses the work
// (as a missing plugin does) with a reason naming the fix, instead of
// failing each webhook.
func TestLookupOldPlugin(t *testing.T) {
	users, _ := newUsers(t, map[string]func(http.ResponseWriter, *http.Request){
		"POST /wpbridge/v1/users/lookup": wpError(404, "rest_no_route"),
	})
	_, err := users.Lookup(context.Background(), contactsync.Lookup{Key: "activecampaign_contact_id", ContactID: "7", Email: "ann@example.com"})
	if !errors.Is(err, wordpress.ErrPluginMissing) || errors.Is(err, contactsync.ErrPermanent) {
		t.Fatalf("Lookup with an old plugin: %v, want ErrPluginMissing, not permanent", err)
	}
	if v := Classify(err); v.Class != webhook.AuthFailed || !strings.Contains(v.Reason, "older than 1.1") {
		t.Errorf("classified %v %q, want a pause naming the plugin version", v.Class, v.Reason)
	}
}
