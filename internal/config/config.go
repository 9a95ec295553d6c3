package config

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Config is wpbridge's configuration. Field tags name the environment
// variables and their defaults; .env.example documents each one.
//
// Required variables carry no "required" tag on purpose: go-envconfig stops
// at the first missing variable, while Validate reports every problem at once.
type Config struct {
	// AccessKeys are the webhook access keys (ACCESS_KEY, required; a
	// comma-separated list allows key rotation).
	AccessKeys []Secret `env:"ACCESS_KEY"`
	// ACAPIURL is the ActiveCampaign account URL (AC_API_URL, required),
	// with or without /api/3, without a trailing slash.
	ACAPIURL string `env:"AC_API_URL"`
	// ACAPIKey is the ActiveCampaign API token (AC_API_KEY, required).
	ACAPIKey Secret `env:"AC_API_KEY"`
	// WPURL is the WordPress site URL without a trailing slash (WP_URL, required).
	WPURL string `env:"WP_URL"`
	// WPUsername owns the application password (WP_USERNAME, required).
	WPUsername string `env:"WP_USERNAME"`
	// WPAppPassword is the WordPress application password (WP_APP_PASSWORD, required).
	WPAppPassword Secret `env:"WP_APP_PASSWORD"`
	// ListenAddr is the HTTP listen address, host:port.
	ListenAddr string `env:"LISTEN_ADDR, default=127.0.0.1:8080"`
	// DatabaseURL is sqlite:PATH or postgres://...; see SQLitePath. A
	// postgres URL may hold a password: log RedactedDatabaseURL instead.
	DatabaseURL string `env:"DATABASE_URL, default=sqlite:wpbridge.db"`
	// SyncTimeout is how long a webhook waits for its job before answering
	// 202 (0 = always 202). At most 30s.
	SyncTimeout time.Duration `env:"SYNC_TIMEOUT, default=4s"`
	// DefaultRole is the role of new users when none is given or allowed.
	DefaultRole string `env:"DEFAULT_ROLE, default=subscriber"`
	// AllowedRoles are the roles a webhook may assign (besides DefaultRole).
	AllowedRoles []string `env:"ALLOWED_ROLES, default=subscriber,customer"`
	// UsernameFormat is email, flname or fnamenum.
	UsernameFormat string `env:"USERNAME_FORMAT, default=email"`
	// PasswordLength is the length of generated passwords (8..128).
	PasswordLength int `env:"PASSWORD_LENGTH, default=16"`
	// ReturnPasswordField is the AC custom field receiving generated
	// passwords: a numeric id ("12") or an upper-cased personalization tag
	// ("%WP_PASSWORD%"); empty turns the feature off.
	ReturnPasswordField string `env:"RETURN_PASSWORD_FIELD"`
	// ReturnLinkField is the AC custom field receiving one-time
	// set-password links (WP_URL/wp-login.php?action=rp&key=...), in the
	// same forms as ReturnPasswordField; empty turns the feature off.
	ReturnLinkField string `env:"RETURN_LINK_FIELD"`
	// SecretKey encrypts pending passwords and links on PostgreSQL (any
	// string of at least 32 characters, e.g. openssl rand -hex 32; the AEAD
	// key is derived from it with HKDF-SHA256). Required there when
	// ReturnPasswordField or ReturnLinkField is set; SQLite erases them.
	SecretKey Secret `env:"SECRET_KEY"`
	// FieldMap maps AC contact fields to WordPress user fields and meta.
	FieldMap FieldMap `env:"FIELD_MAP, default=first_name=firstName,last_name=lastName"`
	// TagRoles are the tag-managed roles: "AC tag=role" pairs (TAG_ROLES).
	TagRoles TagRoles `env:"TAG_ROLES"`
	// TagsMetaKey is the user meta holding the contact's tag names.
	TagsMetaKey string `env:"TAGS_META_KEY, default=activecampaign_tags"`
	// ContactIDMetaKey is the user meta holding the AC contact id.
	ContactIDMetaKey string `env:"CONTACT_ID_META_KEY, default=activecampaign_contact_id"`
	// ACRateLimit is the most AC requests per second (1..100).
	ACRateLimit int `env:"AC_RATE_LIMIT, default=5"`
	// WPMaxConcurrent bounds concurrent WordPress requests (1..64).
	WPMaxConcurrent int `env:"WP_MAX_CONCURRENT, default=4"`
	// Workers is the number of queue workers (1..200).
	Workers int `env:"WORKERS, default=10"`
	// MaxPending is the most webhooks pending at once (1..10,000,000);
	// beyond it new webhooks are answered 503 and not stored.
	MaxPending int `env:"MAX_PENDING, default=100000"`
	// TrustedProxies are IPs or CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string `env:"TRUSTED_PROXIES"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"LOG_LEVEL, default=info"`
	// LogFormat is text or json.
	LogFormat string `env:"LOG_FORMAT, default=text"`
	// AdminToken turns on /admin/ and /admin/api/ (ADMIN_TOKEN, at least
	// 24 characters); empty leaves them off (404).
	AdminToken Secret `env:"ADMIN_TOKEN"`
	// RetryHorizon is how long temporary failures of a webhook are retried,
	// from its arrival or its last manual retry (1m..8760h).
	RetryHorizon time.Duration `env:"RETRY_HORIZON, default=72h"`
	// HistoryRetention is how long finished webhooks are kept (1h..87600h).
	HistoryRetention time.Duration `env:"HISTORY_RETENTION, default=720h"`
	// SyncToAC sends WordPress sign-ups, profile edits and deletions to AC
	// through the companion plugin's outbox (synctoac.go).
	SyncToAC bool `env:"SYNC_TO_AC, default=false"`
	// RegistrationTags are the AC tag names added to a contact created from a
	// WordPress sign-up (no duplicates, ignoring case).
	RegistrationTags []string `env:"REGISTRATION_TAGS"`
	// OutboxPoll is how often wpbridge pulls the outbox (100ms..5m).
	OutboxPoll time.Duration `env:"OUTBOX_POLL, default=1s"`
}

