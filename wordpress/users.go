package wordpress

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// UsersService handles WordPress users (/wp/v2/users and the companion plugin's
// user routes). Every read uses context=edit, so bad credentials fail loudly
// instead of looking anonymous.
type UsersService struct{ c *Client }

// User is a WordPress user as seen in the edit context.
type User struct {
	ID          int64
	Username    string
	Email       string
	FirstName   string
	LastName    string
	Name        string // display_name
	Nickname    string
	Description string
	URL         string
	Roles       []string
	// Fields holds every string field of the answer by its REST name
	// ("username", "email", "first_name", "name", "url", "locale", ...), for
	// callers that pick fields by name.
	Fields map[string]string
	// Meta holds the user meta exposed by the companion plugin (wpbridge_meta):
	// each value is a string or a []string. Nil when the plugin is missing.
	Meta map[string]any
	// ExtraCapabilities are the user's own capability entries
	// (extra_capabilities, its wp_capabilities meta): its role names and any
	// capability granted to it directly, true when granted. Nil when the
	// answer lacks them.
	ExtraCapabilities map[string]bool
	// Capabilities are every capability the user holds through its roles or
	// directly (capabilities, WordPress's allcaps), true when held. Nil when
	// the answer lacks them.
	Capabilities map[string]bool
	// State is the companion plugin's digest of the user as read
	// (wpbridge_state): send it as UserRequest.IfState to write only while
	// the user is unchanged. Empty without the plugin.
	State string
	// Warnings are the errors of WordPress listeners of the actions the
	// write fired (UserRequest.Hooks), as the companion plugin caught them.
	Warnings []string
}

