package contactsync

import "github.com/wpbridge/wpbridge/internal/webhook"

// The rules work on the webhook's request; its home is package webhook.
// These are the rules' names for it.
type (
	Request = webhook.Request
	Action  = webhook.Action
)

// The actions a webhook can ask for (webhook.Action).
const (
	ActionAdd           = webhook.ActionAdd
	ActionUpdate        = webhook.ActionUpdate
	ActionUpdateTags    = webhook.ActionUpdateTags
	ActionRemoveAccess  = webhook.ActionRemoveAccess
	ActionPasswordReset = webhook.ActionPasswordReset
	ActionWordPressSync = webhook.ActionWordPressSync
)
