package contactsync

// Contact is what the rules need of an ActiveCampaign contact.
type Contact struct {
	ID, Email, FirstName, LastName, Phone, Orgname string
	Fields                                         map[string]string // custom field id -> value
}

// User is what the rules need of a WordPress user.
type User struct {
	ID     int64
	Login  string
	Email  string
	Roles  []string
	Fields map[string]string // core fields by their FIELD_MAP target name (first_name, ...)
	Meta   map[string]any    // string or []string values
	// State is WordPress's digest of the user as read ("" when unknown): a
	// write made with it happens only while the user is unchanged.
	State string
	// cached: the user comes from Seen, not from WordPress in this run.
	cached bool
	// ExtraCaps are the capabilities granted to the user directly (as
	// role-editor plugins do), beyond those of its roles.
	ExtraCaps []string
	// AdminCaps are the admin-level capabilities (wordpress.AdminCapabilities,
	// read by the adapter) the user holds, through a role or directly. A
	// user holding any is admin-level and never managed.
	AdminCaps []string
	// CapsUnknown: WordPress did not report the user's capabilities, so
	// ExtraCaps and AdminCaps say nothing; such a user is not managed.
	CapsUnknown bool
	// Warnings are the errors WordPress listeners of the actions fired by
	// the write that returned this user reported (see Hooks).
	Warnings []string
}

// Change is a set of writes to one user; empty parts are left alone.
type Change struct {
	Fields           map[string]string // core fields by target name, including user_email and user_pass
	Roles            []string          // replaces all roles when non-nil
	Meta             map[string]any    // string, []string, or nil to delete
	SendNotification bool
	// Hooks, when set, has WordPress fire its actions for the write (it is
	// no write itself: IsEmpty ignores it).
	Hooks *Hooks
}

// IsEmpty reports whether c writes nothing.
func (c Change) IsEmpty() bool {
	return len(c.Fields) == 0 && c.Roles == nil && len(c.Meta) == 0 && !c.SendNotification
}

// NewUser is a user to create.
type NewUser struct {
	Login string
	Change
}

// Hooks describes the round behind a write, so that WordPress fires its
// actions for it (the companion plugin's wpf_* and wpbridge_* actions).
type Hooks struct {
	Action    Action
	ContactID string
	TagsKey   string
	// Tags, with WriteTags, are the contact's tags: written even when the
	// change leaves them alone, so that WordPress hears them (wpf_tags_modified).
	Tags      []string
	WriteTags bool
	Meta      map[string]string // the values loaded from the contact, no password
}
