package contactsync

// Action is what a webhook asks for.
type Action string

// The actions a webhook can ask for. Add covers Update, which covers UpdateTags.
const (
	ActionAdd        Action = "add"
	ActionUpdate     Action = "update"
	ActionUpdateTags Action = "update_tags"
)

// ParseAction returns the Action named s (lower case), or false.
func ParseAction(s string) (Action, bool) {
	switch a := Action(s); a {
	case ActionAdd, ActionUpdate, ActionUpdateTags:
		return a, true
	}
	return "", false
}

// Rank orders actions by how much they cover: add > update > update_tags.
func (a Action) Rank() int {
	switch a {
	case ActionAdd:
		return 3
	case ActionUpdate:
		return 2
	case ActionUpdateTags:
		return 1
	}
	return 0
}
