package wordpress

import (
	"context"
	"net/http"
)

// Found says how Lookup found its user.
type Found string

// The answers of Lookup.
const (
	FoundNone    Found = "none"    // no user matched and nothing was to be created
	FoundMeta    Found = "meta"    // the user whose meta key holds the value
	FoundEmail   Found = "email"   // the user with the email
	FoundCreated Found = "created" // the user created from LookupRequest.Create
)

// LookupRequest asks for the user whose meta Key is exactly Value, else the
// user whose Email is the given one (ASCII case aside), else the user created
// from Create under the first free login of Logins.
type LookupRequest struct {
	Key, Value string
	Email      string // optional
	// Password, optional, is checked against a user found by email
	// (LookupResult.PasswordMatch); it never appears in an error.
	Password string
	Create   *UserRequest // optional; without "username" (Logins gives it)
	Logins   []string     // candidates for the new user's login, in order
	// Update, optional (plugin 1.4), is written to the user found by meta
	// (with UpdateByEmail, also to one found by email) in the same request,
	// through the users endpoint, provided the user has IfShape (required
	// with Update). LookupResult.Written says whether it was.
	Update        *UserRequest
	UpdateByEmail bool
	IfShape       *Shape
}

// Shape is what a user must be for LookupRequest.Update to be written:
// exactly these roles (in WordPress's order) and own capability entries
// (User.ExtraCapabilities), no admin-level capability, and none of the meta
// keys MetaAbsent.
type Shape struct {
	Roles      []string        `json:"roles"`
	Caps       map[string]bool `json:"caps"`
	MetaAbsent []string        `json:"meta_absent,omitempty"`
}

// LookupResult is Lookup's answer.
type LookupResult struct {
	Found         Found
	User          *User // nil with FoundNone
	PasswordMatch bool  // the user found by email has Password (never for one who can manage the site)
	// Written: LookupRequest.Update was written; User is then the user
	// after the write and Before the user as found.
	Written bool
	Before  *User
}

// lookupBody is the JSON body of the lookup route.
type lookupBody struct {
	Key      string         `json:"key"`
	Value    string         `json:"value"`
	Email    string         `json:"email,omitempty"`
	Password string         `json:"password,omitempty"`
	Create   map[string]any `json:"create,omitempty"`
	Logins   []string       `json:"logins,omitempty"`
	Update   map[string]any `json:"update,omitempty"`
	UpdateBy string         `json:"update_by,omitempty"`
	IfShape  *Shape         `json:"if_shape,omitempty"`
}

// Lookup finds or creates a user in one request (POST
// /wpbridge/v1/users/lookup, companion plugin 1.1): one WordPress boot where
// FindByMeta, FindByEmail, CheckPassword and Create take one each. A create
// goes through the users endpoint inside WordPress, so its errors are
// Create's (ErrExistingEmail; ErrExistingLogin once every login is taken).
// ErrPluginMissing with a plugin older than the route.
func (s *UsersService) Lookup(ctx context.Context, req LookupRequest) (*LookupResult, error) {
	if req.Key == "" || req.Value == "" {
		return nil, invalidf("lookup: meta key and value are required")
	}
	b := lookupBody{Key: req.Key, Value: req.Value, Email: req.Email, Password: req.Password, Logins: req.Logins}
	secrets := []string{req.Password}
	if req.Create != nil {
		if len(req.Logins) == 0 || req.Create.Fields["email"] == "" || req.Create.Fields["password"] == "" {
			return nil, invalidf("lookup: a create needs logins, an email and a password")
		}
		body, err := req.Create.body()
		if err != nil {
			return nil, err
		}
		b.Create = body
		secrets = append(secrets, req.Create.Fields["password"])
	}
	if req.Update != nil {
		if req.IfShape == nil || req.IfShape.Roles == nil {
			return nil, invalidf("lookup: an update needs the user's shape")
		}
		if req.Update.Fields["username"] != "" || req.Update.IfState != "" {
			return nil, invalidf("lookup: an update cannot change the login or carry a state")
		}
		body, err := req.Update.body()
		if err != nil {
			return nil, err
		}
		b.Update, b.IfShape, b.UpdateBy = body, req.IfShape, "meta"
		if req.UpdateByEmail {
			b.UpdateBy = "any"
		}
		secrets = append(secrets, req.Update.Fields["password"])
	}
	var out struct {
		Found         Found     `json:"found"`
		User          *wireUser `json:"user"`
		PasswordMatch bool      `json:"password_match"`
		Written       bool      `json:"written"`
		Before        *wireUser `json:"before"`
	}
	r := request{method: http.MethodPost, route: "/wpbridge/v1/users/lookup", body: b, secrets: secrets}
	if _, err := s.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	res := &LookupResult{Found: out.Found, PasswordMatch: out.PasswordMatch}
	switch {
	case out.Found == FoundNone && out.User == nil:
		return res, nil
	case out.Found != FoundMeta && out.Found != FoundEmail && out.Found != FoundCreated,
		out.User == nil, out.User.ID == 0:
		return nil, &Error{Code: CodeInvalidResponse, Message: "answer has no valid found or user", Method: r.method, Path: r.route}
	}
	res.User = out.User.user()
	if out.Written {
		if req.Update == nil || out.Before == nil || out.Before.ID != out.User.ID {
			return nil, &Error{Code: CodeInvalidResponse, Message: "answer has a write that was not asked for, or no user before it", Method: r.method, Path: r.route}
		}
		res.Written, res.Before = true, out.Before.user()
	}
	return res, nil
}
