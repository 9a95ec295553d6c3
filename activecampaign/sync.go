package activecampaign

// The WordPress → AC direction (reference/activecampaign.md §9): create or
// update a contact by email in one request, tag it by name, subscribe it to a
// list.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"
)

// ContactSync is the body of Contacts.Sync. Nil standard fields are left as
// they are in AC; a non-nil one is written, "" included (it clears the
// field). FieldValues maps custom field id to value.
type ContactSync struct {
	Email       string
	FirstName   *string
	LastName    *string
	Phone       *string
	FieldValues map[string]string
}

// String returns a pointer to s, for the optional fields of ContactSync.
func String(s string) *string { return &s }

// SyncResult is Contacts.Sync's answer.
type SyncResult struct {
	Contact *Contact // the contact as AC answered it (ID always set)
	// Created is true when AC answered 201 (a new contact), false on 200 (an
	// existing contact with that email was updated).
	Created bool
}

type contactSyncBody struct {
	Contact struct {
		Email       string         `json:"email"`
		FirstName   *string        `json:"firstName,omitempty"`
		LastName    *string        `json:"lastName,omitempty"`
		Phone       *string        `json:"phone,omitempty"`
		FieldValues []fieldValueIn `json:"fieldValues,omitempty"`
	} `json:"contact"`
}

// validText reports whether s can be sent: valid UTF-8 without NUL.
func validText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// body builds the JSON body of cs (Sync's and Update's).
func (cs ContactSync) body() (contactSyncBody, error) {
	var body contactSyncBody
	email := strings.TrimSpace(cs.Email)
	if email == "" || !validText(email) || strings.ContainsAny(email, "\r\n") {
		return body, fmt.Errorf("%w: empty or malformed email", ErrInvalidArgument)
	}
	body.Contact.Email = email
	for _, p := range []*string{cs.FirstName, cs.LastName, cs.Phone} {
		if p != nil && !validText(*p) {
			return body, fmt.Errorf("%w: a contact field is not valid UTF-8", ErrInvalidArgument)
		}
	}
	body.Contact.FirstName, body.Contact.LastName, body.Contact.Phone = cs.FirstName, cs.LastName, cs.Phone
	for field, v := range cs.FieldValues {
		if err := checkID("field", field); err != nil {
			return body, err
		}
		if !validText(v) {
			return body, fmt.Errorf("%w: value of field %s is not valid UTF-8", ErrInvalidArgument, field)
		}
		body.Contact.FieldValues = append(body.Contact.FieldValues, fieldValueIn{Field: field, Value: v})
	}
	sort.Slice(body.Contact.FieldValues, func(i, j int) bool {
		a, b := body.Contact.FieldValues[i].Field, body.Contact.FieldValues[j].Field
		return len(a) < len(b) || (len(a) == len(b) && a < b)
	})
	return body, nil
}

// redact removes cs's email and values from an error's message.
func (cs ContactSync) redact(err error) error {
	values := map[string]string{"email": strings.TrimSpace(cs.Email)}
	for k, v := range cs.FieldValues {
		values[k] = v
	}
	return redactValues(err, values)
}

// result turns a contact envelope into a SyncResult.
func (out contactEnvelope) result(cl call, status int) (*SyncResult, error) {
	if out.Contact == nil || out.Contact.ID == "" {
		return nil, invalidBody(cl.method, cl.path, status, `no "contact" with an id`)
	}
	c := out.Contact.toContact()
	for _, fv := range out.FieldValues {
		if fv.Field != "" && (fv.Contact == "" || fv.Contact == out.Contact.ID) {
			c.FieldValues[string(fv.Field)] = string(fv.Value)
		}
	}
	return &SyncResult{Contact: c, Created: status == http.StatusCreated}, nil
}

// Update writes cs to contact id (PUT /contacts/{id}), its email included:
// how a changed email reaches the contact that had the old one (Sync by the
// new email would make a second contact). 404 (ErrNotFound) when the contact
// is gone.
func (s *ContactsService) Update(ctx context.Context, id string, cs ContactSync) (*Contact, error) {
	if err := checkID("contact", id); err != nil {
		return nil, err
	}
	body, err := cs.body()
	if err != nil {
		return nil, err
	}
	cl := call{method: http.MethodPut, path: "/contacts/{id}", params: map[string]string{"id": id}, body: body}
	var out contactEnvelope
	status, err := s.c.doStatus(ctx, cl, &out)
	if err != nil {
		return nil, cs.redact(err)
	}
	res, err := out.result(cl, status)
	if err != nil {
		return nil, err
	}
	return res.Contact, nil
}

// Sync creates the contact with cs.Email, or updates the one AC has with that
// email, in one request (POST /contact/sync). AC answers 422 (an *Error with
// its Code, not Temporary) for an email it refuses. Values never appear in
// errors.
func (s *ContactsService) Sync(ctx context.Context, cs ContactSync) (*SyncResult, error) {
	body, err := cs.body()
	if err != nil {
		return nil, err
	}
	cl := call{method: http.MethodPost, path: "/contact/sync", body: body}
	var out contactEnvelope
	status, err := s.c.doStatus(ctx, cl, &out)
	if err != nil {
		return nil, cs.redact(err)
	}
	return out.result(cl, status)
}

type contactTagJSON struct {
	ID      flexString `json:"id"`
	Contact flexString `json:"contact"`
	Tag     flexString `json:"tag"`
}

