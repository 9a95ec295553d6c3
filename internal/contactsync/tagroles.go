package contactsync

// Access follows tags (TAG_ROLES) and what WordPress hears of a round
// (Change.Hooks).

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// TagRole ties an ActiveCampaign tag to a WordPress role (one TAG_ROLES
// pair). A role named by any pair is tag-managed: a managed user holds it
// exactly while its contact holds one of the role's tags.
type TagRole struct{ Tag, Role string }

// tagManaged reports whether TAG_ROLES manages role.
func (p *Policy) tagManaged(role string) bool {
	return slices.ContainsFunc(p.TagRoles, func(tr TagRole) bool { return tr.Role == role })
}

func tagManagedWarning(role string) string {
	return fmt.Sprintf("role %q is managed by TAG_ROLES (the contact's tags decide), not applied", role)
}

// grantedRoles are the tag-managed roles whose tag is among tags (ASCII
// case aside), in TAG_ROLES order, each once.
func (p *Policy) grantedRoles(tags []string) []string {
	var out []string
	for _, tr := range p.TagRoles {
		if slices.Contains(out, tr.Role) {
			continue
		}
		if slices.ContainsFunc(tags, func(t string) bool { return strings.EqualFold(strings.TrimSpace(t), tr.Tag) }) {
			out = append(out, tr.Role)
		}
	}
	return out
}

// allowedGranted is grantedRoles without the roles that hold an admin-level
// capability in WordPress (a warning each).
func (s *Syncer) allowedGranted(ctx context.Context, tags []string) (roles, warnings []string, err error) {
	for _, r := range s.Policy.grantedRoles(tags) {
		admin, err := s.adminLevel(ctx, r)
		if err != nil {
			return nil, nil, err
		}
		if admin {
			warnings = append(warnings, fmt.Sprintf("role %q (TAG_ROLES) holds an admin-level capability in WordPress, not applied", r))
			continue
		}
		roles = append(roles, r)
	}
	return roles, warnings, nil
}

// setTagRoles makes the managed user u hold exactly the tag-managed roles
// its contact's tags grant, on top of its other roles (those ch already
// sets, else its own), with DEFAULT_ROLE when that leaves it without any.
// Protected users are left alone, and so is a user remove_access left
// without a role (only an add gives it one back).
func (s *Syncer) setTagRoles(ctx context.Context, ch *Change, u *User, tags []string) ([]string, error) {
	if len(s.Policy.TagRoles) == 0 || s.Policy.unmanaged(u) != "" {
		return nil, nil
	}
	base := u.Roles
	if ch.Roles != nil {
		base = ch.Roles
	}
	if len(base) == 0 {
		return nil, nil
	}
	granted, warnings, err := s.allowedGranted(ctx, tags)
	if err != nil {
		return nil, err
	}
	next := make([]string, 0, len(base)+len(granted))
	for _, r := range base {
		if !s.Policy.tagManaged(r) && !slices.Contains(next, r) {
			next = append(next, r)
		}
	}
	for _, r := range granted {
		if !slices.Contains(next, r) {
			next = append(next, r)
		}
	}
	if len(next) == 0 {
		next = []string{s.Policy.DefaultRole}
	}
	if sameRoles(next, u.Roles) {
		ch.Roles = nil
	} else {
		ch.Roles = next
	}
	return warnings, nil
}

// newUserRoles are a new user's roles: role (chooseRole's) and the
// tag-managed roles its tags grant; DEFAULT_ROLE only when nothing else.
func (s *Syncer) newUserRoles(ctx context.Context, role string, tags []string) ([]string, []string, error) {
	if len(s.Policy.TagRoles) == 0 {
		return []string{role}, nil, nil
	}
	granted, warnings, err := s.allowedGranted(ctx, tags)
	if err != nil {
		return nil, nil, err
	}
	if role == s.Policy.DefaultRole && len(granted) > 0 {
		return granted, warnings, nil
	}
	return append([]string{role}, granted...), warnings, nil
}

func sameRoles(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

// setHooks has WordPress fire its actions for the round's write to the
// user: its action, contact, tags (written also when unchanged) and the
// values loaded from the contact (never a password). Off without FireHooks.
func (s *Syncer) setHooks(ch *Change, action Action, contactID string, tags []string, values map[string]string) {
	if !s.Policy.FireHooks {
		return
	}
	h := &Hooks{Action: action, ContactID: contactID, TagsKey: s.Policy.TagsMetaKey, Tags: tags, WriteTags: true,
		Meta: make(map[string]string, len(values))}
	for k, v := range values {
		if k != "user_pass" {
			h.Meta[k] = v
		}
	}
	ch.Hooks = h
}

// listenerWarnings adds what WordPress listeners reported for u's write
// to res: as warnings, and in the message, which the webhook's history keeps.
func listenerWarnings(res *Result, u *User) {
	if u == nil || len(u.Warnings) == 0 {
		return
	}
	res.Warnings = append(res.Warnings, u.Warnings...)
	res.Message += "; WordPress listener failed (the write stands): " + strings.Join(u.Warnings, "; ")
}
