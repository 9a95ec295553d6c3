package activecampaign

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// Contact is an ActiveCampaign contact with its custom field values.
type Contact struct {
	ID        string
	Email     string
	FirstName string
	LastName  string
	Phone     string
	Orgname   string
	// FieldValues maps custom field id to value (a null value becomes "").
	// Contacts returned by FindByEmail carry no field values.
	FieldValues map[string]string
}

// ContactsService handles the /contacts endpoints.
type ContactsService struct{ c *Client }

type contactJSON struct {
	ID        flexString `json:"id"`
	Email     flexString `json:"email"`
	FirstName flexString `json:"firstName"`
	LastName  flexString `json:"lastName"`
	Phone     flexString `json:"phone"`
	Orgname   flexString `json:"orgname"`
}

func (j contactJSON) toContact() *Contact {
	return &Contact{
		ID: string(j.ID), Email: string(j.Email), FirstName: string(j.FirstName),
		LastName: string(j.LastName), Phone: string(j.Phone), Orgname: string(j.Orgname),
		FieldValues: map[string]string{},
	}
}

type fieldValueJSON struct {
	Contact flexString `json:"contact"`
	Field   flexString `json:"field"`
	Value   flexString `json:"value"`
}

type contactEnvelope struct {
	Contact     *contactJSON     `json:"contact"`
	FieldValues []fieldValueJSON `json:"fieldValues"`
}

// Get loads a contact with all its custom field values (GET /contacts/{id}, 1 request).
func (s *ContactsService) Get(ctx context.Context, id string) (*Contact, error) {
	if err := checkID("contact", id); err != nil {
		return nil, err
	}
	cl := call{method: http.MethodGet, path: "/contacts/{id}", params: map[string]string{"id": id}}
	var out contactEnvelope
	if err := s.c.do(ctx, cl, &out); err != nil {
		return nil, err
	}
	if out.Contact == nil || out.Contact.ID == "" {
		return nil, invalidBody(cl.method, cl.path, http.StatusOK, `no "contact" with an id`)
	}
	c := out.Contact.toContact()
	for _, fv := range out.FieldValues {
		if fv.Field == "" || (fv.Contact != "" && fv.Contact != out.Contact.ID) {
			continue
		}
		c.FieldValues[string(fv.Field)] = string(fv.Value)
	}
	return c, nil
}

type contactsEnvelope struct {
	Contacts *[]contactJSON `json:"contacts"`
}

// FindByEmail returns the contact whose email equals email, ignoring ASCII
// case only (GET /contacts?email=...; look-alikes such as the Kelvin sign
// for "k" never match). It returns an error matching ErrNotFound when there is none.
// The contact carries no field values; use Get for them.
func (s *ContactsService) FindByEmail(ctx context.Context, email string) (*Contact, error) {
	email = strings.TrimSpace(email)
	if email == "" || !utf8.ValidString(email) || strings.ContainsAny(email, "\x00\r\n") {
		return nil, fmt.Errorf("%w: empty or malformed email", ErrInvalidArgument)
	}
	cl := call{method: http.MethodGet, path: "/contacts", query: url.Values{"email": {email}}}
	var out contactsEnvelope
	if err := s.c.do(ctx, cl, &out); err != nil {
		return nil, err
	}
	if out.Contacts == nil {
		return nil, invalidBody(cl.method, cl.path, http.StatusOK, `no "contacts" array`)
	}
	for _, cj := range *out.Contacts {
		if cj.ID != "" && equalEmail(strings.TrimSpace(string(cj.Email)), email) {
			return cj.toContact(), nil
		}
	}
	return nil, fmt.Errorf("%w: no contact with that email (GET /contacts)", ErrNotFound)
}

// equalEmail reports whether a and b are the same address: equal, or ASCII
// and equal but for the case of letters. strings.EqualFold alone would match
// "\u212Aate@example.com" (Kelvin sign) to "kate@example.com". (The API
// client packages and the rules share no code, so each has this line.)
func equalEmail(a, b string) bool {
	isASCII := func(s string) bool { return strings.IndexFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) < 0 }
	return a == b || (isASCII(a) && isASCII(b) && strings.EqualFold(a, b))
}

type fieldValueIn struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

type contactUpdate struct {
	Contact struct {
		FieldValues []fieldValueIn `json:"fieldValues"`
	} `json:"contact"`
}

// SetFieldValues writes custom field values (field id -> value) of contact id in one
// request (PUT /contacts/{id}). An empty map sends nothing.
func (s *ContactsService) SetFieldValues(ctx context.Context, id string, values map[string]string) error {
	if err := checkID("contact", id); err != nil {
		return err
	}
	if len(values) == 0 {
		return nil
	}
	var body contactUpdate
	for field, v := range values {
		if err := checkID("field", field); err != nil {
			return err
		}
		if !utf8.ValidString(v) {
			return fmt.Errorf("%w: value of field %s is not valid UTF-8", ErrInvalidArgument, field)
		}
		body.Contact.FieldValues = append(body.Contact.FieldValues, fieldValueIn{Field: field, Value: v})
	}
	sort.Slice(body.Contact.FieldValues, func(i, j int) bool {
		a, b := body.Contact.FieldValues[i].Field, body.Contact.FieldValues[j].Field
		return len(a) < len(b) || (len(a) == len(b) && a < b)
	})
	cl := call{method: http.MethodPut, path: "/contacts/{id}", params: map[string]string{"id": id}, body: body}
	var out contactEnvelope
	if err := s.c.do(ctx, cl, &out); err != nil {
		return redactValues(err, values)
	}
	if out.Contact == nil || out.Contact.ID == "" {
		return invalidBody(cl.method, cl.path, http.StatusOK, `no "contact" with an id`)
	}
	return nil
}

type contactTagsEnvelope struct {
	ContactTags *[]struct {
		Tag flexString `json:"tag"`
	} `json:"contactTags"`
}

// TagNames returns the names of the tags on contact id (GET /contacts/{id}/contactTags),
// resolving tag ids through the Tags cache: 1 request once the cache is warm.
func (s *ContactsService) TagNames(ctx context.Context, id string) ([]string, error) {
	if err := checkID("contact", id); err != nil {
		return nil, err
	}
	cl := call{method: http.MethodGet, path: "/contacts/{id}/contactTags", params: map[string]string{"id": id}}
	var out contactTagsEnvelope
	if err := s.c.do(ctx, cl, &out); err != nil {
		return nil, err
	}
	if out.ContactTags == nil {
		return nil, invalidBody(cl.method, cl.path, http.StatusOK, `no "contactTags" array`)
	}
	ids := make([]string, 0, len(*out.ContactTags))
	for _, ct := range *out.ContactTags {
		if ct.Tag != "" {
			ids = append(ids, string(ct.Tag))
		}
	}
	return s.c.Tags.Names(ctx, ids)
}

// redactValues removes the written values from an error's message: AC may
// quote a rejected value back, and the values written are generated
// passwords and set-password links, which must never reach a log.
func redactValues(err error, values map[string]string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	for _, v := range values {
		if v != "" {
			e.Message = strings.ReplaceAll(e.Message, v, "[redacted]")
		}
	}
	return err
}
