package wordpress

import (
	"context"
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
	}
	r := request{method: http.MethodGet, route: "/wpbridge/v1/status"}
	if _, err := s.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	if out.Version == "" {
		return nil, &Error{Code: CodeInvalidResponse, Message: "status answer has no version", Method: r.method, Path: r.route}
	}
	return &Status{Version: out.Version, WordPress: out.WordPress, Roles: out.Roles, Capabilities: out.Capabilities}, nil
}
