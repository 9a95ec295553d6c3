// Package check verifies, before going live, everything wpbridge needs from
// ActiveCampaign and WordPress, and says in plain words what to fix.
package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/config"
	"github.com/wpbridge/wpbridge/wordpress"
)

// Result is one checked item.
type Result struct {
	OK     bool
	Warn   bool   // OK, but worth acting on (printed "warn", never fails the check)
	What   string // what was checked
	Detail string // what was found, or what to fix
}

// MinAccessKeyLength is the shortest access key that draws no warning.
// Shorter keys still work: WP Fusion's own keys are often shorter.
const MinAccessKeyLength = 16

// Warning is a setting that works but weakens wpbridge's security. Message
// is a constant text (fit for a log message); it never holds a secret.
type Warning struct {
	Var     string // the environment variable
	Message string
	Advice  string // what to do about it
}

// Warnings lists the settings that work but weaken security: today, an
// access key shorter than MinAccessKeyLength characters.
func Warnings(cfg *config.Config) []Warning {
	short := 0
	for _, k := range cfg.AccessKeys {
		if utf8.RuneCountInString(k.Reveal()) < MinAccessKeyLength {
			short++
		}
	}
	if short == 0 {
		return nil
	}
	return []Warning{{
		Var:     "ACCESS_KEY",
		Message: "access key shorter than 16 characters",
		Advice: fmt.Sprintf("%d of %d access keys are shorter than %d characters and easier to guess: add a longer random key "+
			"(e.g. openssl rand -hex 24) next to the old one, change the URL in ActiveCampaign, then remove the old key",
			short, len(cfg.AccessKeys), MinAccessKeyLength),
	}}
}

// Run checks the configuration against both APIs, writes one line per item
// (and per warning) to w and reports whether everything holds. Warnings do
// not make it fail.
func Run(ctx context.Context, cfg *config.Config, ac *activecampaign.Client, wp *wordpress.Client, w io.Writer) bool {
	results := Check(ctx, cfg, ac, wp)
	warnings := Warnings(cfg)
	for _, wn := range warnings {
		fmt.Fprintf(w, "warn  %s: %s: %s\n", wn.Var, wn.Message, wn.Advice)
	}
	failed, warned := 0, len(warnings)
	for _, r := range results {
		mark := "ok  "
		switch {
		case !r.OK:
			mark = "FAIL"
			failed++
		case r.Warn:
			mark = "warn"
			warned++
		}
		fmt.Fprintf(w, "%s  %s: %s\n", mark, r.What, r.Detail)
	}
	if failed > 0 {
		fmt.Fprintf(w, "\n%d of %d checks failed: fix the items marked FAIL and run `wpbridge check` again.\n", failed, len(results))
		return false
	}
	if warned > 0 {
		fmt.Fprintf(w, "\nall %d checks passed: wpbridge is ready to go live; consider the lines marked warn.\n", len(results))
		return true
	}
	fmt.Fprintf(w, "\nall %d checks passed: wpbridge is ready to go live.\n", len(results))
	return true
}

// Check runs every check and returns the results in order.
func Check(ctx context.Context, cfg *config.Config, ac *activecampaign.Client, wp *wordpress.Client) []Result {
	var r results
	r.secretKey(cfg)
	acOK := r.activeCampaign(ctx, cfg, ac)
	r.wordPress(ctx, cfg, wp)
	r.outbox(ctx, cfg, wp)
	if acOK {
		r.fields(ctx, ac, fieldRefs(cfg))
		r.tags(ctx, ac, cfg.TagRoles.Tags())
	}
	return r
}

// secretKey checks, when pending passwords or links are kept on PostgreSQL,
// that they are stored encrypted (SECRET_KEY set; config validation refuses
// to start without it).
func (r *results) secretKey(cfg *config.Config) {
	if !cfg.NeedsSecretKey() {
		return
	}
	if cfg.SecretKey == "" {
		r.add(false, "SECRET_KEY", "not set: on PostgreSQL with RETURN_PASSWORD_FIELD or RETURN_LINK_FIELD, pending passwords and links are stored encrypted under it: set it (openssl rand -hex 32)")
		return
	}
	r.add(true, "SECRET_KEY", "set: pending passwords and links are stored encrypted on PostgreSQL (XChaCha20-Poly1305)")
}

// results collects the checked items in order.
type results []Result

func (r *results) add(ok bool, what, format string, a ...any) {
	*r = append(*r, Result{OK: ok, What: what, Detail: fmt.Sprintf(format, a...)})
}

// warn adds an item that passes with a warning.
func (r *results) warn(what, format string, a ...any) {
	*r = append(*r, Result{OK: true, Warn: true, What: what, Detail: fmt.Sprintf(format, a...)})
}

