package contactsync

import "fmt"

// Result says what a request did.
type Result struct {
	Status   string   // "done" or "ignored"
	Message  string   // for people: what happened, or why nothing did
	UserID   int64    // the user acted on, 0 if none
	Created  bool     // a new user was created
	Changes  []string // what was written, e.g. "created", "role", "meta:phone", "tags", "password_returned"
	Warnings []string // rule fallbacks an operator should see (role not allowed, ...)
}

// Result statuses.
const (
	StatusDone    = "done"
	StatusIgnored = "ignored"
)

// ignored is the result of a request with nothing to do.
func ignored(format string, a ...any) Result {
	return Result{Status: StatusIgnored, Message: fmt.Sprintf(format, a...)}
}
