package webhook

// Action is what a webhook asks for.
type Action string

// The actions a webhook can ask for. Add covers Update, which covers
// UpdateTags. RemoveAccess and Add (and PasswordReset, which does what Add
// does and more) decide whether the contact has access: between them the
// later webhook wins (see Request.Merge).
const (
	ActionAdd          Action = "add"
	ActionUpdate       Action = "update"
	ActionUpdateTags   Action = "update_tags"
	ActionRemoveAccess Action = "remove_access"
	// ActionPasswordReset does what ActionAdd does, then sends WordPress's
	// password-reset email (and a set-password link to RETURN_LINK_FIELD).
	ActionPasswordReset Action = "password_reset"
	// ActionWordPressSync sends a WordPress user to AC (an outbox event,
	// SYNC_TO_AC). It is never accepted from HTTP (ParseAction does not
	// know it), and a round never covers it together with AC's actions:
	// claims stop where the kind changes (see Request.SameKind).
	ActionWordPressSync Action = "wordpress_sync"
)

// ParseAction returns the Action named s (lower case), or false.
func ParseAction(s string) (Action, bool) {
	switch a := Action(s); a {
	case ActionAdd, ActionUpdate, ActionUpdateTags, ActionRemoveAccess, ActionPasswordReset:
		return a, true
	}
	return "", false
}

// Rank orders actions by how much they cover: password_reset > add >
// update > update_tags, and remove_access ranks with add. Between
// remove_access and add or password_reset the later webhook wins
// (Request.Merge), whatever their rank.
func (a Action) Rank() int {
	switch a {
	case ActionPasswordReset:
		return 4
	case ActionAdd, ActionRemoveAccess:
		return 3
	case ActionUpdate:
		return 2
	case ActionUpdateTags:
		return 1
	}
	return 0
}
