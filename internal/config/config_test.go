package config

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/wpbridge/wpbridge/internal/contactsync"
)

// Secret values used by the tests; none may ever show up in an error or in
// printed configuration.
const (
	testAccessKey  = "AccessKeyOne-7f3a"
	testAccessKey2 = "AccessKeyTwo-91bc"
	testAPIKey     = "ApiKey-0123456789abcdef"
	testAppPass    = "abcd EFGH ijkl MNOP qrst UVWX"
)

var testSecrets = []string{testAccessKey, testAccessKey2, testAPIKey, testAppPass}

// requiredEnv returns the smallest valid environment.
func requiredEnv() map[string]string {
	return map[string]string{
		"ACCESS_KEY":      testAccessKey,
		"AC_API_URL":      "https://acct.api-us1.com",
		"AC_API_KEY":      testAPIKey,
		"WP_URL":          "https://example.com",
		"WP_USERNAME":     "wpbridge",
		"WP_APP_PASSWORD": testAppPass,
	}
}

func load(t *testing.T, env map[string]string) (*Config, error) {
	t.Helper()
	cfg, err := Load(context.Background(), envconfig.MapLookuper(env))
	assertNoSecrets(t, err, cfg)
	return cfg, err
}

func assertNoSecrets(t *testing.T, err error, cfg *Config) {
	t.Helper()
	var text string
	if err != nil {
		text = err.Error()
	}
	if cfg != nil {
		text += fmt.Sprintf("%v %+v %#v %s", cfg, cfg, *cfg, cfg.FieldMap)
	}
	for _, s := range testSecrets {
		if strings.Contains(text, s) {
			t.Fatalf("output leaks secret %d characters long", len(s)) // never print it
		}
	}
}

func TestLoad_Defaults(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, requiredEnv())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Config{
		AccessKeys:       []Secret{testAccessKey},
		ACAPIURL:         "https://acct.api-us1.com",
		ACAPIKey:         testAPIKey,
		WPURL:            "https://example.com",
		WPUsername:       "wpbridge",
		WPAppPassword:    testAppPass,
		ListenAddr:       "127.0.0.1:8080",
		DatabaseURL:      "sqlite:wpbridge.db",
		SyncTimeout:      4 * time.Second,
		DefaultRole:      "subscriber",
		AllowedRoles:     []string{"subscriber", "customer"},
		UsernameFormat:   "email",
		PasswordLength:   16,
		FieldMap:         FieldMap{{Target: "first_name", Source: "firstName"}, {Target: "last_name", Source: "lastName"}},
		TagsMetaKey:      "activecampaign_tags",
		ContactIDMetaKey: "activecampaign_contact_id",
		ACRateLimit:      5,
		WPMaxConcurrent:  4,
		Workers:          10,
		MaxPending:       100000,
		LogLevel:         "info",
		LogFormat:        "text",
		RetryHorizon:     72 * time.Hour,
		HistoryRetention: 720 * time.Hour,
		OutboxPoll:       time.Second,
	}
	if !equalConfig(*cfg, want) {
		t.Errorf("Load() =\n%#v\nwant\n%#v", *cfg, want)
	}
	if path, ok := cfg.SQLitePath(); !ok || path != "wpbridge.db" {
		t.Errorf("SQLitePath() = %q, %v", path, ok)
	}
}

