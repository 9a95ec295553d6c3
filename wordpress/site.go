package wordpress

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// SiteService reads site-level information from the companion plugin.
type SiteService struct{ c *Client }

// Status describes the site and the authenticated user, from the companion plugin.
type Status struct {
	Version   string            // companion plugin version
	WordPress string            // WordPress version, e.g. "6.1.9"
	Roles     map[string]string // role slug -> display name
	// Capabilities of the authenticated user: create_users, edit_users,
	// list_users, promote_users.
	Capabilities map[string]bool
	// RoleAdminCapabilities lists, for every role, the admin-level
	// capabilities it holds (those of AdminCapabilities); empty for most
	// roles. Nil when the companion plugin does not report them (an older
	// version).
	RoleAdminCapabilities map[string][]string
	// Network describes the multisite network WP_URL is a site of; nil on a
	// single site (or with a plugin older than the report).
	Network *Network
}

// Network is a multisite network as the companion plugin reports it, seen
// from the site WP_URL names and by the authenticated user.
type Network struct {
	SiteID           int64  `json:"site_id"`
	SiteName         string `json:"site_name"`
	SiteURL          string `json:"site_url"`
	MainSite         bool   `json:"main_site"`
	SubdomainInstall bool   `json:"subdomain_install"`
	SuperAdmin       bool   `json:"super_admin"`   // the user is a super admin
	AddNewUsers      bool   `json:"add_new_users"` // the network lets site admins create users
	Member           bool   `json:"member"`        // the user is a member of the site
	// ManageNetworkUsers: the user may edit users at all (on a network,
	// edit_users needs it: super admins, or a grant).
	ManageNetworkUsers  bool `json:"-"`
	PluginNetworkActive bool `json:"plugin_network_active"`
}

// AdminRoles returns the admin-level roles (holding at least one of
// AdminCapabilities), or nil when the plugin does not report them.
func (s *Status) AdminRoles() map[string]bool {
	if s.RoleAdminCapabilities == nil {
		return nil
	}
	out := map[string]bool{}
	for role, caps := range s.RoleAdminCapabilities {
		if len(caps) > 0 {
			out[role] = true
		}
	}
	return out
}

// Status returns the plugin and WordPress versions, the roles and the
// authenticated user's capabilities (GET /wpbridge/v1/status). Without the
// companion plugin the error matches ErrPluginMissing.
func (s *SiteService) Status(ctx context.Context) (*Status, error) {
	var out struct {
		Version      string            `json:"version"`
		WordPress    string            `json:"wordpress"`
		Roles        map[string]string `json:"roles"`
		Capabilities map[string]bool   `json:"capabilities"`
		RoleAdmin    roleCaps          `json:"role_admin_capabilities"`
		Network      *struct {
			Network
			Capabilities map[string]bool `json:"capabilities"`
		} `json:"network"`
	}
	r := request{method: http.MethodGet, route: "/wpbridge/v1/status"}
	if _, err := s.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	if out.Version == "" {
		return nil, &Error{Code: CodeInvalidResponse, Message: "status answer has no version", Method: r.method, Path: r.route}
	}
	st := &Status{Version: out.Version, WordPress: out.WordPress, Roles: out.Roles, Capabilities: out.Capabilities,
		RoleAdminCapabilities: out.RoleAdmin}
	if out.Network != nil {
		n := out.Network.Network
		n.ManageNetworkUsers = out.Network.Capabilities["manage_network_users"]
		st.Network = &n
	}
	return st, nil
}

// roleCaps decodes role_admin_capabilities; PHP sends an empty list as [] and
// may send an empty object as [] too.
type roleCaps map[string][]string

func (r *roleCaps) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		var list []any
		if json.Unmarshal(b, &list) == nil && len(list) == 0 {
			*r = roleCaps{}
			return nil
		}
		return err
	}
	*r = make(roleCaps, len(raw))
	for role, v := range raw {
		var caps []string
		if err := json.Unmarshal(v, &caps); err != nil {
			return fmt.Errorf("role_admin_capabilities of %s: %w", role, err)
		}
		(*r)[role] = caps
	}
	return nil
}