// GrantedCapabilities returns, sorted, the capabilities granted to the user
// directly: its own capability entries that are granted and are not one of
// its roles (role-editor plugins add such entries).
func (u *User) GrantedCapabilities() []string {
	var out []string
	for c, ok := range u.ExtraCapabilities {
		if ok && !slices.Contains(u.Roles, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// MetaString returns the meta value for key as a string ("" when unset; a list
// is joined with commas).
func (u *User) MetaString(key string) string {
	switch v := u.Meta[key].(type) {
	case string:
		return v
	case []string:
		return strings.Join(v, ",")
	}
	return ""
}

// MetaStrings returns the meta value for key as a list (nil when unset; a
// non-empty string becomes a one-element list).
func (u *User) MetaStrings(key string) []string {
	switch v := u.Meta[key].(type) {
	case []string:
		return v
	case string:
		if v != "" {
			return []string{v}
		}
	}
	return nil
}

// UserRequest is the body of Create and Update; all fields, roles and meta go
// in one request.
type UserRequest struct {
	// Fields are the user's fields by their REST name: "username" (create
	// only; letters, digits, space and _.-@, WordPress rejects others),
	// "email", "password", "first_name", "last_name", "name" (the display
	// name), "nickname", "description", "url", or another string field of
	// the users endpoint. An empty value leaves the field unchanged.
	Fields map[string]string
	Roles  []string // replaces all roles; nil = unchanged
	// Meta is written through the companion plugin (wpbridge_meta): a string,
	// a []string (stored as one serialized array, WP Fusion's format), or nil to
	// delete the key. Protected keys are refused by the plugin (ErrInvalid).
	Meta map[string]any
	// SendNotification sends WordPress's own new-user email to the user.
	SendNotification bool
	// IfState (Update only) is a User.State: the companion plugin then
	// writes nothing and answers ErrStale when the user has changed since.
	IfState string
	// Hooks, when set, has the companion plugin (1.2) fire WordPress's
	// actions for this write once it is saved (WP Fusion's wpf_* and
	// wpbridge's own), and apply Roles as a difference through WP_User's
	// role methods. Listeners that fail are reported in User.Warnings.
	Hooks *Hooks
}

// Hooks describes the round behind a write, for the actions the companion
// plugin fires (body field wpbridge_hooks).
type Hooks struct {
	Action    string            // add, update, update_tags, remove_access, password_reset
	ContactID string            // the ActiveCampaign contact id, passed to wpbridge_* actions
	TagsKey   string            // the tags meta key: when Meta holds it, the tag actions fire
	Meta      map[string]string // the values loaded from the contact (no password): wpf_user_* $meta
}

// reservedFields are the body keys UserRequest sets from Roles, Meta and
// SendNotification; Fields may not name them.
var reservedFields = []string{"roles", "meta", "wpbridge_meta", "send_user_notification", "wpbridge_if_state", "wpbridge_hooks"}

func (r UserRequest) body() (map[string]any, error) {
	b := map[string]any{}
	for k, v := range r.Fields {
		if slices.Contains(reservedFields, k) {
			return nil, invalidf("field %q: set it with Roles, Meta or SendNotification", k)
		}
		if v != "" {
			b[k] = v
		}
	}
	if r.Roles != nil {
		b["roles"] = r.Roles
	}
	if len(r.Meta) > 0 {
		meta, err := wireMeta(r.Meta)
		if err != nil {
			return nil, err
		}
		b["wpbridge_meta"] = meta
	}
	if r.SendNotification {
		b["send_user_notification"] = true
	}
	if r.IfState != "" {
		b["wpbridge_if_state"] = r.IfState
	}
	if h := r.Hooks; h != nil {
		meta := h.Meta
		if meta == nil {
			meta = map[string]string{}
		}
		b["wpbridge_hooks"] = map[string]any{"action": h.Action, "contact_id": h.ContactID, "tags_key": h.TagsKey, "meta": meta}
	}
	return b, nil
}

// wireMeta checks meta values and turns a nil []string into an empty list.
func wireMeta(m map[string]any) (map[string]any, error) {
	meta := make(map[string]any, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case nil, string:
			meta[k] = v
		case []string:
			if v == nil {
				v = []string{}
			}
			meta[k] = v
		default:
			return nil, invalidf("meta %q: value must be a string, []string or nil, not %T", k, v)
		}
	}
	return meta, nil
}

// wireUser is the JSON shape of a user in the edit context.
type wireUser struct {
	ID          int64             `json:"id"`
	Username    string            `json:"username"`
	Name        string            `json:"name"`
	FirstName   string            `json:"first_name"`
	LastName    string            `json:"last_name"`
	Email       string            `json:"email"`
	URL         string            `json:"url"`
	Description string            `json:"description"`
	Nickname    string            `json:"nickname"`
	Roles       []string          `json:"roles"`
	Meta        json.RawMessage   `json:"wpbridge_meta"`
	ExtraCaps   capabilities      `json:"extra_capabilities"`
	Caps        capabilities      `json:"capabilities"`
	State       string            `json:"wpbridge_state"`
	Warnings    []string          `json:"wpbridge_warnings"`
	Fields      map[string]string `json:"-"` // every string field by name
}

// capabilities decodes a capability object ({"edit_posts": true}); PHP may
// also send 1, "1" or, for none, an empty array. Nil when absent.
type capabilities map[string]bool

func (c *capabilities) UnmarshalJSON(b []byte) error {
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		var list []any
		if json.Unmarshal(b, &list) == nil && len(list) == 0 { // PHP's empty array
			*c = capabilities{}
			return nil
		}
		return err
	}
	*c = make(capabilities, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case bool:
			(*c)[k] = v
		case float64:
			(*c)[k] = v != 0
		case string:
			(*c)[k] = v != "" && v != "0"
		}
	}
	return nil
}

// UnmarshalJSON decodes the fields above and keeps every string field by name.
func (w *wireUser) UnmarshalJSON(b []byte) error {
	type plain wireUser
	if err := json.Unmarshal(b, (*plain)(w)); err != nil {
		return err
	}
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	w.Fields = make(map[string]string, len(all))
	for k, v := range all {
		if s, ok := v.(string); ok {
			w.Fields[k] = s
		}
	}
	return nil
}

