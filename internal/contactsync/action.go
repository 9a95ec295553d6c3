package contactsync

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
)

// ParseAction returns the Action named s (lower case), or false.
func ParseAction(s string) (Action, bool) {
	switch a := Action(s); a {
	case ActionAdd, ActionUpdate, ActionUpdateTags, ActionRemoveAccess:
		return a, true
	}
	return "", false
}

// Rank orders actions by how much they cover: add and remove_access >
// update > update_tags. Actions of the same top rank replace each other in
// the order the webhooks came (Request.Merge).
func (a Action) Rank() int {
	switch a {
	case ActionAdd, ActionRemoveAccess:
		return 3
	case ActionUpdate:
		return 2
	case ActionUpdateTags:
		return 1
	}
	return 0
}
