package activecampaign

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Webhook is the part of an ActiveCampaign webhook body wpbridge uses. Values are hints;
// the API is the source of truth.
type Webhook struct {
	Type          string // "type", e.g. "contact_tag_added"; empty for automation webhooks
	InitiatedFrom string // "initiated_from": admin, public, api, system
	ContactID     string // "contact[id]"; empty when absent (callers fall back to the query)
	Email         string // "contact[email]"
	// Tags is "contact[tags]" split on ", ", trimmed, empty names dropped. A tag name
	// that itself contains ", " is split too; only the API gives exact names.
	Tags []string
	// HasTags reports that "contact[tags]" is present and names at least one tag.
	HasTags bool
	// Fields holds "contact[fields][KEY]" values under their raw KEY (a field id or a
	// lower-case personalisation tag, depending on the sender). Never nil.
	Fields map[string]string
}

const fieldPrefix = "contact[fields]["

// Limits of a webhook's contact data, in characters. An email address is at most 254
// characters (RFC 5321); a contact carries at most MaxTags tags.
const (
	MaxEmailLength = 254
	MaxTags        = 500
	MaxTagLength   = 255
)

// ParseWebhook reads a parsed form body (r.PostForm). It fails, wrapping
// ErrInvalidWebhook, when contact[id] is present but not 1-20 decimal digits, when any
// key or value is not valid UTF-8 or contains NUL, or when the contact's data is over
// the limits (CheckEmail, CheckTags). A missing contact[id] is not an error.
func ParseWebhook(form url.Values) (Webhook, error) {
	if err := CheckText(form); err != nil {
		return Webhook{}, err
	}
	w := Webhook{
		Type:          form.Get("type"),
		InitiatedFrom: form.Get("initiated_from"),
		Email:         strings.TrimSpace(form.Get("contact[email]")),
		Fields:        map[string]string{},
	}
	if ids, ok := form["contact[id]"]; ok {
		id := ""
		if len(ids) > 0 {
			id = ids[0]
		}
		if !ValidID(id) {
			return Webhook{}, fmt.Errorf("%w: contact[id] must be 1-20 decimal digits", ErrInvalidWebhook)
		}
		w.ContactID = id
	}
	if err := CheckEmail("contact[email]", w.Email); err != nil {
		return Webhook{}, err
	}
	if raw, ok := form["contact[tags]"]; ok && len(raw) > 0 {
		w.Tags = SplitTags(raw[0])
		w.HasTags = len(w.Tags) > 0
		if err := CheckTags(w.Tags); err != nil {
			return Webhook{}, err
		}
	}
	for k, vs := range form {
		if len(k) > len(fieldPrefix)+1 && strings.HasPrefix(k, fieldPrefix) && strings.HasSuffix(k, "]") && len(vs) > 0 {
			w.Fields[k[len(fieldPrefix):len(k)-1]] = vs[0]
		}
	}
	return w, nil
}

// SplitTags splits a webhook "contact[tags]" value on ", ", trims each name and drops
// empty ones. It returns nil for a value without names.
func SplitTags(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ", ") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// CheckEmail fails, wrapping ErrInvalidWebhook, when the email address in parameter
// name is longer than MaxEmailLength characters. A server applies it to an email given
// in the query string too.
func CheckEmail(name, email string) error {
	if utf8.RuneCountInString(email) > MaxEmailLength {
		return fmt.Errorf("%w: %s is longer than %d characters", ErrInvalidWebhook, name, MaxEmailLength)
	}
	return nil
}

// CheckTags fails, wrapping ErrInvalidWebhook, when there are more than MaxTags tags or
// one is longer than MaxTagLength characters.
func CheckTags(tags []string) error {
	if len(tags) > MaxTags {
		return fmt.Errorf("%w: contact[tags] names %d tags, more than %d", ErrInvalidWebhook, len(tags), MaxTags)
	}
	for i, t := range tags {
		if utf8.RuneCountInString(t) > MaxTagLength {
			return fmt.Errorf("%w: tag %d of contact[tags] is longer than %d characters", ErrInvalidWebhook, i+1, MaxTagLength)
		}
	}
	return nil
}

// CheckText fails, wrapping ErrInvalidWebhook, when a key or value of v is not valid
// UTF-8 or contains NUL. ParseWebhook applies it to the body; a server may apply it to
// the query string of the same request.
func CheckText(v url.Values) error {
	for k, vs := range v {
		if !cleanText(k) {
			return fmt.Errorf("%w: a key is not valid UTF-8 or contains NUL", ErrInvalidWebhook)
		}
		for _, s := range vs {
			if !cleanText(s) {
				return fmt.Errorf("%w: value of %q is not valid UTF-8 or contains NUL", ErrInvalidWebhook, k)
			}
		}
	}
	return nil
}

func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// ValidID reports whether id has the form of an ActiveCampaign id (contact, tag, field,
// user): 1-20 decimal digits.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 20 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}
