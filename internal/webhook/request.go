package webhook

// Request is the work for one contact: one webhook, or several coalesced ones.
type Request struct {
	ContactID        string
	Action           Action
	Role             string   // role asked for in the URL, "" if none
	SendNotification bool     // send WordPress's new-user email if a user is created
	Tags             []string // tag names from the payload
	HasTags          bool     // Tags came with the payload (else they are loaded from AC)
	EmailHint        string   // contact[email] from the payload
	// Delete (remove_access only): delete the user instead of taking its
	// roles; its content goes to the user with the email Reassign, or to
	// the WP_USERNAME user when Reassign is "".
	Delete   bool
	Reassign string
	// Event (ActionWordPressSync) is the outbox event as JSON: the user as
	// WordPress had it. Register says one of the events covered was a
	// sign-up (REGISTRATION_TAGS are added).
	Event    []byte
	Register bool
	// Idle is set by the queue for a round started at its webhook's
	// arrival (nothing else was pending or running): a speculative
	// ActiveCampaign request then costs no other round anything. Never
	// stored.
	Idle bool
}

// SameKind reports whether r and other may be covered by one round: both
// ActiveCampaign's actions, or both WordPress events.
func (r Request) SameKind(other Request) bool {
	return (r.Action == ActionWordPressSync) == (other.Action == ActionWordPressSync)
}

// Merge folds a later request for the same contact into r: the stronger
// action wins, a requested notification is kept, the latest role and the
// latest webhook's tags (none: loaded from AC) are used.
//
// Between remove_access and add or password_reset the later one wins, so
// "add then remove_access" removes access and "remove_access then add"
// keeps it; update and update_tags never override either, and
// password_reset covers add. The delete options are those of the latest
// remove_access, if it wins.
//
// Two WordPress events (ActionWordPressSync) merge into the later one's user,
// a sign-up among them kept (Register).
func (r Request) Merge(later Request) Request {
	out := r
	if r.Action == ActionWordPressSync && later.Action == ActionWordPressSync {
		out.Event = later.Event
		out.Register = r.Register || later.Register
		return out
	}
	if later.Action.Rank() > out.Action.Rank() || (decidesAccess(later.Action) && decidesAccess(out.Action) &&
		(later.Action == ActionRemoveAccess) != (out.Action == ActionRemoveAccess)) {
		out.Action = later.Action
		out.Delete, out.Reassign = later.Delete, later.Reassign
	} else if later.Action == ActionRemoveAccess {
		out.Delete, out.Reassign = later.Delete, later.Reassign
	}
	if out.Action != ActionRemoveAccess {
		out.Delete, out.Reassign = false, ""
	}
	if later.Role != "" {
		out.Role = later.Role
	}
	out.SendNotification = out.SendNotification || later.SendNotification
	// The latest webhook says what the tags are; one without tags means
	// "unknown", so they are loaded from AC rather than taken from an older one.
	out.Tags, out.HasTags = later.Tags, later.HasTags
	if later.EmailHint != "" {
		out.EmailHint = later.EmailHint
	}
	return out
}

// decidesAccess reports whether a gives (add, password_reset) or takes
// (remove_access) the contact's access.
func decidesAccess(a Action) bool {
	return a == ActionAdd || a == ActionPasswordReset || a == ActionRemoveAccess
}
