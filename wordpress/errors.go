package wordpress

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors, matched with errors.Is against errors returned by the Client.
var (
	// ErrNotFound: no such user (404 rest_user_invalid_id, wpbridge_user_not_found,
	// or no exact match for FindByEmail).
	ErrNotFound = errors.New("wordpress: not found")
	// ErrUnauthorized: WordPress rejected the credentials themselves: any 401,
	// or a 403 with one of WordPress's authentication codes (CredentialCodes).
	// Retrying cannot help until the application password is fixed.
	ErrUnauthorized = errors.New("wordpress: unauthorized")
	// ErrForbidden: the credentials were accepted but this request was refused
	// (any other 403: rest_forbidden, rest_cannot_*, rest_user_invalid_role,
	// wpbridge_protected_user, or a security plugin's HTML page). It concerns
	// this request only; it never matches ErrUnauthorized.
	ErrForbidden = errors.New("wordpress: forbidden")
	// ErrExistingLogin: the username is taken (WordPress answers 500 existing_user_login).
	ErrExistingLogin = errors.New("wordpress: username already exists")
	// ErrExistingEmail: the email is taken on create (500 existing_user_email).
	// On update WordPress answers 400 rest_user_invalid_email, which is ErrInvalid.
	ErrExistingEmail = errors.New("wordpress: email already exists")
	// ErrStale: an update carrying IfState found the user changed since that
	// state was read (412 wpbridge_stale, companion plugin); nothing was written.
	ErrStale = errors.New("wordpress: user changed since it was read")
	// ErrPluginMissing: the wpbridge companion plugin is not installed.
	ErrPluginMissing = errors.New("wordpress: wpbridge companion plugin missing")
	// ErrInvalid: the request can never succeed as sent (400 answers such as
	// rest_invalid_param, rest_user_invalid_*, wpbridge_protected_meta, or a
	// bad argument caught before any request).
	ErrInvalid = errors.New("wordpress: invalid request")
)

// Codes set by the client itself in Error.Code.
const (
	// CodeInvalidResponse: the answer was not the JSON expected (HTML, empty, undecodable).
	CodeInvalidResponse = "invalid_response"
	// CodeRedirect: WordPress answered 3xx (usually a wrong scheme or host in the site URL).
	CodeRedirect = "redirect"
)

// Error is a failed WordPress request: an error answer (StatusCode and the
// WordPress error Code), an unusable answer, or a transport failure (StatusCode 0).
// Message never contains the application password or a user password.
type Error struct {
	StatusCode int    // HTTP status; 0 when no answer arrived
	Code       string // WordPress error code, e.g. "existing_user_login"
	Message    string
	Method     string // HTTP method
	Path       string // REST route, without query string

	err error // transport cause, for errors.Is(err, context.DeadlineExceeded)
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wordpress: %s %s: ", e.Method, e.Path)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "%d ", e.StatusCode)
	}
	if e.Code != "" {
		b.WriteString(e.Code + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap returns the transport cause, if any.
func (e *Error) Unwrap() error { return e.err }

// Is maps WordPress answers to the package's sentinel errors.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound &&
			(e.Code == "rest_user_invalid_id" || e.Code == "wpbridge_user_not_found")
	case ErrUnauthorized:
		return e.credentialsRejected()
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden && !e.credentialsRejected()
	case ErrExistingLogin:
		return e.Code == "existing_user_login"
	case ErrExistingEmail:
		return e.Code == "existing_user_email"
	case ErrStale:
		return e.StatusCode == http.StatusPreconditionFailed && e.Code == "wpbridge_stale"
	case ErrPluginMissing:
		return e.StatusCode == http.StatusNotFound && e.Code == "rest_no_route" && strings.HasPrefix(e.Path, "/wpbridge/")
	case ErrInvalid:
		return e.StatusCode == http.StatusBadRequest
	}
	return false
}

// credentialCodes are the error codes WordPress answers when it rejects the
// credentials of a request (wp_authenticate_application_password, the users
// controller's rest_not_logged_in). They count only with status 401 or 403:
// wp_insert_user also uses invalid_username, for a login it refuses.
var credentialCodes = map[string]bool{
	"invalid_username":                        true,
	"invalid_email":                           true,
	"incorrect_password":                      true,
	"application_passwords_disabled":          true,
	"application_passwords_disabled_for_user": true,
	"rest_not_logged_in":                      true,
}

// credentialsRejected reports whether the answer rejects the credentials
// themselves rather than this one request.
func (e *Error) credentialsRejected() bool {
	return e.StatusCode == http.StatusUnauthorized ||
		(e.StatusCode == http.StatusForbidden && credentialCodes[e.Code])
}

// Temporary reports whether retrying later may succeed: transport failures and
// timeouts, 429, 5xx other than existing_user_*, and answers that were not the
// expected JSON (a proxy or maintenance page) unless their status is a 4xx
// refusal of the request (a security plugin's 403 page). A cancelled context
// is not temporary.
func (e *Error) Temporary() bool {
	switch {
	case e.StatusCode == 0:
		return !errors.Is(e.err, context.Canceled)
	case e.Code == "existing_user_login" || e.Code == "existing_user_email" || e.Code == CodeRedirect:
		return false
	case e.Code == CodeInvalidResponse:
		return e.StatusCode < 400 || e.StatusCode >= 500 || e.StatusCode == http.StatusNotFound ||
			e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests
	}
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// invalidf returns an argument error matching ErrInvalid, raised before any request.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}
