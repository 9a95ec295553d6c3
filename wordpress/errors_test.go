package wordpress

import (
	"errors"
	"io"
	"net/http"
	"testing"
)

// TestError_CredentialsVersusForbidden: only a rejection of the credentials
// themselves is ErrUnauthorized (which pauses all work); any other 403 is
// ErrForbidden, a permanent 4xx that fails one request.
func TestError_CredentialsVersusForbidden(t *testing.T) {
	t.Parallel()
	html := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			w.WriteHeader(status)
			io.WriteString(w, "<html><body>Blocked by the site's firewall</body></html>")
		}
	}
	for _, tt := range []struct {
		name         string
		h            http.HandlerFunc
		unauthorized bool // credentials rejected: pause
		forbidden    bool
		temporary    bool
	}{
		{"401 rest_forbidden_context", wpError(401, "rest_forbidden_context", "Sorry."), true, false, false},
		{"401 incorrect_password", wpError(401, "incorrect_password", "The provided password is an invalid application password."), true, false, false},
		{"401 invalid_username", wpError(401, "invalid_username", "Unknown username."), true, false, false},
		{"401 rest_not_logged_in", wpError(401, "rest_not_logged_in", "You are not currently logged in."), true, false, false},
		{"401 HTML (proxy basic auth)", html(401), true, false, false},
		{"403 incorrect_password", wpError(403, "incorrect_password", "Rejected."), true, false, false},
		{"403 application_passwords_disabled", wpError(403, "application_passwords_disabled", "Not available."), true, false, false},
		{"403 application_passwords_disabled_for_user", wpError(403, "application_passwords_disabled_for_user", "Not available."), true, false, false},
		{"403 HTML (security plugin)", html(403), false, true, false},
		{"403 rest_user_invalid_role", wpError(403, "rest_user_invalid_role", "Sorry, you are not allowed to give users that role."), false, true, false},
		{"403 rest_cannot_edit", wpError(403, "rest_cannot_edit", "Sorry, you are not allowed to edit this user."), false, true, false},
		{"403 rest_cannot_create_user", wpError(403, "rest_cannot_create_user", "Sorry."), false, true, false},
		{"403 rest_forbidden", wpError(403, "rest_forbidden", "Sorry, you are not allowed to do that."), false, true, false},
		{"403 wpbridge_protected_user", wpError(403, "wpbridge_protected_user", "User 1 can manage this site."), false, true, false},
		{"406 HTML (firewall)", html(406), false, false, false},
		{"500 invalid_username (wp_insert_user)", wpError(500, "invalid_username", "Sorry, that username is not allowed."), false, false, true},
		{"503 HTML (maintenance)", html(503), false, false, true},
		{"404 HTML", html(404), false, false, true},
		{"200 HTML", html(200), false, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := fakeWP(t, map[string]http.HandlerFunc{"POST /wp/v2/users/5": tt.h})
			_, err := c.Users.Update(t.Context(), 5, UserRequest{Fields: map[string]string{"email": "new@example.com"}})
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if got := errors.Is(err, ErrUnauthorized); got != tt.unauthorized {
				t.Errorf("errors.Is(%v, ErrUnauthorized) = %v, want %v", err, got, tt.unauthorized)
			}
			if got := errors.Is(err, ErrForbidden); got != tt.forbidden {
				t.Errorf("errors.Is(%v, ErrForbidden) = %v, want %v", err, got, tt.forbidden)
			}
			if got := we.Temporary(); got != tt.temporary {
				t.Errorf("Temporary() = %v, want %v", got, tt.temporary)
			}
		})
	}
}