func (w *wireUser) user() *User {
	u := &User{
		ID: w.ID, Username: w.Username, Email: w.Email, FirstName: w.FirstName, LastName: w.LastName,
		Name: w.Name, Nickname: w.Nickname, Description: w.Description, URL: w.URL, Roles: w.Roles,
		Fields: w.Fields, ExtraCapabilities: w.ExtraCaps, Capabilities: w.Caps, State: w.State,
		Warnings: w.Warnings,
	}
	var raw map[string]any
	if len(w.Meta) > 0 && json.Unmarshal(w.Meta, &raw) == nil {
		u.Meta = make(map[string]any, len(raw))
		for k, v := range raw {
			switch v := v.(type) {
			case string:
				u.Meta[k] = v
			case []any:
				list := make([]string, 0, len(v))
				for _, item := range v {
					if s, ok := item.(string); ok {
						list = append(list, s)
					}
				}
				u.Meta[k] = list
			}
		}
	} else if string(w.Meta) == "[]" { // PHP's empty array
		u.Meta = map[string]any{}
	}
	return u
}

func userRoute(id int64) string { return "/wp/v2/users/" + strconv.FormatInt(id, 10) }

var editContext = url.Values{"context": {"edit"}}

// one decodes a single-user answer and rejects an empty object.
func (s *UsersService) one(ctx context.Context, r request) (*User, error) {
	var w wireUser
	if _, err := s.c.do(ctx, r, &w); err != nil {
		return nil, err
	}
	if w.ID == 0 {
		return nil, &Error{Code: CodeInvalidResponse, Message: "answer has no user id", Method: r.method, Path: r.route}
	}
	return w.user(), nil
}

// Get loads a user by id (GET /wp/v2/users/{id}).
func (s *UsersService) Get(ctx context.Context, id int64) (*User, error) {
	if id <= 0 {
		return nil, invalidf("user id %d", id)
	}
	return s.one(ctx, request{method: http.MethodGet, route: userRoute(id), query: editContext})
}

// Me loads the user the client acts as (GET /wp/v2/users/me).
func (s *UsersService) Me(ctx context.Context) (*User, error) {
	return s.one(ctx, request{method: http.MethodGet, route: "/wp/v2/users/me", query: editContext})
}

// FindByEmail returns the user whose email equals email, ignoring ASCII case
// only (GET /wp/v2/users?search=...; WordPress searches substrings, and its
// database may fold look-alikes such as the Kelvin sign to "k", so anything
// but an exact match is filtered out here). ErrNotFound when there is none.
func (s *UsersService) FindByEmail(ctx context.Context, email string) (*User, error) {
	email = strings.TrimSpace(email)
	if !strings.Contains(email, "@") || strings.ContainsAny(email, "*") {
		return nil, invalidf("find by email: not an email address")
	}
	for page := 1; page <= 10; page++ {
		q := url.Values{"context": {"edit"}, "search": {email}, "per_page": {"100"}, "page": {strconv.Itoa(page)}}
		var list []wireUser
		h, err := s.c.do(ctx, request{method: http.MethodGet, route: "/wp/v2/users", query: q}, &list)
		if err != nil {
			return nil, err
		}
		for i := range list {
			if equalEmail(list[i].Email, email) {
				return list[i].user(), nil
			}
		}
		if pages, _ := strconv.Atoi(h.Get("X-WP-TotalPages")); page >= pages {
			break
		}
	}
	return nil, ErrNotFound
}

// equalEmail reports whether a and b are the same address: equal, or ASCII
// and equal but for the case of letters. strings.EqualFold alone would match
// "\u212Aate@example.com" (Kelvin sign) to "kate@example.com". (The API
// client packages and the rules share no code, so each has this line.)
func equalEmail(a, b string) bool {
	isASCII := func(s string) bool { return strings.IndexFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) < 0 }
	return a == b || (isASCII(a) && isASCII(b) && strings.EqualFold(a, b))
}

// ResetKey makes a new password-reset key for user id (POST
// /wpbridge/v1/users/{id}/reset-key, companion plugin: WordPress's
// get_password_reset_key, which replaces any earlier key) and returns it
// with the user's login. With sendEmail WordPress also sends its own
// password-reset email, carrying that key. The key is a secret: it never
// appears in an error. ErrPluginMissing with a plugin too old for the route.
func (s *UsersService) ResetKey(ctx context.Context, id int64, sendEmail bool) (key, login string, err error) {
	email := KeyEmailNone
	if sendEmail {
		email = KeyEmailReset
	}
	return s.ResetKeyEmail(ctx, id, email)
}

