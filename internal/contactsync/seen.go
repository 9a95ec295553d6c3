package contactsync

import "sync"

// Seen remembers, per contact id, the user last read or written for it,
// with its State, so that a later round for the contact can write to that
// user in one request: the write carries the State and WordPress refuses it
// (ErrStale) when the user has changed since, and the round then reads the
// user afresh. A wrong memory therefore costs a request, never a wrong
// write. Safe for concurrent use; nil remembers nothing.
type Seen struct {
	mu    sync.Mutex
	max   int
	users map[string]*User
}

// NewSeen remembers up to n users (at least one); beyond that an
// arbitrary one is forgotten.
func NewSeen(n int) *Seen {
	return &Seen{max: max(n, 1), users: map[string]*User{}}
}

// get returns the user remembered for the contact (a copy marked cached), or nil.
func (s *Seen) get(contactID string) *User {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[contactID]
	if !ok {
		return nil
	}
	c := *u
	c.cached = true
	return &c
}

// put remembers u for the contact; a user without State is not worth it.
// The remembered user is never changed afterwards (callers don't write to
// users they pass on).
func (s *Seen) put(contactID string, u *User) {
	if s == nil || u == nil || u.State == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[contactID]; !ok && len(s.users) >= s.max {
		for k := range s.users {
			delete(s.users, k)
			break
		}
	}
	c := *u
	c.cached = false
	s.users[contactID] = &c
}

// forget drops what is remembered for the contact.
func (s *Seen) forget(contactID string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.users, contactID)
}

// has reports whether a user is remembered for the contact.
func (s *Seen) has(contactID string) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.users[contactID]
	return ok
}
