package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
)

// Error is one configuration problem: the variable and what to fix. Load
// and Validate return several of them joined with errors.Join, one per line;
// use errors.As to get the first.
type Error struct {
	Var     string // environment variable, e.g. "AC_API_URL"
	Problem string // what is wrong and how to fix it; never holds a secret
}

func (e *Error) Error() string { return e.Var + ": " + e.Problem }

// maxSyncTimeout is the upper bound of SYNC_TIMEOUT: AC gives up on a webhook
// after about 30 seconds.
const maxSyncTimeout = 30 * time.Second

// Validate checks every field and reports every problem, one *Error per
// line, in the order of the variables. Empty required values are reported as
// missing. Secret values never appear in the error.
func (c *Config) Validate() error {
	return errors.Join(sortByVar(c.problems())...)
}

type problems []error

func (p *problems) add(v, format string, args ...any) {
	*p = append(*p, &Error{Var: v, Problem: fmt.Sprintf(format, args...)})
}

// problems lists every problem, variable by variable in Config's order.
func (c *Config) problems() []error {
	var p problems
	c.checkAccessKeys(&p)
	c.checkAC(&p)
	c.checkWP(&p)
	c.checkListenAddr(&p)
	c.checkDatabaseURL(&p)
	if c.SyncTimeout < 0 || c.SyncTimeout > maxSyncTimeout {
		p.add("SYNC_TIMEOUT", "must be from 0s to 30s (0 = always answer 202 at once) (got %s)", c.SyncTimeout)
	}
	c.checkDefaultRole(&p)
	c.checkAllowedRoles(&p)
	c.checkTagRoles(&p)
	c.checkNewUsers(&p)
	c.checkSecretKey(&p)
	p = append(p, c.FieldMap.validate()...)
	c.checkMetaKeys(&p)
	checkRange(&p, "AC_RATE_LIMIT", c.ACRateLimit)
	checkRange(&p, "WP_MAX_CONCURRENT", c.WPMaxConcurrent)
	checkRange(&p, "WORKERS", c.Workers)
	checkRange(&p, "MAX_PENDING", c.MaxPending)
	c.checkRetries(&p)
	c.checkTrustedProxies(&p)
	c.checkLogging(&p)
	c.checkAdminToken(&p)
	c.checkSyncToAC(&p)
	return p
}

func (c *Config) checkAccessKeys(p *problems) {
	if len(c.AccessKeys) == 0 {
		p.add("ACCESS_KEY", "required: set the webhook access key that AC sends as access_key= (several keys separated by commas while rotating)")
		return
	}
	for _, k := range c.AccessKeys {
		if strings.TrimSpace(k.Reveal()) == "" {
			p.add("ACCESS_KEY", "holds an empty key: remove the stray comma or blank entry")
			return
		}
	}
}

// checkAC checks AC_API_URL and AC_API_KEY.
func (c *Config) checkAC(p *problems) {
	if c.ACAPIURL == "" {
		p.add("AC_API_URL", "required: set your AC account URL, like https://ACCOUNT.api-us1.com (AC Settings > Developer)")
	} else if msg := checkHTTPURL(c.ACAPIURL, "https://ACCOUNT.api-us1.com"); msg != "" {
		p.add("AC_API_URL", "%s", msg)
	} else if u, _ := url.Parse(c.ACAPIURL); u.Path != "" && strings.TrimRight(u.Path, "/") != "/api/3" {
		p.add("AC_API_URL", "must be the account URL with no path other than /api/3, like https://ACCOUNT.api-us1.com%s", got(c.ACAPIURL))
	}
	if c.ACAPIKey == "" {
		p.add("AC_API_KEY", "required: set the API token from AC Settings > Developer")
	}
}

// checkWP checks WP_URL, WP_USERNAME and WP_APP_PASSWORD.
func (c *Config) checkWP(p *problems) {
	if c.WPURL == "" {
		p.add("WP_URL", "required: set the WordPress site URL, like https://example.com")
	} else if msg := checkHTTPURL(c.WPURL, "https://example.com"); msg != "" {
		p.add("WP_URL", "%s", msg)
	}
	if strings.TrimSpace(c.WPUsername) == "" {
		p.add("WP_USERNAME", "required: set the login of the WordPress user that owns the application password")
	}
	if c.WPAppPassword == "" {
		p.add("WP_APP_PASSWORD", "required: create an application password under Users > Profile > Application Passwords in WordPress")
	}
}

func (c *Config) checkDefaultRole(p *problems) {
	if msg := checkRole(c.DefaultRole); msg != "" {
		p.add("DEFAULT_ROLE", "%s", msg)
	} else if c.DefaultRole == "administrator" {
		p.add("DEFAULT_ROLE", "administrator can never be assigned by a webhook: use subscriber or another low-privilege role")
	}
}