// KeyEmail is the email WordPress sends with a new reset key (ResetKeyEmail).
type KeyEmail string

const (
	KeyEmailNone  KeyEmail = ""      // no email
	KeyEmailReset KeyEmail = "reset" // WordPress's password-reset email (retrieve_password)
	// KeyEmailNewUser: WordPress's new-user email (wp_new_user_notification);
	// the key returned is the one its set-password link carries, so one key
	// serves the email and a link written elsewhere (an older companion
	// plugin sends no email: the error says to update it).
	KeyEmailNewUser KeyEmail = "new_user"
)

// ResetKeyEmail is ResetKey sending email with the key.
func (s *UsersService) ResetKeyEmail(ctx context.Context, id int64, email KeyEmail) (key, login string, err error) {
	if id <= 0 {
		return "", "", invalidf("reset key: user id %d", id)
	}
	r := request{method: http.MethodPost, route: "/wpbridge/v1/users/" + strconv.FormatInt(id, 10) + "/reset-key",
		body: map[string]any{"send_email": email == KeyEmailReset, "email": string(email)}}
	var out struct {
		Key   string `json:"key"`
		Login string `json:"login"`
		Sent  bool   `json:"sent"`
	}
	if _, err := s.c.do(ctx, r, &out); err != nil {
		return "", "", err
	}
	if out.Key == "" || out.Login == "" {
		return "", "", &Error{Code: CodeInvalidResponse, Message: "answer has no key or login", Method: r.method, Path: r.route}
	}
	if email != KeyEmailNone && !out.Sent {
		return "", "", &Error{StatusCode: http.StatusOK, Code: "wpbridge_plugin_outdated", Method: r.method, Path: r.route,
			Message: "no email sent with the key: the companion plugin is too old for the new-user email with a set-password link: update it"}
	}
	return out.Key, out.Login, nil
}

// CheckPassword reports whether password is user id's password
// (POST /wpbridge/v1/users/{id}/password-check, companion plugin: WordPress's
// wp_check_password against the stored hash). The plugin never answers true
// for a user who can manage the site. The password travels in the body only
// and never appears in an error. ErrNotFound when there is no such user,
// ErrPluginMissing without the plugin (or with one too old for the route).
func (s *UsersService) CheckPassword(ctx context.Context, id int64, password string) (bool, error) {
	if id <= 0 || password == "" {
		return false, invalidf("check password: user id %d, password required", id)
	}
	r := request{method: http.MethodPost, route: "/wpbridge/v1/users/" + strconv.FormatInt(id, 10) + "/password-check",
		body: map[string]string{"password": password}, secrets: []string{password}}
	var out struct {
		Match *bool `json:"match"`
	}
	if _, err := s.c.do(ctx, r, &out); err != nil {
		return false, err
	}
	if out.Match == nil {
		return false, &Error{Code: CodeInvalidResponse, Message: `answer has no "match"`, Method: r.method, Path: r.route}
	}
	return *out.Match, nil
}

// FindByMeta returns the user (lowest id) whose meta key equals value
// (GET /wpbridge/v1/users/by-meta, companion plugin). ErrNotFound when there is
// none, ErrPluginMissing without the plugin.
func (s *UsersService) FindByMeta(ctx context.Context, key, value string) (*User, error) {
	if key == "" || value == "" {
		return nil, invalidf("meta key and value are required")
	}
	return s.one(ctx, request{method: http.MethodGet, route: "/wpbridge/v1/users/by-meta",
		query: url.Values{"key": {key}, "value": {value}}})
}

// Create creates a user (POST /wp/v2/users) with roles, meta and the optional
// notification in one request. A taken login gives ErrExistingLogin, a taken
// email ErrExistingEmail (WordPress answers both with 500). When Meta is set but
// the companion plugin is missing, the saved user is returned together with an
// error matching ErrPluginMissing (the same holds for Update).
func (s *UsersService) Create(ctx context.Context, req UserRequest) (*User, error) {
	if req.Fields["username"] == "" || req.Fields["email"] == "" || req.Fields["password"] == "" {
		return nil, invalidf("create user: username, email and password are required")
	}
	return s.write(ctx, "/wp/v2/users", req)
}

