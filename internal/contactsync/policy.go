package contactsync

import (
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"slices"
	"strings"
)

// Mapping maps one ActiveCampaign contact field to one WordPress user field
// or meta key (one entry of FIELD_MAP; package config parses and checks them).
type Mapping struct {
	// Target is the WordPress side: a core user field (see CoreFields) or a
	// user meta key.
	Target string
	// Source is the ActiveCampaign side, normalized: one of "email",
	// "firstName", "lastName", "phone", "orgname"; a custom field by id
	// ("field:12"); or a custom field by personalization tag, upper-cased
	// with its percent signs ("%COMPANY_SIZE%").
	Source string
}

// CoreFields are the FIELD_MAP targets that are WordPress user fields rather
// than user meta. This is the one list of them in Go.
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
	ReturnLinkField     string // "" = off
	SiteURL             string // WP_URL, for set-password links
	FieldMap            []Mapping
	TagsMetaKey         string
	ContactIDMetaKey    string
	// TagRoles are the tag-managed roles (TAG_ROLES): a managed user holds
	// exactly those whose tag its contact holds (tagroles.go).
	TagRoles []TagRole
	// FireHooks: WordPress fires actions for each write (companion plugin
	// 1.2: WP Fusion's wpf_tags_modified and the like), so every round that
	// handles a user's tags writes them, also unchanged, as WP Fusion does.
	FireHooks bool
}

// Allows reports whether the configuration lets a webhook or an import
// assign role, a slug (RoleSlug reads one from a role value or title). It
// is the one rule of which roles wpbridge hands out and which users it
// manages; a role holding an admin-level capability in WordPress is refused
// on top of this (managed.go).
func (p *Policy) Allows(role string) bool {
	if role == "" || role == "administrator" {
		return false
	}
	return role == p.DefaultRole || slices.Contains(p.AllowedRoles, role) || p.tagManaged(role)
}

// chooseRole picks the role for a new user: the mapped AC role, else the URL
// role, else the default. A role that is not allowed falls back to the default
// with a warning.
func (p *Policy) chooseRole(mapped, requested string) (role, warning string) {
	want := mapped
	if want == "" {
		want = requested
	}
	want = RoleSlug(want)
	if want == "" {
		return p.DefaultRole, ""
	}
	if p.tagManaged(want) {
		return p.DefaultRole, tagManagedWarning(want)
	}
	if !p.Allows(want) {
		return p.DefaultRole, fmt.Sprintf("role %q is not in ALLOWED_ROLES, using %q", want, p.DefaultRole)
	}
	return want, ""
}

// RoleSlug turns a role value or title ("Gold Member") into a slug ("gold_member").
// A multiselect value keeps only its first option.
func RoleSlug(s string) string {
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

var (
	loginTags     = regexp.MustCompile(`<[^>]*>`)
	loginOctets   = regexp.MustCompile(`%[a-fA-F0-9]{2}`)
	loginEntities = regexp.MustCompile(`&.+?;`)
	loginSpaces   = regexp.MustCompile(`\s+`)
	loginAccents  = strings.NewReplacer(
		"À", "A", "Á", "A", "Â", "A", "Ã", "A", "Ä", "A", "Å", "A", "Æ", "AE", "Ç", "C",
		"È", "E", "É", "E", "Ê", "E", "Ë", "E", "Ì", "I", "Í", "I", "Î", "I", "Ï", "I",
		"Ð", "D", "Ñ", "N", "Ò", "O", "Ó", "O", "Ô", "O", "Õ", "O", "Ö", "O", "Ø", "O",
		"Ù", "U", "Ú", "U", "Û", "U", "Ü", "U", "Ý", "Y", "Þ", "TH", "ß", "s",
		"à", "a", "á", "a", "â", "a", "ã", "a", "ä", "a", "å", "a", "æ", "ae", "ç", "c",
		"è", "e", "é", "e", "ê", "e", "ë", "e", "ì", "i", "í", "i", "î", "i", "ï", "i",
		"ð", "d", "ñ", "n", "ò", "o", "ó", "o", "ô", "o", "õ", "o", "ö", "o", "ø", "o",
		"ù", "u", "ú", "u", "û", "u", "ü", "u", "ý", "y", "þ", "th", "ÿ", "y",
		"Ł", "L", "ł", "l", "Œ", "OE", "œ", "oe", "Š", "S", "š", "s", "Ž", "Z", "ž", "z",
	)
)

// SanitizeLogin turns s into a login WordPress accepts, like sanitize_user($s, true):
// tags, %XX octets and HTML entities are removed, common Latin accents are folded
// (é -> e), every character outside a-z A-Z 0-9 space _ . - @ is dropped, and
// whitespace is trimmed and collapsed. The result may be empty.
func SanitizeLogin(s string) string {
	s = loginTags.ReplaceAllString(s, "")
	s = loginAccents.Replace(s)
	s = loginOctets.ReplaceAllString(s, "")
	s = loginEntities.ReplaceAllString(s, "")
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == ' ', r == '_', r == '.', r == '-', r == '@':
			return r
		}
		return -1
	}, s)
	return loginSpaces.ReplaceAllString(strings.TrimSpace(s), " ")
}

// maxLogin is WordPress's limit on user_login; new logins leave room for a
// collision suffix of up to three digits.
const maxLogin = 60

// baseLogin is the login a new user gets before any collision suffix.
func (p *Policy) baseLogin(r io.Reader, c *Contact, mapped string) (string, error) {
	l, err := p.formatLogin(r, c, mapped)
	if len(l) > maxLogin-3 {
		l = strings.TrimSpace(l[:maxLogin-3]) // ASCII only after SanitizeLogin
	}
	return l, err
}

func (p *Policy) formatLogin(r io.Reader, c *Contact, mapped string) (string, error) {
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