// checkNewUsers checks how new users get their login and password:
// USERNAME_FORMAT, PASSWORD_LENGTH, RETURN_PASSWORD_FIELD and RETURN_LINK_FIELD.
func (c *Config) checkNewUsers(p *problems) {
	switch c.UsernameFormat {
	case "email", "flname", "fnamenum":
	default:
		p.add("USERNAME_FORMAT", "must be email, flname or fnamenum (got %q)", c.UsernameFormat)
	}
	checkRange(p, "PASSWORD_LENGTH", c.PasswordLength)
	if f := c.ReturnPasswordField; f != "" {
		if norm, err := normalizeReturnField(f); err != nil || norm != f {
			p.add("RETURN_PASSWORD_FIELD", "must be an AC custom field id like 12 or a personalization tag like %%WP_PASSWORD%% (got %q); leave it empty to turn it off", f)
		}
	}
	if f := c.ReturnLinkField; f != "" {
		if norm, err := normalizeReturnField(f); err != nil || norm != f {
			p.add("RETURN_LINK_FIELD", "must be an AC custom field id like 13 or a personalization tag like %%PASSWORD_LINK%% (got %q); leave it empty to turn it off", f)
		}
	}
}

// MinSecretKeyLength is the shortest SECRET_KEY accepted.
const MinSecretKeyLength = 32

// checkSecretKey checks SECRET_KEY: at least MinSecretKeyLength characters,
// and set on PostgreSQL when a return field is (deleted rows live on in
// PostgreSQL's dead tuples, WAL, backups and replicas: only ciphertext may).
func (c *Config) checkSecretKey(p *problems) {
	if k := c.SecretKey.Reveal(); k != "" && len(k) < MinSecretKeyLength {
		p.add("SECRET_KEY", "must be at least %d characters (got %d): generate one with openssl rand -hex 32", MinSecretKeyLength, len(k))
		return
	}
	if c.SecretKey == "" && c.NeedsSecretKey() {
		p.add("SECRET_KEY", "is required on PostgreSQL when RETURN_PASSWORD_FIELD or RETURN_LINK_FIELD is set: pending passwords and links are stored encrypted under it (generate one with openssl rand -hex 32)")
	}
}

// NeedsSecretKey reports whether the configuration keeps pending passwords
// or links on PostgreSQL, where they must be encrypted under SECRET_KEY.
func (c *Config) NeedsSecretKey() bool {
	_, sqlite := c.SQLitePath()
	return !sqlite && (c.ReturnPasswordField != "" || c.ReturnLinkField != "")
}

// checkRetries checks RETRY_HORIZON and HISTORY_RETENTION.
func (c *Config) checkRetries(p *problems) {
	if c.RetryHorizon < time.Minute || c.RetryHorizon > 8760*time.Hour {
		p.add("RETRY_HORIZON", "must be from 1m to 8760h (a year) (got %s)", c.RetryHorizon)
	}
	if c.HistoryRetention < time.Hour || c.HistoryRetention > 87600*time.Hour {
		p.add("HISTORY_RETENTION", "must be from 1h to 87600h (ten years) (got %s)", c.HistoryRetention)
	}
}

func (c *Config) checkTrustedProxies(p *problems) {
	for _, tp := range c.TrustedProxies {
		if tp == "" {
			p.add("TRUSTED_PROXIES", "holds an empty entry: remove the stray comma")
			continue
		}
		if _, err := netip.ParsePrefix(tp); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(tp); err != nil {
			p.add("TRUSTED_PROXIES", "each entry must be an IP address or CIDR like 10.0.0.0/8 or 127.0.0.1 (got %q)", tp)
		}
	}
}

// checkLogging checks LOG_LEVEL and LOG_FORMAT.
func (c *Config) checkLogging(p *problems) {
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		p.add("LOG_LEVEL", "must be debug, info, warn or error (got %q)", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		p.add("LOG_FORMAT", "must be text or json (got %q)", c.LogFormat)
	}
}

func checkRange(p *problems, key string, n int) {
	r := intRanges[key]
	if n < r[0] || n > r[1] {
		p.add(key, "must be a whole number from %d to %d (got %d)", r[0], r[1], n)
	}
}

func (c *Config) checkListenAddr(p *problems) {
	if c.ListenAddr == "" {
		p.add("LISTEN_ADDR", "must be host:port like 127.0.0.1:8080 (or unset for that default)")
		return
	}
	_, port, err := net.SplitHostPort(c.ListenAddr)
	if err == nil {
		if n, perr := strconv.Atoi(port); perr != nil || n < 0 || n > 65535 {
			err = errors.New("bad port")
		}
	}
	if err != nil {
		p.add("LISTEN_ADDR", "must be host:port with a numeric port, like 127.0.0.1:8080 or :8080 (got %q)", c.ListenAddr)
	}
}

