// Package check verifies, before going live, everything wpbridge needs from
// ActiveCampaign and WordPress, and says in plain words what to fix.
package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/config"
	"github.com/wpbridge/wpbridge/wordpress"
)

// Result is one checked item.
type Result struct {
	OK     bool
	What   string // what was checked
	Detail string // what was found, or what to fix
}

// Run checks the configuration against both APIs, writes one line per item
// to w and reports whether everything holds.
func Run(ctx context.Context, cfg *config.Config, ac *activecampaign.Client, wp *wordpress.Client, w io.Writer) bool {
	results := Check(ctx, cfg, ac, wp)
	failed := 0
	for _, r := range results {
		mark := "ok  "
		if !r.OK {
			mark = "FAIL"
			failed++
		}
		fmt.Fprintf(w, "%s  %s: %s\n", mark, r.What, r.Detail)
	}
	if failed > 0 {
		fmt.Fprintf(w, "\n%d of %d checks failed: fix the items marked FAIL and run `wpbridge check` again.\n", failed, len(results))
		return false
	}
	fmt.Fprintf(w, "\nall %d checks passed: wpbridge is ready to go live.\n", len(results))
	return true
}

// Check runs every check and returns the results in order.
func Check(ctx context.Context, cfg *config.Config, ac *activecampaign.Client, wp *wordpress.Client) []Result {
	var out []Result
	add := func(ok bool, what, format string, a ...any) {
		out = append(out, Result{OK: ok, What: what, Detail: fmt.Sprintf(format, a...)})
	}

	// ActiveCampaign.
	acOK := false
	if u, err := ac.Users.Me(ctx); err != nil {
		switch {
		case errors.Is(err, activecampaign.ErrUnauthorized):
			add(false, "ActiveCampaign API", "AC_API_KEY was rejected: copy the key from Settings > Developer in ActiveCampaign")
		case errors.Is(err, activecampaign.ErrNotFound):
			add(false, "ActiveCampaign API", "AC_API_URL %s does not look like an ActiveCampaign API URL (404): use the URL from Settings > Developer", cfg.ACAPIURL)
		default:
			add(false, "ActiveCampaign API", "cannot use AC_API_URL %s: %v: check the URL and that this machine can reach it", cfg.ACAPIURL, err)
		}
	} else {
		acOK = true
		add(true, "ActiveCampaign API", "%s answers and AC_API_KEY is accepted (user %s)", cfg.ACAPIURL, u.Username)
	}

	// WordPress, through the companion plugin.
	st, err := wp.Site.Status(ctx)
	switch {
	case errors.Is(err, wordpress.ErrPluginMissing):
		add(false, "WordPress companion plugin", "not installed on %s: copy wordpress/plugin/wpbridge.php into wp-content/mu-plugins/", cfg.WPURL)
	case errors.Is(err, wordpress.ErrForbidden):
		// Signed in, but the status route needs list_users.
		add(false, "WordPress credentials", "WP_USERNAME %q is signed in but lacks the list_users capability: use an administrator's application password", cfg.WPUsername)
	case errors.Is(err, wordpress.ErrUnauthorized):
		add(false, "WordPress credentials", "WP_USERNAME %q with WP_APP_PASSWORD was rejected: create an application password for that user (Users > Profile > Application Passwords); over plain http WordPress also needs WP_ENVIRONMENT_TYPE=local", cfg.WPUsername)
	case err != nil:
		add(false, "WordPress REST API", "cannot use WP_URL %s: %v: check the URL and that this machine can reach it", cfg.WPURL, err)
	default:
		add(true, "WordPress REST API", "%s answers (WordPress %s), credentials of %q accepted", cfg.WPURL, st.WordPress, cfg.WPUsername)
		add(true, "WordPress companion plugin", "installed, version %s", st.Version)
		for _, capName := range []string{"create_users", "edit_users", "list_users", "promote_users"} {
			if st.Capabilities[capName] {
				add(true, "capability "+capName, "%q has it", cfg.WPUsername)
			} else {
				add(false, "capability "+capName, "%q lacks it: use an administrator's application password", cfg.WPUsername)
			}
		}
		roles := append([]string{cfg.DefaultRole}, cfg.AllowedRoles...)
		slices.Sort(roles)
		for _, r := range slices.Compact(roles) {
			if _, ok := st.Roles[r]; ok {
				add(true, "role "+r, "exists")
			} else {
				add(false, "role "+r, "does not exist in WordPress (roles: %s): fix DEFAULT_ROLE/ALLOWED_ROLES or create the role", strings.Join(sortedKeys(st.Roles), ", "))
			}
		}
	}

	// ActiveCampaign fields the configuration names.
	if !acOK {
		return out
	}
	refs := []struct{ what, ref string }{}
	if cfg.ReturnPasswordField != "" {
		refs = append(refs, struct{ what, ref string }{"RETURN_PASSWORD_FIELD", cfg.ReturnPasswordField})
	}
	for _, m := range cfg.FieldMap {
		src := m.Source
		if strings.HasPrefix(src, "field:") {
			src = strings.TrimPrefix(src, "field:")
		} else if !strings.HasPrefix(src, "%") {
			continue // standard contact field
		}
		refs = append(refs, struct{ what, ref string }{"FIELD_MAP " + m.Target, src})
	}
	for _, r := range refs {
		f, err := ac.Fields.Resolve(ctx, r.ref)
		switch {
		case errors.Is(err, activecampaign.ErrNotFound):
			add(false, r.what, "ActiveCampaign has no custom field %s: create it or fix the variable", r.ref)
		case err != nil:
			add(false, r.what, "cannot list ActiveCampaign fields: %v: run the check again; if it persists, check AC_API_KEY's permissions", err)
		default:
			add(true, r.what, "field %s exists (%q, id %s)", r.ref, f.Title, f.ID)
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