// TestLoad_EmptyMeansDefault checks that a variable set to "" (or blanks)
// takes its default, as if unset.
func TestLoad_EmptyMeansDefault(t *testing.T) {
	t.Parallel()
	env := requiredEnv()
	for _, k := range []string{"LISTEN_ADDR", "DATABASE_URL", "SYNC_TIMEOUT", "DEFAULT_ROLE", "ALLOWED_ROLES",
		"USERNAME_FORMAT", "PASSWORD_LENGTH", "RETURN_PASSWORD_FIELD", "RETURN_LINK_FIELD", "FIELD_MAP", "TAGS_META_KEY",
		"CONTACT_ID_META_KEY", "AC_RATE_LIMIT", "WP_MAX_CONCURRENT", "WORKERS", "MAX_PENDING", "TRUSTED_PROXIES", "LOG_LEVEL", "LOG_FORMAT"} {
		env[k] = ""
	}
	env["LOG_FORMAT"] = "   "
	empty, err := load(t, env)
	if err != nil {
		t.Fatalf("Load with empty optional values: %v", err)
	}
	defaults, err := load(t, requiredEnv())
	if err != nil {
		t.Fatal(err)
	}
	if !equalConfig(*empty, *defaults) {
		t.Errorf("empty values gave\n%#v\nwant the defaults\n%#v", *empty, *defaults)
	}
}

func TestLoad_RequiredEmptyOrMissing(t *testing.T) {
	t.Parallel()
	required := []string{"ACCESS_KEY", "AC_API_URL", "AC_API_KEY", "WP_URL", "WP_USERNAME", "WP_APP_PASSWORD"}
	for _, key := range required {
		for _, val := range []string{"<unset>", "", "  "} {
			t.Run(key+"/"+val, func(t *testing.T) {
				t.Parallel()
				env := requiredEnv()
				if val == "<unset>" {
					delete(env, key)
				} else {
					env[key] = val
				}
				_, err := load(t, env)
				if err == nil {
					t.Fatal("want error")
				}
				if got, want := err.Error(), key+": required"; !strings.HasPrefix(got, want) || strings.Contains(got, "\n") {
					t.Errorf("error = %q, want exactly one line starting with %q", got, want)
				}
			})
		}
	}
	t.Run("all missing", func(t *testing.T) {
		t.Parallel()
		_, err := load(t, map[string]string{})
		if err == nil {
			t.Fatal("want error")
		}
		lines := strings.Split(err.Error(), "\n")
		if len(lines) != len(required) {
			t.Fatalf("got %d lines, want %d:\n%v", len(lines), len(required), err)
		}
		for i, key := range required {
			if !strings.HasPrefix(lines[i], key+": required") {
				t.Errorf("line %d = %q, want %s: required...", i, lines[i], key)
			}
		}
	})
}

func TestLoad_SeveralErrorsAtOnce(t *testing.T) {
	t.Parallel()
	env := requiredEnv()
	maps.Copy(env, map[string]string{
		"AC_API_URL":      "ftp://x",
		"WORKERS":         "lots",
		"SYNC_TIMEOUT":    "4",
		"FIELD_MAP":       "first_name=nope,,x=email",
		"ALLOWED_ROLES":   "subscriber,administrator",
		"LOG_FORMAT":      "xml",
		"PASSWORD_LENGTH": "4",
	})
	_, err := load(t, env)
	if err == nil {
		t.Fatal("want error")
	}
	want := []string{
		`AC_API_URL: must be an http(s) URL like https://ACCOUNT.api-us1.com (got "ftp://x")`,
		`SYNC_TIMEOUT: must be a duration from 0s to 30s like 4s or 1500ms (got "4"; add a unit)`,
		`ALLOWED_ROLES: administrator can never be allowed`,
		`PASSWORD_LENGTH: must be a whole number from 8 to 128 (got 4)`,
		`FIELD_MAP: entry 1 "first_name=nope": unknown AC field "nope"`,
		`FIELD_MAP: entry 2 is empty`,
		`WORKERS: must be a whole number from 1 to 200 (got "lots")`,
		`LOG_FORMAT: must be text or json (got "xml")`,
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%v", len(lines), len(want), err)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d = %q\nwant prefix %q", i, lines[i], want[i])
		}
	}
	var e *Error
	if !errors.As(err, &e) || e.Var != "AC_API_URL" {
		t.Errorf("errors.As first *Error = %+v, want AC_API_URL", e)
	}
}

