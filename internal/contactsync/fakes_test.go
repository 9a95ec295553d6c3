package contactsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

var (
	_ ContactSource = (*fakeContacts)(nil)
	_ UserStore     = (*fakeUsers)(nil)
	_ PasswordStore = (*fakePasswords)(nil)
)

// errTransient stands for a failure that can pass (timeout, 5xx, 429).
var errTransient = errors.New("connection reset by peer")

// failOn returns a fail hook that fails method with err the first n times
// (n < 0: always).
func failOn(method string, n int, err error) func(string) error {
	var mu sync.Mutex
	return func(m string) error {
		mu.Lock()
		defer mu.Unlock()
		if m != method || n == 0 {
			return nil
		}
		n--
		return err
	}
}

// fakeUsers is an in-memory WordPress user table. Like WordPress, logins and
// emails are unique case-insensitively, a login with characters strict
// sanitize_user would strip is rejected, and the email lives in User.Email.
type fakeUsers struct {
	mu         sync.Mutex
	users      map[int64]*User
	passwords  map[int64]string
	nextID     int64
	creates    []NewUser
	updates    []userUpdate
	notified   []int64
	deleted    [][2]int64 // user id, reassigned to
	keys       int
	resetMails []int64
	callLog
	// beforeCreate runs before Create touches the table (without the lock).
	beforeCreate func()
	// afterCreate is returned by Create after the user was stored: a timeout
	// after WordPress committed.
	afterCreate error
	versions    map[int64]int // writes per user: the user's State
	// ignoreUpdate makes Lookup ignore Lookup.Update, as a plugin older
	// than 1.4 does.
	ignoreUpdate bool
}

type userUpdate struct {
	id int64
	ch Change
}

func newFakeUsers() *fakeUsers {
	return &fakeUsers{users: map[int64]*User{}, passwords: map[int64]string{}, nextID: 100, versions: map[int64]int{}}
}

// seed stores u as is (ID required) with password pw.
func (f *fakeUsers) seed(u User, pw string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := cloneUser(&u)
	if c.Fields == nil {
		c.Fields = map[string]string{}
	}
	if c.Meta == nil {
		c.Meta = map[string]any{}
	}
	f.users[u.ID] = c
	f.passwords[u.ID] = pw
}

func cloneUser(u *User) *User {
	out := *u
	out.Roles = slices.Clone(u.Roles)
	out.Fields = maps.Clone(u.Fields)
	out.Meta = make(map[string]any, len(u.Meta))
	for k, v := range u.Meta {
		if s, ok := v.([]string); ok {
			v = slices.Clone(s)
		}
		out.Meta[k] = v
	}
	return &out
}

// out is the user as the fake answers it, with its State; the caller holds the lock.
func (f *fakeUsers) out(u *User) *User {
	c := cloneUser(u)
	c.State = fmt.Sprintf("%d.%d", u.ID, f.versions[u.ID])
	return c
}

// touch marks a change of user id made behind wpbridge's back (an admin's edit).
func (f *fakeUsers) touch(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.versions[id]++
}

// Lookup does what the plugin's lookup route does, through the fake's own
// FindByMeta, FindByEmail, CheckPassword and Create, so that a test can make
// any of them fail and count them; "Lookup" counts the requests.
func (f *fakeUsers) Lookup(ctx context.Context, l Lookup) (Found, error) {
	if err := f.enter("Lookup"); err != nil {
		return Found{}, err
	}
	u, err := f.FindByMeta(ctx, l.Key, l.ContactID)
	if err == nil {
		return f.lookupUpdate(l, Found{User: u, By: FoundByContact})
	}
	if !errors.Is(err, ErrUserNotFound) {
		return Found{}, err
	}
	if l.Email != "" {
		u, err = f.FindByEmail(ctx, l.Email)
		if err == nil {
			match := false
			if l.Password != "" {
				if match, err = f.CheckPassword(ctx, u.ID, l.Password); err != nil {
					return Found{}, err
				}
			}
			found := Found{User: u, By: FoundByEmail, PasswordMatches: match}
			if !l.UpdateByEmail {
				return found, nil
			}
			return f.lookupUpdate(l, found)
		}
		if !errors.Is(err, ErrUserNotFound) {
			return Found{}, err
		}
	}
	if l.Create == nil {
		return Found{}, nil
	}
	for _, login := range l.Logins {
		nu := *l.Create
		nu.Login = login
		u, err = f.Create(ctx, nu)
		if !errors.Is(err, ErrLoginTaken) {
			break
		}
	}
	if err != nil {
		return Found{}, err
	}
	return Found{User: u, By: FoundCreated}, nil
}