// activeCampaign checks the API URL and key, and reports whether they work.
func (r *results) activeCampaign(ctx context.Context, cfg *config.Config, ac *activecampaign.Client) bool {
	u, err := ac.Users.Me(ctx)
	switch {
	case errors.Is(err, activecampaign.ErrUnauthorized):
		r.add(false, "ActiveCampaign API", "AC_API_KEY was rejected: copy the key from Settings > Developer in ActiveCampaign")
	case errors.Is(err, activecampaign.ErrNotFound):
		r.add(false, "ActiveCampaign API", "AC_API_URL %s does not look like an ActiveCampaign API URL (404): use the URL from Settings > Developer", cfg.ACAPIURL)
	case err != nil:
		r.add(false, "ActiveCampaign API", "cannot use AC_API_URL %s: %v: check the URL and that this machine can reach it", cfg.ACAPIURL, err)
	default:
		r.add(true, "ActiveCampaign API", "%s answers and AC_API_KEY is accepted (user %s)", cfg.ACAPIURL, u.Username)
		return true
	}
	return false
}

// minPluginVersion is the oldest companion plugin with every route wpbridge
// uses (1.1: the one-request lookup and conditional updates; 1.2: the actions
// it fires; 1.3: wpbridge's own rights on every route, guarded deletes, the new-user
// email that shares the link's key, the outbox).
const minPluginVersion = "1.3.0"

// fastPluginVersion is the companion plugin whose lookup also writes, with
// the short way in and meta-only writes (issue 21); older ones work, slower.
const fastPluginVersion = "1.4.0"

