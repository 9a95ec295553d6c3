package adapters

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/wordpress"
)

// DefaultRolesTTL is how long Roles trusts an answer: roles can change in
// WordPress at any time, so it is short.
const DefaultRolesTTL = time.Minute

// errRolesNotReported: the companion plugin is too old to report the roles'
// capabilities. Temporary: the work waits for the plugin to be updated.
var errRolesNotReported = errors.New("the wpbridge companion plugin does not report the roles' capabilities: update wp-content/mu-plugins/wpbridge.php")

// Roles implements contactsync.RoleSource over the companion plugin's status
// route, asking WordPress at most once per TTL (DefaultRolesTTL when zero).
type Roles struct {
	WP  *wordpress.Client
	TTL time.Duration
	Now func() time.Time // tests; time.Now when nil

	mu    sync.Mutex
	roles map[string]bool
	at    time.Time
}

var _ contactsync.RoleSource = (*Roles)(nil)

// AdminRoles returns the roles holding an admin-level capability. The
// map is shared: callers must not change it.
func (r *Roles) AdminRoles(ctx context.Context) (map[string]bool, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	ttl := r.TTL
	if ttl <= 0 {
		ttl = DefaultRolesTTL
	}
	r.mu.Lock() // held across the request: concurrent rounds wait for one answer
	defer r.mu.Unlock()
	if r.roles != nil && now().Sub(r.at) < ttl {
		return r.roles, nil
	}
	st, err := r.WP.Site.Status(ctx)
	if err != nil {
		return nil, err
	}
	roles := st.AdminRoles()
	if roles == nil {
		return nil, errRolesNotReported
	}
	r.roles, r.at = roles, now()
	return roles, nil
}