// lookupUpdate makes Lookup's update to the user found when it has the
// shape, as the plugin does; the update recorded is what it changed.
func (f *fakeUsers) lookupUpdate(l Lookup, found Found) (Found, error) {
	if l.Update == nil || f.ignoreUpdate {
		return found, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.users[found.User.ID]
	if !slices.Equal(u.Roles, l.Shape.Roles) || len(u.ExtraCaps) > 0 || len(u.AdminCaps) > 0 || u.CapsUnknown {
		return found, nil
	}
	for _, k := range l.Shape.MetaAbsent {
		if _, ok := u.Meta[k]; ok {
			return found, nil
		}
	}
	if e, ok := l.Update.Fields["user_email"]; ok {
		if err := f.taken(u.ID, "", e); err != nil {
			return Found{}, err
		}
	}
	before := f.out(u)
	if eff := effective(*l.Update, before); !eff.IsEmpty() || l.Update.Hooks != nil {
		eff.Hooks = l.Update.Hooks
		f.updates = append(f.updates, userUpdate{u.ID, eff})
	}
	f.write(u, *l.Update)
	found.User, found.Before, found.Written = f.out(u), before, true
	return found, nil
}

func (f *fakeUsers) ids() []int64 { return slices.Sorted(maps.Keys(f.users)) }

func (f *fakeUsers) FindByMeta(_ context.Context, key, value string) (*User, error) {
	if err := f.enter("FindByMeta"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range f.ids() {
		if v, ok := f.users[id].Meta[key].(string); ok && v == value {
			return f.out(f.users[id]), nil
		}
	}
	return nil, ErrUserNotFound
}

func (f *fakeUsers) FindByEmail(_ context.Context, email string) (*User, error) {
	if err := f.enter("FindByEmail"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range f.ids() {
		if strings.EqualFold(f.users[id].Email, email) {
			return f.out(f.users[id]), nil
		}
	}
	return nil, ErrUserNotFound
}

// taken reports whether another user than id has the login or email.
func (f *fakeUsers) taken(id int64, login, email string) error {
	for _, u := range f.users {
		if u.ID == id {
			continue
		}
		if login != "" && strings.EqualFold(u.Login, login) {
			return ErrLoginTaken
		}
		if email != "" && strings.EqualFold(u.Email, email) {
			return ErrEmailTaken
		}
	}
	return nil
}

func (f *fakeUsers) Create(_ context.Context, nu NewUser) (*User, error) {
	if err := f.enter("Create"); err != nil {
		return nil, err
	}
	if f.beforeCreate != nil {
		f.beforeCreate()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creates = append(f.creates, nu)
	if nu.Login == "" || SanitizeLogin(nu.Login) != nu.Login {
		return nil, fmt.Errorf("rest_user_invalid_username: %q", nu.Login)
	}
	email := nu.Fields["user_email"]
	if !validEmail(email) {
		return nil, errors.New("rest_invalid_param: email")
	}
	if err := f.taken(0, nu.Login, email); err != nil {
		return nil, err
	}
	f.nextID++
	u := &User{ID: f.nextID, Login: nu.Login, Fields: map[string]string{}, Meta: map[string]any{}}
	f.users[u.ID] = u
	f.write(u, nu.Change)
	if f.afterCreate != nil {
		return nil, f.afterCreate
	}
	return f.out(u), nil
}

// Update writes ch to the user; with a State it checks it first, as the
// plugin does (an empty change only checks).
func (f *fakeUsers) Update(_ context.Context, in *User, ch Change) (*User, error) {
	if err := f.enter("Update"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := in.ID
	u, ok := f.users[id]
	if !ok {
		return nil, ErrUserNotFound
	}
	if in.State != "" && f.out(u).State != in.State {
		return nil, ErrStale
	}
	if ch.IsEmpty() && ch.Hooks == nil { // the adapter only reads the user then
		return f.out(u), nil
	}
	f.updates = append(f.updates, userUpdate{id, ch})
	if e, ok := ch.Fields["user_email"]; ok {
		if err := f.taken(id, "", e); err != nil {
			return nil, err
		}
	}
	f.write(u, ch)
	return f.out(u), nil
}

func (f *fakeUsers) Delete(_ context.Context, du *User, reassign int64, _ string) ([]string, error) {
	if err := f.enter("Delete"); err != nil {
		return nil, err
	}
	id := du.ID
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok || id == reassign {
		return nil, ErrUserNotFound
	}
	if du.State != "" && f.out(u).State != du.State {
		return nil, ErrStale
	}
	delete(f.users, id)
	f.deleted = append(f.deleted, [2]int64{id, reassign})
	return nil, nil
}

// Self is user 1, the admin wpbridge acts as.
func (f *fakeUsers) Self(_ context.Context) (*User, error) {
	return &User{ID: 1, Login: "admin", Roles: []string{"administrator"}}, nil
}

// ResetKey answers a new key "key-N" each time; ResetEmail counts a reset
// mail, NewUserEmail a new-user notification.
func (f *fakeUsers) ResetKey(_ context.Context, id int64, email KeyEmail) (string, string, error) {
	if err := f.enter("ResetKey"); err != nil {
		return "", "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return "", "", ErrUserNotFound
	}
	f.keys++
	switch email {
	case ResetEmail:
		f.resetMails = append(f.resetMails, id)
	case NewUserEmail:
		f.notified = append(f.notified, id)
	}
	return fmt.Sprintf("key-%d", f.keys), u.Login, nil
}

func (f *fakeUsers) CheckPassword(_ context.Context, id int64, password string) (bool, error) {
	if err := f.enter("CheckPassword"); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	pw, ok := f.passwords[id]
	return ok && pw == password, nil
}

// write applies ch to u; the caller holds the lock.
func (f *fakeUsers) write(u *User, ch Change) {
	f.versions[u.ID]++
	for k, v := range ch.Fields {
		switch k {
		case "user_pass":
			f.passwords[u.ID] = v
		case "user_email":
			u.Email = v
		default:
			u.Fields[k] = v
		}
	}
	if ch.Roles != nil {
		u.Roles = slices.Clone(ch.Roles)
	}
	for k, v := range ch.Meta {
		if v == nil {
			delete(u.Meta, k)
			continue
		}
		u.Meta[k] = v
	}
	if ch.SendNotification {
		f.notified = append(f.notified, u.ID)
	}
}

func (f *fakeUsers) user(id int64) *User {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, ok := f.users[id]; ok {
		return cloneUser(u)
	}
	return nil
}

// callLog records a fake's calls and lets a test make any of them fail.
type callLog struct {
	mu    sync.Mutex
	calls []string
	fail  func(method string) error
}

// enter records a call of method and returns the failure the test set for it.
func (l *callLog) enter(method string) error {
	l.mu.Lock()
	l.calls = append(l.calls, method)
	fail := l.fail
	l.mu.Unlock()
	if fail != nil {
		return fail(method)
	}
	return nil
}

// count returns how many times method was called ("" = all calls).
func (l *callLog) count(method string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.calls {
		if method == "" || c == method {
			n++
		}
	}
	return n
}

// fakePasswords is an in-memory PasswordStore.
type fakePasswords struct {
	mu    sync.Mutex
	m     map[string]string
	saves int
	fail  func(method string) error
}

func newFakePasswords() *fakePasswords { return &fakePasswords{m: map[string]string{}} }

func (f *fakePasswords) check(method string) error {
	if f.fail != nil {
		return f.fail(method)
	}
	return nil
}

func (f *fakePasswords) PendingPassword(_ context.Context, contactID string) (string, bool, error) {
	if err := f.check("PendingPassword"); err != nil {
		return "", false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	pw, ok := f.m[contactID]
	return pw, ok, nil
}

func (f *fakePasswords) SavePendingPassword(_ context.Context, contactID, password string) error {
	if err := f.check("SavePendingPassword"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[contactID] = password
	f.saves++
	return nil
}

func (f *fakePasswords) DeletePendingPassword(_ context.Context, contactID string) error {
	if err := f.check("DeletePendingPassword"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, contactID)
	return nil
}

func (f *fakePasswords) pending(contactID string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pw, ok := f.m[contactID]
	return pw, ok
}

// env is a Syncer wired to fresh fakes.
type env struct {
	ac *fakeContacts
	wp *fakeUsers
	pw *fakePasswords
	s  *Syncer
}

const (
	tagsKey = "activecampaign_tags"
	cidKey  = "activecampaign_contact_id"
)

func testPolicy() Policy {
	return Policy{
		DefaultRole:         "subscriber",
		AllowedRoles:        []string{"subscriber", "customer"},
		UsernameFormat:      "email",
		PasswordLength:      16,
		ReturnPasswordField: "12",
		FieldMap:            []Mapping{{Target: "first_name", Source: "firstName"}, {Target: "last_name", Source: "lastName"}},
		TagsMetaKey:         tagsKey,
		ContactIDMetaKey:    cidKey,
	}
}

// seededRand is a deterministic stand-in for crypto/rand.
func seededRand(seed byte) io.Reader { return rand.NewChaCha8([32]byte{seed}) }

func newEnv(p Policy, cs ...*Contact) *env {
	e := &env{ac: newFakeContacts(cs...), wp: newFakeUsers(), pw: newFakePasswords()}
	e.s = &Syncer{Contacts: e.ac, Users: e.wp, Passwords: e.pw, Policy: p, Rand: seededRand(1)}
	return e
}

func ann() *Contact {
	return &Contact{ID: "42", Email: "ann@example.com", FirstName: "Ann", LastName: "Lee", Phone: "555-0101", Orgname: "Acme",
		Fields: map[string]string{"9": "||Golf||Tennis||", "10": "50-99", "5": "ann.custom", "7": "MappedPass99"}}
}

func mustRun(t *testing.T, s *Syncer, req Request) Result {
	t.Helper()
	res, err := s.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("Run(%s %s): %v", req.Action, req.ContactID, err)
	}
	return res
}

func hasString(list []string, s string) bool { return slices.Contains(list, s) }

func hasSubstring(list []string, sub string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.Contains(s, sub) })
}
