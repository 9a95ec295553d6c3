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
}

// LookupResult is Lookup's answer.
type LookupResult struct {
	Found         Found
	User          *User // nil with FoundNone
	PasswordMatch bool  // the user found by email has Password (never for one who can manage the site)
}

// lookupBody is the JSON body of the lookup route.
type lookupBody struct {
	Key      string         `json:"key"`
	Value    string         `json:"value"`
	Email    string         `json:"email,omitempty"`
	Password string         `json:"password,omitempty"`
	Create   map[string]any `json:"create,omitempty"`
	Logins   []string       `json:"logins,omitempty"`
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
	var out struct {
		Found         Found     `json:"found"`
		User          *wireUser `json:"user"`
		PasswordMatch bool      `json:"password_match"`
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
	return res, nil
}
