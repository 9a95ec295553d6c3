// Package contactsync holds wpbridge's rules for keeping one WordPress user in
// step with one ActiveCampaign contact: which user a contact maps to, what a
// new user's login, password and role are, which fields are written, when a
// generated password or a set-password link goes back to ActiveCampaign, and
// when a user loses its access.
//
// It knows nothing about HTTP, queues or the API clients: it talks to
// ActiveCampaign through ContactSource, to WordPress through UserStore and to
// durable storage through PasswordStore, all declared here. It imports
// nothing from the rest of the module.
//
// Where things are:
//
//   - action.go, request.go: what a webhook asks for (Action, Request)
//   - model.go: Contact, User and Change, the rules' view of both sides
//   - stores.go: the ContactSource, UserStore, RoleSource and PasswordStore interfaces
//   - errors.go, result.go: what a run returns
//   - policy.go: the configuration (Policy, Mapping, CoreFields) and the pure
//     rules: roles, logins, generated passwords
//   - email.go: which emails WordPress accepts (is_email) and when two are
//     the same (ASCII case only)
//   - syncer.go: Syncer.Run and the lookups every action shares
//   - seen.go: Seen, the user last seen per contact, so that a later round
//     is one WordPress request (its writes carry the user's State)
//   - memo.go: a run's contact and tag reads, asked of ActiveCampaign once
//     and together
//   - add.go: the add action (find or create the user in one request, link
//     it, return its password)
//   - update.go: the update and update_tags actions
//   - cold.go: a contact's first round since start in one request (the
//     rules run against a DEFAULT_ROLE-only user; the lookup writes only to
//     a user of that shape)
//   - remove.go: the remove_access action (roles taken, or the user deleted;
//     AccessRemovedMetaKey keeps a role-less user managed)
//   - link.go: set-password links (RETURN_LINK_FIELD) and the
//     password_reset action
//   - managed.go: managed users (whose role, password, email and names a
//     webhook may change) and admin-level roles (never assigned)
//   - change.go: field mapping and building the one write to a user
//   - tagroles.go: tag-managed roles (TAG_ROLES) and the Hooks a write
//     carries so that WordPress fires its actions (WP Fusion's and wpbridge's)
package contactsync
