package contactsync

// Managed users and admin-level roles: whose role, password, email and names
// a webhook may change, and which roles it may hand out.

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// unmanaged says why a webhook may not change u's role, password, email or
// names, or "" when it may: u is managed only when it has at least one role,
// every role is allowed, and it holds no capability beyond its roles and no
// admin-level capability. Anyone else gets tags and meta only.
func (p *Policy) unmanaged(u *User) string {
	switch {
	case u.CapsUnknown:
		return "WordPress did not report its capabilities"
	case len(u.Roles) == 0 && !accessRemoved(u):
		// A user remove_access left without a role carries its marker
		// (AccessRemovedMetaKey) and stays managed.
		return "it has no role"
	}
	for _, r := range u.Roles {
		if !p.Allows(r) {
			return fmt.Sprintf("it holds the role %s, which is not in ALLOWED_ROLES", r)
		}
	}
	if len(u.ExtraCaps) > 0 {
		return fmt.Sprintf("it holds capabilities beyond its roles (%s)", strings.Join(u.ExtraCaps, ", "))
	}
	if len(u.AdminCaps) > 0 {
		return fmt.Sprintf("it holds admin-level capabilities (%s)", strings.Join(u.AdminCaps, ", "))
	}
	return ""
}

// setManaged records the mapped fields and the role (mapped, else requested)
// for an existing user: everything when the user is managed, else meta only
// with a warning naming why. A user remove_access left without a role gets
// one back only from add (restore): the chosen role, else DEFAULT_ROLE.
func (s *Syncer) setManaged(ctx context.Context, ch *Change, u *User, c *Contact, values map[string]string, requested string, restore bool) ([]string, error) {
	why := s.Policy.unmanaged(u)
	warnings, skipped := s.setMapped(ch, u, c, values, why != "")
	role := values["role"]
	if role == "" {
		role = requested
	}
	role = RoleSlug(role)
	if why != "" {
		if skipped || role != "" {
			warnings = append(warnings, fmt.Sprintf("user %d is not managed by wpbridge (%s): only its tags and meta are written", u.ID, why))
		}
		return warnings, nil
	}
	if len(u.Roles) == 0 {
		if !restore {
			return warnings, nil // access stays removed until an add
		}
		var w string
		if role, w = s.Policy.chooseRole(values["role"], requested); w != "" {
			warnings = append(warnings, w)
		}
	}
	w, err := s.setRole(ctx, ch, u, role)
	if w != "" {
		warnings = append(warnings, w)
	}
	if accessRemoved(u) && (len(ch.Roles) > 0 || (ch.Roles == nil && len(u.Roles) > 0)) {
		setMeta(ch, u, AccessRemovedMetaKey, nil)
	}
	return warnings, err
}

// setRole records role (a slug; "" for none) as the managed user's only role
// when it is allowed, holds no admin-level capability and the user does not
// hold just that role already. It returns a warning when the role is not
// applied.
func (s *Syncer) setRole(ctx context.Context, ch *Change, u *User, role string) (warning string, err error) {
	switch {
	case role == "":
		return "", nil
	case s.Policy.tagManaged(role):
		return tagManagedWarning(role), nil
	case !s.Policy.Allows(role):
		return fmt.Sprintf("role %q is not in ALLOWED_ROLES, not applied", role), nil
	case slices.Equal(u.Roles, []string{role}):
		return "", nil
	}
	admin, err := s.adminLevel(ctx, role)
	if err != nil {
		return "", err
	}
	if admin {
		return fmt.Sprintf("role %q holds an admin-level capability in WordPress, not applied", role), nil
	}
	ch.Roles = []string{role}
	return "", nil
}

// newUserRole is the role for a new user: chooseRole's pick, or DEFAULT_ROLE
// with a warning when that role holds an admin-level capability. When
// DEFAULT_ROLE holds one too, no user is created.
func (s *Syncer) newUserRole(ctx context.Context, mapped, requested string) (role, warning string, err error) {
	role, warning = s.Policy.chooseRole(mapped, requested)
	admin, err := s.adminLevel(ctx, role)
	if err != nil || !admin {
		return role, warning, err
	}
	if role != s.Policy.DefaultRole {
		warning = fmt.Sprintf("role %q holds an admin-level capability in WordPress, using %q", role, s.Policy.DefaultRole)
		role = s.Policy.DefaultRole
		if admin, err = s.adminLevel(ctx, role); err != nil || !admin {
			return role, warning, err
		}
	}
	return "", "", permanentf("DEFAULT_ROLE %q holds an admin-level capability in WordPress: choose another role (see wpbridge check)", role)
}

// adminLevel reports whether role holds an admin-level capability in
// WordPress now. administrator always does.
func (s *Syncer) adminLevel(ctx context.Context, role string) (bool, error) {
	if role == "administrator" {
		return true, nil
	}
	if s.Roles == nil {
		return false, nil
	}
	roles, err := s.Roles.AdminRoles(ctx)
	if err != nil {
		return false, fmt.Errorf("read the roles' capabilities from WordPress: %w", err)
	}
	return roles[role], nil
}
