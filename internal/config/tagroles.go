package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wpbridge/wpbridge/internal/contactsync"
)

// TagRoles is the parsed TAG_ROLES: "AC tag=role" pairs, in order. A tag
// may appear once; several tags may name one role.
type TagRoles []contactsync.TagRole

// ParseTagRoles parses "AC tag=role,AC tag=role". A tag may hold spaces and
// "=" (the role is after the last "="); it may not hold a comma.
func ParseTagRoles(s string) (TagRoles, error) {
	var out TagRoles
	var errs []error
	seen := map[string]bool{}
	for i, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		eq := strings.LastIndex(part, "=")
		if eq < 0 {
			errs = append(errs, tagRolesErr("entry %d %q must look like AC tag=role", i+1, strings.TrimSpace(part)))
			continue
		}
		tag, role := strings.TrimSpace(part[:eq]), strings.TrimSpace(part[eq+1:])
		switch {
		case tag == "":
			errs = append(errs, tagRolesErr("entry %d %q has no tag", i+1, strings.TrimSpace(part)))
		case checkRole(role) != "":
			errs = append(errs, tagRolesErr("entry %d: %s", i+1, checkRole(role)))
		case seen[strings.ToLower(tag)]:
			errs = append(errs, tagRolesErr("tag %q appears twice", tag))
		default:
			seen[strings.ToLower(tag)] = true
			out = append(out, contactsync.TagRole{Tag: tag, Role: role})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func tagRolesErr(format string, a ...any) error {
	return &Error{Var: "TAG_ROLES", Problem: fmt.Sprintf(format, a...)}
}

// EnvDecode implements envconfig.Decoder for TAG_ROLES.
func (t *TagRoles) EnvDecode(s string) error {
	parsed, err := ParseTagRoles(s)
	if err != nil {
		return err
	}
	*t = parsed
	return nil
}

// String returns the pairs in TAG_ROLES syntax.
func (t TagRoles) String() string {
	parts := make([]string, len(t))
	for i, tr := range t {
		parts[i] = tr.Tag + "=" + tr.Role
	}
	return strings.Join(parts, ",")
}

// Roles lists the tag-managed roles, each once.
func (t TagRoles) Roles() []string {
	var out []string
	for _, tr := range t {
		if !containsString(out, tr.Role) {
			out = append(out, tr.Role)
		}
	}
	return out
}

// Tags lists the mapped tags.
func (t TagRoles) Tags() []string {
	out := make([]string, len(t))
	for i, tr := range t {
		out[i] = tr.Tag
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkTagRoles: no administrator, and DEFAULT_ROLE is the floor, never tag-managed.
func (c *Config) checkTagRoles(p *problems) {
	for _, r := range c.TagRoles.Roles() {
		switch {
		case r == "administrator":
			p.add("TAG_ROLES", "administrator can never be assigned by a webhook: map the tag to another role")
		case r == c.DefaultRole:
			p.add("TAG_ROLES", "maps a tag to %s, which is DEFAULT_ROLE: DEFAULT_ROLE is what a user falls back to and cannot be tag-managed", r)
		}
	}
}