func TestLoad_SecretsNeverInErrors(t *testing.T) {
	t.Parallel()
	// Secret variables whose values are malformed or in the wrong place
	// still never appear in the error.
	env := map[string]string{
		"ACCESS_KEY":      testAccessKey + ",," + testAccessKey2,
		"AC_API_KEY":      testAPIKey,
		"WP_APP_PASSWORD": testAppPass,
		"AC_API_URL":      "https://user:" + testAPIKey + "@acct.api-us1.com",
		"WP_URL":          "https://example.com/?key=" + testAppPass,
		"DATABASE_URL":    "mysql://root:" + testAccessKey2 + "@db/wp",
	}
	cfg, err := load(t, env)
	if err == nil || cfg != nil {
		t.Fatalf("Load = %v, %v; want an error", cfg, err)
	}
	for _, v := range []string{"ACCESS_KEY:", "AC_API_URL:", "WP_URL:", "DATABASE_URL:", "WP_USERNAME:"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error does not mention %s:\n%v", v, err)
		}
	}

	// A valid config with several keys prints no secret either.
	env = requiredEnv()
	env["ACCESS_KEY"] = " " + testAccessKey + " , " + testAccessKey2 + " "
	cfg, err = load(t, env)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(cfg.AccessKeys); got != 2 || cfg.AccessKeys[1].Reveal() != testAccessKey2 {
		t.Errorf("AccessKeys not split and trimmed (%d keys)", got)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate() on a loaded config: %v", err)
	}
}

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	base, err := load(t, requiredEnv())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mutate  func(c *Config)
		wantErr string
	}{
		{"valid", func(c *Config) {}, ""},
		{"empty access key entry", func(c *Config) { c.AccessKeys = append(c.AccessKeys, "") }, "ACCESS_KEY: holds an empty key"},
		{"zero value ints", func(c *Config) { c.Workers = 0 }, "WORKERS: must be a whole number from 1 to 200 (got 0)"},
		{"empty listen addr", func(c *Config) { c.ListenAddr = "" }, "LISTEN_ADDR: must be host:port"},
		{"empty default role", func(c *Config) { c.DefaultRole = "" }, "DEFAULT_ROLE: must name a role"},
		{"empty meta key", func(c *Config) { c.TagsMetaKey = "" }, "TAGS_META_KEY: a meta key must not be empty"},
		{"non-canonical source", func(c *Config) { c.FieldMap = FieldMap{{Target: "first_name", Source: "FIRSTNAME"}} }, `write the source as "firstName"`},
		{"duplicate target", func(c *Config) {
			c.FieldMap = FieldMap{{Target: "role", Source: "email"}, {Target: "role", Source: "phone"}}
		}, `target "role" is mapped twice`},
		{"bad return field", func(c *Config) { c.ReturnPasswordField = "%lower%" }, "RETURN_PASSWORD_FIELD:"},
		{"bad link field", func(c *Config) { c.ReturnLinkField = "12a" }, "RETURN_LINK_FIELD:"},
		{"field map onto the remove_access marker", func(c *Config) {
			c.FieldMap = append(c.FieldMap, contactsync.Mapping{Target: "WPBridge_Access_Removed", Source: "phone"})
		}, "remove_access marker"},
		{"empty allowed roles", func(c *Config) { c.AllowedRoles = nil }, "ALLOWED_ROLES: must list at least one role"},
		{"negative timeout", func(c *Config) { c.SyncTimeout = -time.Second }, "SYNC_TIMEOUT: must be from 0s to 30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := *base
			c.AccessKeys = slices.Clone(base.AccessKeys)
			tt.mutate(&c)
			err := c.Validate()
			assertNoSecrets(t, err, &c)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfig_SQLitePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, path string
		ok        bool
	}{
		{"sqlite:wpbridge.db", "wpbridge.db", true},
		{"sqlite:/var/lib/wpbridge/wpbridge.db", "/var/lib/wpbridge/wpbridge.db", true},
		{"sqlite:///var/lib/wpbridge/wpbridge.db", "/var/lib/wpbridge/wpbridge.db", true},
		{"sqlite::memory:", ":memory:", true},
		{"postgres://u:p@db/wpbridge", "", false},
	}
	for _, tt := range tests {
		c := &Config{DatabaseURL: tt.url}
		if path, ok := c.SQLitePath(); path != tt.path || ok != tt.ok {
			t.Errorf("SQLitePath(%q) = %q, %v; want %q, %v", tt.url, path, ok, tt.path, tt.ok)
		}
	}
	c := &Config{DatabaseURL: "postgres://u:pw-secret@db/wpbridge"}
	if got := c.RedactedDatabaseURL(); strings.Contains(got, "pw-secret") || !strings.Contains(got, "db/wpbridge") {
		t.Errorf("RedactedDatabaseURL() = %q", got)
	}
}

