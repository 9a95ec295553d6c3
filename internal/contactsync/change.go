package contactsync

// Field mapping and building the one write to a user.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// mappedValues reads every FIELD_MAP source from the contact, by target.
// Empty values are left out (WP Fusion skips them too).
func (s *Syncer) mappedValues(ctx context.Context, c *Contact) (map[string]string, error) {
	out := make(map[string]string, len(s.Policy.FieldMap))
	for _, m := range s.Policy.FieldMap {
		var v string
		switch src := m.Source; {
		case src == "email":
			v = c.Email
		case src == "firstName":
			v = c.FirstName
		case src == "lastName":
			v = c.LastName
		case src == "phone":
			v = c.Phone
		case src == "orgname":
			v = c.Orgname
		case strings.HasPrefix(src, "field:"):
			v = c.Fields[strings.TrimPrefix(src, "field:")]
		case strings.HasPrefix(src, "%"):
			id, err := s.Contacts.FieldID(ctx, src)
			if errors.Is(err, ErrFieldNotFound) {
				return nil, permanentf("FIELD_MAP: ActiveCampaign has no field %s", src)
			}
			if err != nil {
				return nil, fmt.Errorf("resolve field %s: %w", src, err)
			}
			v = c.Fields[id]
		}
		if len(splitMulti(v)) > 0 { // blank, or a multiselect with nothing selected
			out[m.Target] = v
		}
	}
	return out, nil
}

// setLink stores the contact id on the user when it differs.
func (s *Syncer) setLink(ch *Change, u *User, contactID string) {
	setMeta(ch, u, s.Policy.ContactIDMetaKey, contactID)
}

// setTags stores the tag names when they differ; no tags deletes the key.
func (s *Syncer) setTags(ch *Change, u *User, tags []string) {
	if len(tags) == 0 {
		if _, ok := u.Meta[s.Policy.TagsMetaKey]; ok && len(metaStrings(u.Meta[s.Policy.TagsMetaKey])) > 0 {
			if ch.Meta == nil {
				ch.Meta = map[string]any{}
			}
			ch.Meta[s.Policy.TagsMetaKey] = nil
		}
		return
	}
	setMeta(ch, u, s.Policy.TagsMetaKey, tags)
}

// apply writes ch to u, the user linked to contactID, and remembers the
// user as written. An empty ch writes nothing; for a remembered user it
// still checks with WordPress that the user is as remembered.
func (s *Syncer) apply(ctx context.Context, contactID string, u *User, ch Change, warnings []string) (Result, error) {
	res := Result{Status: StatusDone, UserID: u.ID, Warnings: warnings}
	if ch.IsEmpty() && !u.cached && ch.Hooks == nil {
		s.Seen.put(contactID, u)
		res.Message = fmt.Sprintf("user %d already up to date", u.ID)
		return res, nil
	}
	written, err := s.Users.Update(ctx, u, ch)
	if err != nil {
		if errors.Is(err, ErrEmailTaken) {
			return Result{}, permanentf("update user %d: the new email belongs to another user", u.ID)
		}
		return Result{}, fmt.Errorf("update user %d: %w", u.ID, err)
	}
	s.Seen.put(contactID, written)
	return s.written(written, ch, warnings), nil
}

// written is the result of a round that wrote ch to user u (as written).
func (s *Syncer) written(u *User, ch Change, warnings []string) Result {
	res := Result{Status: StatusDone, UserID: u.ID, Warnings: warnings}
	if ch.IsEmpty() {
		res.Message = fmt.Sprintf("user %d already up to date", u.ID)
	} else {
		res.Changes = describe(ch, s.Policy.TagsMetaKey)
		res.Message = fmt.Sprintf("updated user %d: %s", u.ID, strings.Join(res.Changes, ", "))
	}
	listenerWarnings(&res, u)
	return res
}

// describe lists what a change writes, without values.
func describe(ch Change, tagsKey string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(ch.Fields)) {
		if k == "user_pass" {
			out = append(out, "password")
			continue
		}
		out = append(out, k)
	}
	if ch.Roles != nil {
		out = append(out, "role")
	}
	for _, k := range slices.Sorted(maps.Keys(ch.Meta)) {
		if k == tagsKey {
			out = append(out, "tags")
			continue
		}
		out = append(out, "meta:"+k)
	}
	return out
}

// currentField is the user's value of a core field; the email lives in User.Email.
func currentField(u *User, target string) string {
	if target == "user_email" {
		return u.Email
	}
	return u.Fields[target]
}

func setField(ch *Change, k, v string) {
	if ch.Fields == nil {
		ch.Fields = map[string]string{}
	}
	ch.Fields[k] = v
}

// setMeta records a meta write when the value differs from the user's.
func setMeta(ch *Change, u *User, key string, v any) {
	if metaEqual(u.Meta[key], v) {
		return
	}
	if ch.Meta == nil {
		ch.Meta = map[string]any{}
	}
	ch.Meta[key] = v
}

// metaValue turns an AC value into a meta value: a multiselect becomes a list.
func metaValue(v string) any {
	if strings.Contains(v, "||") {
		return splitMulti(v)
	}
	return v
}

func metaStrings(v any) []string {
	switch t := v.(type) {
	case []string:
		return t
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			out = append(out, fmt.Sprint(e))
		}
		return out
	case string:
		return []string{t}
	}
	return nil
}

func metaEqual(have, want any) bool {
	if have == nil {
		return want == nil
	}
	if ws, ok := want.(string); ok {
		hs, ok := have.(string)
		return ok && hs == ws
	}
	if _, ok := have.(string); ok {
		return false
	}
	return slices.Equal(metaStrings(have), metaStrings(want))
}
