package admin

import (
	"sync"
	"time"
)

// revoked remembers the sessions signed out on this process until they
// would have expired anyway, so that a copied session cookie stops working
// at sign-out rather than at the end of its lifetime.
type revoked struct {
	mu sync.Mutex
	m  map[string]time.Time // session id → when it expires
}

func newRevoked() *revoked { return &revoked{m: map[string]time.Time{}} }

// add revokes the session id until expires; it also forgets the entries
// whose sessions have expired, so the map holds only live sessions.
func (r *revoked) add(id string, expires, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, t := range r.m {
		if !t.After(now) {
			delete(r.m, k)
		}
	}
	r.m[id] = expires
}

func (r *revoked) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.m[id]
	return ok
}