// Update changes a user's fields, roles and meta in one request
// (POST /wp/v2/users/{id}). Logins cannot change: Fields["username"] must be empty.
func (s *UsersService) Update(ctx context.Context, id int64, req UserRequest) (*User, error) {
	if id <= 0 {
		return nil, invalidf("user id %d", id)
	}
	if req.Fields["username"] != "" {
		return nil, invalidf("update user %d: usernames cannot change", id)
	}
	return s.write(ctx, userRoute(id), req)
}

func (s *UsersService) write(ctx context.Context, route string, req UserRequest) (*User, error) {
	body, err := req.body()
	if err != nil {
		return nil, err
	}
	u, err := s.one(ctx, request{method: http.MethodPost, route: route, query: editContext, body: body, secrets: []string{req.Fields["password"]}})
	if err != nil {
		return nil, err
	}
	if len(req.Meta) > 0 && u.Meta == nil { // core silently drops unknown fields
		return u, &Error{StatusCode: http.StatusNotFound, Code: "rest_no_route", Method: http.MethodPost,
			Path: "/wpbridge/", Message: "user saved but meta ignored: the wpbridge companion plugin is missing"}
	}
	return u, nil
}

// Delete deletes a user for good (DELETE /wp/v2/users/{id}?force=true), giving
// their content to reassign (0: delete their content too).
func (s *UsersService) Delete(ctx context.Context, id, reassign int64) error {
	_, err := s.DeleteForContact(ctx, id, reassign, "", "")
	return err
}

// DeleteForContact is Delete for the user linked to an ActiveCampaign
// contact: with contactID set, the companion plugin (1.2) fires
// wpbridge_user_deleted(id, contactID) once the user is deleted, and
// warnings are the errors its listeners threw. With ifState (a User.State)
// set, the plugin deletes the user only while it is still in that state, else
// nothing is deleted and the error is ErrStale. Through an application
// password the plugin never deletes a user who can manage the site (403
// wpbridge_protected_user, ErrForbidden).
func (s *UsersService) DeleteForContact(ctx context.Context, id, reassign int64, contactID, ifState string) (warnings []string, err error) {
	if id <= 0 || reassign < 0 {
		return nil, invalidf("user id %d, reassign %d", id, reassign)
	}
	q := url.Values{"force": {"true"}, "reassign": {"false"}}
	if reassign > 0 {
		q.Set("reassign", strconv.FormatInt(reassign, 10))
	}
	if contactID != "" {
		q.Set("wpbridge_contact", contactID)
	}
	if ifState != "" {
		q.Set("wpbridge_if_state", ifState)
	}
	var out struct {
		Deleted  bool     `json:"deleted"`
		Warnings []string `json:"wpbridge_warnings"`
	}
	r := request{method: http.MethodDelete, route: userRoute(id), query: q}
	if _, err := s.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	if !out.Deleted {
		return nil, &Error{Code: CodeInvalidResponse, Message: "user not deleted", Method: r.method, Path: r.route}
	}
	return out.Warnings, nil
}

// List returns one page of users ordered by id (GET /wp/v2/users) and the total
// number of users. perPage is 1-100.
func (s *UsersService) List(ctx context.Context, page, perPage int) ([]User, int, error) {
	if page < 1 || perPage < 1 || perPage > 100 {
		return nil, 0, invalidf("page %d, per page %d", page, perPage)
	}
	q := url.Values{"context": {"edit"}, "page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(perPage)},
		"orderby": {"id"}, "order": {"asc"}}
	var list []wireUser
	h, err := s.c.do(ctx, request{method: http.MethodGet, route: "/wp/v2/users", query: q}, &list)
	if err != nil {
		return nil, 0, err
	}
	users := make([]User, len(list))
	for i := range list {
		users[i] = *list[i].user()
	}
	total, _ := strconv.Atoi(h.Get("X-WP-Total"))
	return users, total, nil
}
