package contactsync

import (
	"errors"
	"fmt"
)

// Errors the stores return, and the rules' own.
var (
	ErrContactNotFound = errors.New("contact not found in ActiveCampaign")
	// ErrFieldNotFound: ActiveCampaign has no custom field with the id or
	// %PERSTAG% asked for (ContactSource.FieldID).
	ErrFieldNotFound = errors.New("custom field not found in ActiveCampaign")
	ErrUserNotFound  = errors.New("user not found in WordPress")
	ErrLoginTaken    = errors.New("login already taken in WordPress")
	ErrEmailTaken    = errors.New("email already taken in WordPress")
	// ErrStale: a user changed in WordPress since it was read (User.State),
	// so a write computed from what was read was not made.
	ErrStale = errors.New("user changed in WordPress since it was read")
	// ErrPermanent marks failures that no retry can fix.
	ErrPermanent = errors.New("permanent failure")
)

// permanentError wraps an error so that errors.Is(err, ErrPermanent) holds.
type permanentError struct{ err error }

func (e *permanentError) Error() string        { return e.err.Error() }
func (e *permanentError) Unwrap() []error      { return []error{e.err, ErrPermanent} }
func permanentf(format string, a ...any) error { return &permanentError{fmt.Errorf(format, a...)} }

// Permanent marks err as a failure that retrying cannot fix.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}