// equalConfig compares two configs field by field (Config holds slices).
func equalConfig(a, b Config) bool {
	return a.ACAPIKey.Reveal() == b.ACAPIKey.Reveal() && a.WPAppPassword.Reveal() == b.WPAppPassword.Reveal() &&
		slices.Equal(a.AccessKeys, b.AccessKeys) && slices.Equal(a.AllowedRoles, b.AllowedRoles) &&
		slices.Equal(a.FieldMap, b.FieldMap) && slices.Equal(a.TrustedProxies, b.TrustedProxies) &&
		fmt.Sprintf("%#v", stripSlices(a)) == fmt.Sprintf("%#v", stripSlices(b))
}

func stripSlices(c Config) Config {
	c.AccessKeys, c.AllowedRoles, c.FieldMap, c.TrustedProxies = nil, nil, nil, nil
	return c
}

func TestRedactDSN(t *testing.T) {
	for i, tc := range []struct{ in, want string }{
		{"postgres://u:S3cret@h/db", "postgres://u:xxxxx@h/db"},
		{"postgres://u@h/db?password=S3cret&sslmode=disable", "postgres://u@h/db?password=xxxxx&sslmode=disable"},
		{"postgresql://u@h/db?sslpassword=S3cret", "postgresql://u@h/db?sslpassword=xxxxx"},
		{"postgres://u:S3cret@h/db?PASSWORD=S3cret", "postgres://u:xxxxx@h/db?PASSWORD=xxxxx"},
		{"host=h user=u password=S3cret dbname=db", "host=h user=u password=xxxxx dbname=db"},
		{"host=h password = 'S3 cret\\' x' dbname=db", "host=h password=xxxxx dbname=db"},
		{"host=h PASSWORD=S3cret sslpassword=S3cret", "host=h PASSWORD=xxxxx sslpassword=xxxxx"},
		{"postgres://u:S3cret@h:bad/db", "[unparseable database URL]"},
		{"postgres://u@h/db", "postgres://u@h/db"},
	} {
		got := RedactDSN(tc.in)
		if strings.Contains(got, "S3") {
			t.Errorf("case %d: RedactDSN leaves the password in", i) // never print it
		} else if got != tc.want {
			t.Errorf("case %d: RedactDSN = %q, want %q", i, got, tc.want)
		}
	}
}

func TestDatabaseURLErrorHidesKeyValuePassword(t *testing.T) {
	env := requiredEnv()
	env["DATABASE_URL"] = "host=db user=u password=S3cret dbname=wpbridge"
	_, err := load(t, env)
	if err == nil || strings.Contains(err.Error(), "S3cret") {
		t.Fatal("Load: want a DATABASE_URL problem that does not show the password") // never print it
	}
	if !strings.Contains(err.Error(), "DATABASE_URL") || !strings.Contains(err.Error(), "password=xxxxx") {
		t.Errorf("Load: err = %v, want DATABASE_URL with the redacted value", err)
	}
}