// envVars lists the variables of Config in field order.
var envVars = func() []string {
	var keys []string
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("env"), ",")
		if key = strings.TrimSpace(key); key != "" {
			keys = append(keys, key)
		}
	}
	return keys
}()

// intRanges are the accepted ranges of the integer variables.
var intRanges = map[string][2]int{
	"PASSWORD_LENGTH":   {8, 128},
	"AC_RATE_LIMIT":     {1, 100},
	"WP_MAX_CONCURRENT": {1, 64},
	"WORKERS":           {1, 200},
	"MAX_PENDING":       {1, 10_000_000},
}

// Load reads the configuration through l (envconfig.OsLookuper() in main,
// envconfig.MapLookuper in tests), applies defaults to unset or empty
// variables, normalizes values and validates them. The error lists every
// problem, one per line, each an *Error naming its variable.
func Load(ctx context.Context, l envconfig.Lookuper) (*Config, error) {
	env, errs := cleanEnv(l)
	var c Config
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c, Lookuper: envconfig.MapLookuper(env)}); err != nil {
		// Unreachable with the cleaned environment; never echoes a secret
		// because Secret values cannot fail to decode.
		return nil, fmt.Errorf("config: %w", err)
	}
	c.normalize()
	errs = append(errs, c.problems()...)
	if len(errs) > 0 {
		return nil, errors.Join(sortByVar(flatten(errs))...)
	}
	return &c, nil
}

// flatten unpacks joined errors so that each problem stands alone.
func flatten(errs []error) []error {
	var out []error
	for _, err := range errs {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			out = append(out, flatten(j.Unwrap())...)
			continue
		}
		out = append(out, err)
	}
	return out
}

// sortByVar orders problems like the variables in Config (and .env.example).
func sortByVar(errs []error) []error {
	rank := func(err error) int {
		var e *Error
		if errors.As(err, &e) {
			if i := slices.Index(envVars, e.Var); i >= 0 {
				return i
			}
		}
		return len(envVars)
	}
	slices.SortStableFunc(errs, func(a, b error) int { return rank(a) - rank(b) })
	return errs
}

