package contactsync

import (
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strings"
	"unicode"
)

// Mapping maps an ActiveCampaign source to a WordPress target (FIELD_MAP).
// Source is "email", "firstName", "lastName", "phone", "orgname", "field:ID"
// or "%PERSTAG%"; Target is a core field name (see CoreFields) or a meta key.
type Mapping struct {
	Target string
	Source string
}

// CoreFields are the FIELD_MAP targets that are WordPress user fields rather
// than user meta.
var CoreFields = []string{
	"user_login", "user_pass", "user_email", "first_name", "last_name",
	"display_name", "nickname", "description", "user_url", "role",
}

// IsCoreField reports whether target is a core user field.
func IsCoreField(target string) bool { return slices.Contains(CoreFields, target) }

// Policy is the configuration the rules follow.
type Policy struct {
	DefaultRole         string
	AllowedRoles        []string
	UsernameFormat      string // email, flname or fnamenum
	PasswordLength      int
	ReturnPasswordField string // "" = off
	FieldMap            []Mapping
	TagsMetaKey         string
	ContactIDMetaKey    string
}

// allows reports whether a webhook may assign role.
func (p *Policy) allows(role string) bool {
	if role == "" || role == "administrator" {
		return false
	}
	return role == p.DefaultRole || slices.Contains(p.AllowedRoles, role)
}

// protected reports whether u holds a role a webhook could not have given it
// (administrator, editor, ...). Such users only get tags and meta written.
func (p *Policy) protected(u *User) bool {
	for _, r := range u.Roles {
		if !p.allows(r) {
			return true
		}
	}
	return false
}

// chooseRole picks the role for a new user: the mapped AC role, else the URL
// role, else the default. A role that is not allowed falls back to the default
// with a warning.
func (p *Policy) chooseRole(mapped, requested string) (role, warning string) {
	want := mapped
	if want == "" {
		want = requested
	}
	want = roleSlug(want)
	if want == "" {
		return p.DefaultRole, ""
	}
	if !p.allows(want) {
		return p.DefaultRole, fmt.Sprintf("role %q is not in ALLOWED_ROLES, using %q", want, p.DefaultRole)
	}
	return want, ""
}

// roleSlug turns a role value or title ("Gold Member") into a slug ("gold_member").
// A multiselect value keeps only its first option.
func roleSlug(s string) string {
	vs := splitMulti(s)
	if len(vs) == 0 {
		return ""
	}
	s = strings.ToLower(strings.TrimSpace(vs[0]))
	return strings.Join(strings.Fields(s), "_")
}

// splitMulti splits an AC multiselect value "||A||B||"; a plain value is a
// one-element list; empty values give nil.
func splitMulti(v string) []string {
	if !strings.Contains(v, "||") {
		if strings.TrimSpace(v) == "" {
			return nil
		}
		return []string{v}
	}
	var out []string
	for _, p := range strings.Split(v, "||") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

const passwordAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// generatePassword returns n letters and digits read from r (crypto/rand in production).
func generatePassword(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(passwordAlphabet)))
	for i := range b {
		k, err := rand.Int(r, max)
		if err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		b[i] = passwordAlphabet[k.Int64()]
	}
	return string(b), nil
}

// randomInt returns a number in [lo, hi].
func randomInt(r io.Reader, lo, hi int64) (int64, error) {
	k, err := rand.Int(r, big.NewInt(hi-lo+1))
	if err != nil {
		return 0, fmt.Errorf("random number: %w", err)
	}
	return lo + k.Int64(), nil
}

// SanitizeLogin does what WordPress's strict sanitize_user does to a login:
// it keeps ASCII letters, digits, space and "_.-@", drops everything else and
// collapses whitespace. "dave+tag@x.com" becomes "davetag@x.com".
func SanitizeLogin(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
		case r == ' ' || r == '_' || r == '.' || r == '-' || r == '@':
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// baseLogin is the login a new user gets before any collision suffix.
func (p *Policy) baseLogin(r io.Reader, c *Contact, mapped string) (string, error) {
	if l := SanitizeLogin(mapped); l != "" {
		return l, nil
	}
	switch p.UsernameFormat {
	case "flname":
		if l := SanitizeLogin(strings.ReplaceAll(c.FirstName+c.LastName, " ", "")); l != "" {
			return l, nil
		}
	case "fnamenum":
		if first := SanitizeLogin(strings.ReplaceAll(c.FirstName, " ", "")); first != "" {
			n, err := randomInt(r, 1, 99999)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s%d", first, n), nil
		}
	}
	if l := SanitizeLogin(c.Email); l != "" {
		return l, nil
	}
	return "", permanentf("contact %s: no usable login (email %q has no allowed characters)", c.ID, c.Email)
}