// olderThan compares dotted version numbers ("1.0.0" < "1.1.0"); a part that
// is not a number counts as 0.
func olderThan(v, least string) bool {
	a, b := strings.Split(v, "."), strings.Split(least, ".")
	for i := range max(len(a), len(b)) {
		x, y := 0, 0
		if i < len(a) {
			x, _ = strconv.Atoi(a[i])
		}
		if i < len(b) {
			y, _ = strconv.Atoi(b[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// wordPress checks the site, the credentials and the companion plugin, then
// what the plugin reports.
func (r *results) wordPress(ctx context.Context, cfg *config.Config, wp *wordpress.Client) {
	st, err := wp.Site.Status(ctx)
	switch {
	case errors.Is(err, wordpress.ErrPluginMissing):
		r.add(false, "WordPress companion plugin", "not installed on %s: copy wordpress/plugin/wpbridge.php into wp-content/mu-plugins/", cfg.WPURL)
	case errors.Is(err, wordpress.ErrForbidden):
		// Signed in, but the status route needs list_users.
		r.add(false, "WordPress credentials", "WP_USERNAME %q is signed in but lacks the list_users capability: use an administrator's application password", cfg.WPUsername)
	case errors.Is(err, wordpress.ErrUnauthorized):
		r.add(false, "WordPress credentials", "WP_USERNAME %q with WP_APP_PASSWORD was rejected: create an application password for that user (Users > Profile > Application Passwords); over plain http WordPress also needs WP_ENVIRONMENT_TYPE=local", cfg.WPUsername)
	case err != nil:
		r.add(false, "WordPress REST API", "cannot use WP_URL %s: %v: check the URL and that this machine can reach it", cfg.WPURL, err)
	default:
		r.add(true, "WordPress REST API", "%s answers (WordPress %s), credentials of %q accepted", cfg.WPURL, st.WordPress, cfg.WPUsername)
		if olderThan(st.Version, minPluginVersion) {
			r.add(false, "WordPress companion plugin", "version %s is older than %s, which this wpbridge needs: copy wordpress/plugin/wpbridge.php over the one in wp-content/mu-plugins/", st.Version, minPluginVersion)
		} else if olderThan(st.Version, fastPluginVersion) {
			r.warn("WordPress companion plugin", "installed, version %s; version %s makes a contact's first round one WordPress request instead of two and each request lighter: copy wordpress/plugin/wpbridge.php over it", st.Version, fastPluginVersion)
		} else {
			r.add(true, "WordPress companion plugin", "installed, version %s", st.Version)
		}
		r.site(cfg, st)
		r.metaIndex(ctx, cfg, wp)
	}
}

// site checks the user's capabilities and that every configured role exists.
func (r *results) site(cfg *config.Config, st *wordpress.Status) {
	for _, capName := range []string{"create_users", "edit_users", "list_users", "promote_users"} {
		if st.Capabilities[capName] {
			r.add(true, "capability "+capName, "%q has it", cfg.WPUsername)
		} else {
			r.add(false, "capability "+capName, "%q lacks it (the companion plugin refuses every request of a user without create_users, edit_users, list_users and promote_users): use an administrator's application password", cfg.WPUsername)
		}
	}
	if st.Network != nil {
		r.network(cfg, st)
	}
	roles := append([]string{cfg.DefaultRole}, cfg.AllowedRoles...)
	roles = append(roles, cfg.TagRoles.Roles()...)
	slices.Sort(roles)
	for _, role := range slices.Compact(roles) {
		r.role(role, st)
	}
}

// role checks that a configured role exists and holds no admin-level
// capability (a webhook would hand it out).
func (r *results) role(role string, st *wordpress.Status) {
	if _, ok := st.Roles[role]; !ok {
		r.add(false, "role "+role, "does not exist in WordPress (roles: %s): fix DEFAULT_ROLE/ALLOWED_ROLES/TAG_ROLES or create the role", strings.Join(slices.Sorted(maps.Keys(st.Roles)), ", "))
		return
	}
	if st.RoleAdminCapabilities == nil {
		r.add(false, "role "+role, "exists, but the companion plugin is too old to tell its capabilities: update wp-content/mu-plugins/wpbridge.php from wordpress/plugin/wpbridge.php")
		return
	}
	if caps := st.RoleAdminCapabilities[role]; len(caps) > 0 || role == "administrator" {
		if len(caps) == 0 {
			caps = []string{"everything"}
		}
		r.add(false, "role "+role, "holds admin-level capabilities (%s): a webhook must never hand it out; remove it from DEFAULT_ROLE/ALLOWED_ROLES/TAG_ROLES or take those capabilities from the role", strings.Join(caps, ", "))
		return
	}
	r.add(true, "role "+role, "exists and holds no admin-level capability")
}

// fieldRef is an ActiveCampaign custom field the configuration names.
type fieldRef struct{ what, ref string }

// fieldRefs lists the custom fields the configuration names, in order.
func fieldRefs(cfg *config.Config) []fieldRef {
	var refs []fieldRef
	if cfg.ReturnPasswordField != "" {
		refs = append(refs, fieldRef{"RETURN_PASSWORD_FIELD", cfg.ReturnPasswordField})
	}
	if cfg.ReturnLinkField != "" {
		refs = append(refs, fieldRef{"RETURN_LINK_FIELD", cfg.ReturnLinkField})
	}
	for _, m := range cfg.FieldMap {
		src := m.Source
		if strings.HasPrefix(src, "field:") {
			src = strings.TrimPrefix(src, "field:")
		} else if !strings.HasPrefix(src, "%") {
			continue // standard contact field
		}
		refs = append(refs, fieldRef{"FIELD_MAP " + m.Target, src})
	}
	return refs
}

// fields checks that each named custom field exists in ActiveCampaign.
func (r *results) fields(ctx context.Context, ac *activecampaign.Client, refs []fieldRef) {
	for _, f := range refs {
		field, err := ac.Fields.Resolve(ctx, f.ref)
		switch {
		case errors.Is(err, activecampaign.ErrNotFound):
			r.add(false, f.what, "ActiveCampaign has no custom field %s: create it or fix the variable", f.ref)
		case err != nil:
			r.add(false, f.what, "cannot list ActiveCampaign fields: %v: run the check again; if it persists, check AC_API_KEY's permissions", err)
		default:
			r.add(true, f.what, "field %s exists (%q, id %s)", f.ref, field.Title, field.ID)
		}
	}
}

// tags checks that each tag TAG_ROLES names exists in ActiveCampaign.
func (r *results) tags(ctx context.Context, ac *activecampaign.Client, names []string) {
	for _, name := range names {
		tag, err := ac.Tags.Find(ctx, name)
		switch {
		case errors.Is(err, activecampaign.ErrNotFound):
			r.add(false, "TAG_ROLES tag "+name, "ActiveCampaign has no tag %q: create it or fix TAG_ROLES", name)
		case err != nil:
			r.add(false, "TAG_ROLES tag "+name, "cannot search ActiveCampaign's tags: %v: run the check again", err)
		default:
			r.add(true, "TAG_ROLES tag "+name, "exists (id %s)", tag.ID)
		}
	}
}

// network names the site of a multisite network WP_URL is, and checks that
// the user may add users to it: edit users at all (manage_network_users: super
// admins), add a network user who is no member (promote_users on the site),
// and create new ones (create_users: super admins, or site admins when the
// network allows it, its add_new_users setting).
func (r *results) network(cfg *config.Config, st *wordpress.Status) {
	n := st.Network
	kind := "subdirectory"
	if n.SubdomainInstall {
		kind = "subdomain"
	}
	main := ""
	if n.MainSite {
		main = ", the main site"
	}
	r.add(true, "multisite network", "WP_URL is site %d %q (%s%s) of a %s network: this wpbridge serves that site only (roles are per site; tags and contact ids are the network user's)",
		n.SiteID, n.SiteName, n.SiteURL, main, kind)
	who := fmt.Sprintf("%q is a site administrator, no super admin", cfg.WPUsername)
	if n.SuperAdmin {
		who = fmt.Sprintf("%q is a super admin", cfg.WPUsername)
	}
	var missing []string
	if !n.ManageNetworkUsers {
		missing = append(missing, "edit users (on a network that needs manage_network_users: a super admin)")
	}
	if !st.Capabilities["promote_users"] {
		missing = append(missing, "add existing network users to this site (promote_users on the site)")
	}
	if !st.Capabilities["create_users"] {
		missing = append(missing, "create users (create_users: super admins, or site administrators when the network setting add_new_users is on)")
	}
	if len(missing) > 0 {
		r.add(false, "adding users to the site", "%s and may not %s: use a super admin's application password", who, strings.Join(missing, ", "))
		return
	}
	how := "as a super admin"
	if !n.SuperAdmin {
		how = "the network lets site administrators add users (add_new_users)"
	}
	r.add(true, "adding users to the site", "%s: may edit, add and create users on site %d (%s)", who, n.SiteID, how)
}