// checkDatabaseURL never echoes a postgres URL: it may hold a password.
func (c *Config) checkDatabaseURL(p *problems) {
	if path, ok := c.SQLitePath(); ok {
		if path == "" {
			p.add("DATABASE_URL", "sqlite: needs a file path, like sqlite:/var/lib/wpbridge/wpbridge.db")
		}
		return
	}
	scheme, _, ok := strings.Cut(c.DatabaseURL, "://")
	if ok && (scheme == "postgres" || scheme == "postgresql") {
		if _, err := url.Parse(c.DatabaseURL); err != nil {
			p.add("DATABASE_URL", "the postgres URL does not parse: percent-encode special characters in the user name and password")
		}
		return
	}
	p.add("DATABASE_URL", "must be sqlite:PATH (like sqlite:wpbridge.db) or postgres://USER:PASSWORD@HOST/DB%s", got(RedactDSN(c.DatabaseURL)))
}

func (c *Config) checkAllowedRoles(p *problems) {
	if len(c.AllowedRoles) == 0 {
		p.add("ALLOWED_ROLES", "must list at least one role, like subscriber,customer (or unset for that default)")
	}
	for _, r := range c.AllowedRoles {
		switch {
		case r == "":
			p.add("ALLOWED_ROLES", "holds an empty entry: remove the stray comma")
		case checkRole(r) != "":
			p.add("ALLOWED_ROLES", "%s", checkRole(r))
		case r == "administrator":
			p.add("ALLOWED_ROLES", "administrator can never be allowed: remove it")
		}
	}
}

// checkRole checks the shape of a WordPress role slug.
func checkRole(r string) string {
	if r == "" {
		return "must name a role, like subscriber (or unset for that default)"
	}
	for _, ch := range r {
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-') {
			return fmt.Sprintf("role %q must be a WordPress role slug: lower-case letters, digits, _ and - (like subscriber)", r)
		}
	}
	return ""
}

func (c *Config) checkMetaKeys(p *problems) {
	keys := []struct{ name, value string }{
		{"TAGS_META_KEY", c.TagsMetaKey},
		{"CONTACT_ID_META_KEY", c.ContactIDMetaKey},
	}
	for _, k := range keys {
		if err := checkMetaKey(k.value); err != nil {
			p.add(k.name, "%v (got %q)", err, k.value)
		} else if contactsync.IsCoreField(strings.ToLower(k.value)) {
			p.add(k.name, "must not be the core user field %q: pick a key of its own, like activecampaign_tags", k.value)
		}
		for _, fm := range c.FieldMap {
			if strings.EqualFold(fm.Target, k.value) {
				p.add("FIELD_MAP", "target %q is also %s, which wpbridge manages: map to another key", fm.Target, k.name)
			}
		}
	}
	for _, fm := range c.FieldMap {
		if strings.EqualFold(fm.Target, contactsync.AccessRemovedMetaKey) {
			p.add("FIELD_MAP", "target %q is wpbridge's remove_access marker (it keeps a user without a role managed): map to another key", fm.Target)
		}
	}
	if c.TagsMetaKey != "" && strings.EqualFold(c.TagsMetaKey, c.ContactIDMetaKey) {
		p.add("CONTACT_ID_META_KEY", "must differ from TAGS_META_KEY, also in case (got %q and %q)", c.ContactIDMetaKey, c.TagsMetaKey)
	}
}

// checkHTTPURL returns what is wrong with an absolute http(s) URL, or "".
func checkHTTPURL(raw, example string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return fmt.Sprintf("must be an http(s) URL like %s%s", example, got(raw))
	case u.User != nil:
		return "must not contain user:password@; wpbridge sends its credentials separately"
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return fmt.Sprintf("must not have a ?query or #fragment; use the plain URL like %s", example)
	}
	return ""
}

// got quotes a non-secret value for an error message, unless it may hold
// credentials (user:password@host, ?api_key=...).
func got(v string) string {
	if strings.ContainsAny(v, "@?") {
		return " (value not shown: it may hold credentials)"
	}
	if len(v) > 200 {
		v = v[:200] + "..."
	}
	return fmt.Sprintf(" (got %q)", v)
}

// minAdminToken is the shortest accepted ADMIN_TOKEN.
const minAdminToken = 24

func (c *Config) checkAdminToken(p *problems) {
	if n := len(c.AdminToken.Reveal()); n > 0 && n < minAdminToken {
		p.add("ADMIN_TOKEN", "must be at least %d characters (got %d); generate one with: openssl rand -base64 32", minAdminToken, n)
	}
}
