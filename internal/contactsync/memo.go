package contactsync

import (
	"context"
	"sync"
)

// runContacts is the ContactSource of one run: each contact, each tag
// list and each field reference is asked of ActiveCampaign once, however often the rules need it
// (and when a run starts over after ErrStale), and a tag list can be asked
// for ahead (prefetchTags) while the contact loads.
type runContacts struct {
	ContactSource
	mu       sync.Mutex
	contacts map[string]*call[*Contact]
	tags     map[string]*call[[]string]
	fields   map[string]*call[string]
}

// call is one request, shared by everyone who asks for the same thing.
type call[T any] struct {
	done chan struct{}
	v    T
	err  error
}

func newRunContacts(src ContactSource) *runContacts {
	return &runContacts{ContactSource: src, contacts: map[string]*call[*Contact]{}, tags: map[string]*call[[]string]{},
		fields: map[string]*call[string]{}}
}

// once starts fn for key unless it was started, and returns its call.
func once[T any](mu *sync.Mutex, calls map[string]*call[T], key string, fn func() (T, error)) *call[T] {
	mu.Lock()
	c, ok := calls[key]
	if !ok {
		c = &call[T]{done: make(chan struct{})}
		calls[key] = c
	}
	mu.Unlock()
	if !ok {
		go func() {
			defer close(c.done)
			c.v, c.err = fn()
		}()
	}
	return c
}

func wait[T any](ctx context.Context, c *call[T]) (T, error) {
	select {
	case <-c.done:
		return c.v, c.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

func (r *runContacts) Contact(ctx context.Context, id string) (*Contact, error) {
	return wait(ctx, once(&r.mu, r.contacts, id, func() (*Contact, error) { return r.ContactSource.Contact(ctx, id) }))
}

func (r *runContacts) FieldID(ctx context.Context, ref string) (string, error) {
	return wait(ctx, once(&r.mu, r.fields, ref, func() (string, error) { return r.ContactSource.FieldID(ctx, ref) }))
}

func (r *runContacts) TagNames(ctx context.Context, id string) ([]string, error) {
	return wait(ctx, r.tagCall(ctx, id))
}

func (r *runContacts) tagCall(ctx context.Context, id string) *call[[]string] {
	return once(&r.mu, r.tags, id, func() ([]string, error) { return r.ContactSource.TagNames(ctx, id) })
}

// prefetchTags starts loading the contact's tags, unless the request
// carries them, so that they arrive while the contact loads: the two reads
// of a round go to ActiveCampaign together.
func (s *Syncer) prefetchTags(ctx context.Context, req Request) {
	if r, ok := s.Contacts.(*runContacts); ok && !req.HasTags {
		r.tagCall(ctx, req.ContactID)
	}
}
