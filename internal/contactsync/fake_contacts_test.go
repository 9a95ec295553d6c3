package contactsync

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
)

// fakeContacts is an in-memory ActiveCampaign account.
type fakeContacts struct {
	mu       sync.Mutex
	contacts map[string]*Contact
	tags     map[string][]string
	fields   map[string]string // "12" or "%PERSTAG%" -> field id
	writes   []fieldWrite
	callLog
}

type fieldWrite struct{ contactID, fieldID, value string }

func newFakeContacts(cs ...*Contact) *fakeContacts {
	f := &fakeContacts{
		contacts: map[string]*Contact{},
		tags:     map[string][]string{},
		fields:   map[string]string{"12": "12", "%PASSWORD%": "12", "9": "9", "%INTERESTS%": "9", "10": "10", "%COMPANY_SIZE%": "10"},
	}
	for _, c := range cs {
		f.contacts[c.ID] = cloneContact(c)
	}
	return f
}

func cloneContact(c *Contact) *Contact {
	out := *c
	out.Fields = maps.Clone(c.Fields)
	return &out
}

func (f *fakeContacts) Contact(_ context.Context, id string) (*Contact, error) {
	if err := f.enter("Contact"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.contacts[id]
	if !ok {
		return nil, ErrContactNotFound
	}
	return cloneContact(c), nil
}

func (f *fakeContacts) ContactByEmail(_ context.Context, email string) (*Contact, error) {
	if err := f.enter("ContactByEmail"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range slices.Sorted(maps.Keys(f.contacts)) {
		if c := f.contacts[id]; strings.EqualFold(c.Email, email) {
			return cloneContact(c), nil
		}
	}
	return nil, ErrContactNotFound
}

func (f *fakeContacts) TagNames(_ context.Context, contactID string) ([]string, error) {
	if err := f.enter("TagNames"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.contacts[contactID]; !ok {
		return nil, ErrContactNotFound
	}
	return slices.Clone(f.tags[contactID]), nil
}

func (f *fakeContacts) FieldID(_ context.Context, ref string) (string, error) {
	if err := f.enter("FieldID"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.fields[ref]
	if !ok {
		return "", ErrFieldNotFound
	}
	return id, nil
}

func (f *fakeContacts) SetField(_ context.Context, contactID, fieldID, value string) error {
	if err := f.enter("SetField"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.contacts[contactID]
	if !ok {
		return ErrContactNotFound
	}
	if c.Fields == nil {
		c.Fields = map[string]string{}
	}
	c.Fields[fieldID] = value
	f.writes = append(f.writes, fieldWrite{contactID, fieldID, value})
	return nil
}