// cleanEnv reads every variable Config knows, trims it, drops empty values
// (so that the default applies) and pre-parses the typed ones: a value that
// does not parse is reported and dropped, so go-envconfig (which stops at the
// first error) never fails and every problem is reported together.
func cleanEnv(l envconfig.Lookuper) (map[string]string, []error) {
	env := make(map[string]string)
	var errs []error
	for _, key := range envVars {
		v, ok := l.Lookup(key)
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			continue
		}
		canon, err := preparse(key, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		env[key] = canon
	}
	return env, errs
}

// preparse returns the canonical text of a typed variable's value.
func preparse(key, v string) (string, error) {
	if canon, ok, err := preparseSyncToAC(key, v); ok {
		return canon, err
	}
	if r, ok := intRanges[key]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return "", &Error{Var: key, Problem: fmt.Sprintf("must be a whole number from %d to %d (got %q)", r[0], r[1], v)}
		}
		return strconv.Itoa(n), nil
	}
	switch key {
	case "SYNC_TIMEOUT":
		d, err := time.ParseDuration(v)
		if err != nil {
			hint := ""
			if _, nerr := strconv.ParseFloat(v, 64); nerr == nil {
				hint = "; add a unit"
			}
			return "", &Error{Var: key, Problem: fmt.Sprintf("must be a duration from 0s to 30s like 4s or 1500ms (got %q%s)", v, hint)}
		}
		return d.String(), nil
	case "RETRY_HORIZON", "HISTORY_RETENTION":
		d, err := time.ParseDuration(v)
		if err != nil {
			return "", &Error{Var: key, Problem: fmt.Sprintf("must be a duration like 72h or 90m (got %q)", v)}
		}
		return d.String(), nil
	case "FIELD_MAP":
		m, err := ParseFieldMap(v)
		if err != nil {
			return "", err
		}
		return m.String(), nil
	case "TAG_ROLES":
		m, err := ParseTagRoles(v)
		if err != nil {
			return "", err
		}
		return m.String(), nil
	}
	return v, nil
}

// normalize puts values in their canonical form before validation.
func (c *Config) normalize() {
	c.ACAPIURL = strings.TrimRight(c.ACAPIURL, "/")
	c.WPURL = strings.TrimRight(c.WPURL, "/")
	c.UsernameFormat = strings.ToLower(c.UsernameFormat)
	c.LogLevel = strings.ToLower(c.LogLevel)
	if c.LogLevel == "warning" {
		c.LogLevel = "warn"
	}
	c.LogFormat = strings.ToLower(c.LogFormat)
	for _, f := range []*string{&c.ReturnPasswordField, &c.ReturnLinkField} {
		if *f != "" {
			if norm, err := normalizeReturnField(*f); err == nil {
				*f = norm
			}
		}
	}
	var roles []string
	for _, r := range c.AllowedRoles {
		if r == "" || !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	c.AllowedRoles = roles
	c.normalizeSyncToAC()
}

// normalizeReturnField accepts a numeric field id or %PERSTAG%.
func normalizeReturnField(f string) (string, error) {
	if strings.HasPrefix(f, "%") {
		return normalizePersTag(f)
	}
	return normalizeFieldID(f)
}

// SQLitePath returns the database file of a sqlite:PATH DatabaseURL
// (sqlite:///abs/path is accepted too); ok is false for other URLs.
func (c *Config) SQLitePath() (path string, ok bool) {
	p, ok := strings.CutPrefix(c.DatabaseURL, "sqlite:")
	if !ok {
		return "", false
	}
	p = strings.TrimPrefix(p, "//")
	return p, true
}

// RedactedDatabaseURL returns DatabaseURL with every password in it
// replaced by "xxxxx" (see [RedactDSN]), for logs and messages.
func (c *Config) RedactedDatabaseURL() string {
	if _, ok := c.SQLitePath(); ok {
		return c.DatabaseURL
	}
	return RedactDSN(c.DatabaseURL)
}