// AddTag puts tag tagID on contact contactID (POST /contactTags) and returns
// the link's id (what RemoveTag deletes). Adding a tag the contact has is no
// error.
func (s *ContactsService) AddTag(ctx context.Context, contactID, tagID string) (string, error) {
	if err := checkID("contact", contactID); err != nil {
		return "", err
	}
	if err := checkID("tag", tagID); err != nil {
		return "", err
	}
	body := map[string]map[string]string{"contactTag": {"contact": contactID, "tag": tagID}}
	cl := call{method: http.MethodPost, path: "/contactTags", body: body}
	var out struct {
		ContactTag *contactTagJSON `json:"contactTag"`
	}
	status, err := s.c.doStatus(ctx, cl, &out)
	if err != nil {
		return "", err
	}
	if out.ContactTag == nil || out.ContactTag.ID == "" {
		return "", invalidBody(cl.method, cl.path, status, `no "contactTag" with an id`)
	}
	return string(out.ContactTag.ID), nil
}

// RemoveTag takes tag tagID off contact contactID: it finds the link (GET
// /contacts/{id}/contactTags) and deletes it (DELETE /contactTags/{id}), two
// requests; one when the contact does not have the tag (no error then).
func (s *ContactsService) RemoveTag(ctx context.Context, contactID, tagID string) error {
	if err := checkID("contact", contactID); err != nil {
		return err
	}
	if err := checkID("tag", tagID); err != nil {
		return err
	}
	cl := call{method: http.MethodGet, path: "/contacts/{id}/contactTags", params: map[string]string{"id": contactID}}
	var out struct {
		ContactTags *[]contactTagJSON `json:"contactTags"`
	}
	status, err := s.c.doStatus(ctx, cl, &out)
	if err != nil {
		return err
	}
	if out.ContactTags == nil {
		return invalidBody(cl.method, cl.path, status, `no "contactTags" array`)
	}
	for _, ct := range *out.ContactTags {
		if string(ct.Tag) != tagID || !ValidID(string(ct.ID)) {
			continue
		}
		del := call{method: http.MethodDelete, path: "/contactTags/{id}", params: map[string]string{"id": string(ct.ID)}}
		var ignored map[string]any
		if err := s.c.do(ctx, del, &ignored); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// ListStatus is a contact's status on a list.
type ListStatus int

// The list statuses AC knows.
const (
	ListActive       ListStatus = 1
	ListUnsubscribed ListStatus = 2
)

// SetListStatus subscribes (ListActive) or unsubscribes (ListUnsubscribed)
// contact contactID on list listID (POST /contactLists).
func (s *ContactsService) SetListStatus(ctx context.Context, contactID, listID string, st ListStatus) error {
	if err := checkID("contact", contactID); err != nil {
		return err
	}
	if err := checkID("list", listID); err != nil {
		return err
	}
	if st != ListActive && st != ListUnsubscribed {
		return fmt.Errorf("%w: list status must be 1 or 2", ErrInvalidArgument)
	}
	body := map[string]map[string]any{"contactList": {"list": listID, "contact": contactID, "status": int(st)}}
	cl := call{method: http.MethodPost, path: "/contactLists", body: body}
	var out struct {
		ContactList *struct {
			ID flexString `json:"id"`
		} `json:"contactList"`
	}
	status, err := s.c.doStatus(ctx, cl, &out)
	if err != nil {
		return err
	}
	if out.ContactList == nil {
		return invalidBody(cl.method, cl.path, status, `no "contactList"`)
	}
	return nil
}

// Create makes a contact tag named name (POST /tags) and returns it. AC
// refuses a name it already has (422): Ensure finds or creates.
func (s *TagsService) Create(ctx context.Context, name string) (*Tag, error) {
	name = strings.TrimSpace(name)
	if name == "" || !validText(name) || strings.ContainsAny(name, "\r\n") {
		return nil, fmt.Errorf("%w: empty or malformed tag name", ErrInvalidArgument)
	}
	body := map[string]map[string]string{"tag": {"tag": name, "tagType": "contact", "description": ""}}
	cl := call{method: http.MethodPost, path: "/tags", body: body}
	var out tagEnvelope
	status, err := s.c.doStatus(ctx, cl, &out)
	if err != nil {
		return nil, err
	}
	if out.Tag == nil || out.Tag.ID == "" {
		return nil, invalidBody(cl.method, cl.path, status, `no "tag" with an id`)
	}
	t := &Tag{ID: string(out.Tag.ID), Name: string(out.Tag.Tag)}
	s.remember(t)
	return t, nil
}

// Ensure returns the id of the tag named name, creating the tag when AC has
// none (Find, then Create; on a 422 from a create racing another, Find
// again): one request for a known tag, two or three for a new one.
func (s *TagsService) Ensure(ctx context.Context, name string) (string, error) {
	t, err := s.Find(ctx, name)
	if err == nil {
		s.remember(t)
		return t.ID, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return "", err
	}
	t, err = s.Create(ctx, name)
	var e *Error
	if errors.As(err, &e) && e.StatusCode == http.StatusUnprocessableEntity {
		if t, err2 := s.Find(ctx, name); err2 == nil {
			s.remember(t)
			return t.ID, nil
		}
	}
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

// remember puts t in the id -> name cache.
func (s *TagsService) remember(t *Tag) {
	s.mu.Lock()
	s.names[t.ID] = t.Name
	s.mu.Unlock()
}
