package config

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLoad_Variables sets one variable at a time on top of the required
// ones: valid values land in the right field (normalized), invalid ones give
// one error line naming the variable.
func TestLoad_Variables(t *testing.T) {
	t.Parallel()
	tests := []varCase{
		// ACCESS_KEY
		{"access keys list", "ACCESS_KEY", "k1,k2 , k3", func(c *Config) bool {
			return len(c.AccessKeys) == 3 && c.AccessKeys[1].Reveal() == "k2" && c.AccessKeys[2].Reveal() == "k3"
		}, ""},
		{"access key one char", "ACCESS_KEY", "x", func(c *Config) bool { return c.AccessKeys[0].Reveal() == "x" }, ""},
		{"access key stray comma", "ACCESS_KEY", "k1,", nil, "ACCESS_KEY: holds an empty key"},
		{"access key only commas", "ACCESS_KEY", ",,", nil, "ACCESS_KEY: holds an empty key"},

		// AC_API_URL
		{"ac url trailing slash", "AC_API_URL", "https://acct.api-us1.com/", func(c *Config) bool { return c.ACAPIURL == "https://acct.api-us1.com" }, ""},
		{"ac url with api/3", "AC_API_URL", "https://acct.api-us1.com/api/3/", func(c *Config) bool { return c.ACAPIURL == "https://acct.api-us1.com/api/3" }, ""},
		{"ac url http", "AC_API_URL", "http://127.0.0.1:9000", func(c *Config) bool { return c.ACAPIURL == "http://127.0.0.1:9000" }, ""},
		{"ac url ftp", "AC_API_URL", "ftp://x", nil, `AC_API_URL: must be an http(s) URL like https://ACCOUNT.api-us1.com (got "ftp://x")`},
		{"ac url no scheme", "AC_API_URL", "acct.api-us1.com", nil, `AC_API_URL: must be an http(s) URL like https://ACCOUNT.api-us1.com (got "acct.api-us1.com")`},
		{"ac url other path", "AC_API_URL", "https://acct.activehosted.com/app/contacts", nil, "AC_API_URL: must be the account URL with no path other than /api/3"},
		{"ac url query", "AC_API_URL", "https://acct.api-us1.com?x=1", nil, "AC_API_URL: must not have a ?query"},
		{"ac url userinfo", "AC_API_URL", "https://u:p@acct.api-us1.com", nil, "AC_API_URL: must not contain user:password@"},

		// WP_URL, WP_USERNAME
		{"wp url subdir", "WP_URL", "https://example.com/blog/", func(c *Config) bool { return c.WPURL == "https://example.com/blog" }, ""},
		{"wp url bad", "WP_URL", "example.com", nil, `WP_URL: must be an http(s) URL like https://example.com (got "example.com")`},
		{"wp url fragment", "WP_URL", "https://example.com/#x", nil, "WP_URL: must not have a ?query or #fragment"},
		{"wp username trimmed", "WP_USERNAME", " admin user ", func(c *Config) bool { return c.WPUsername == "admin user" }, ""},

		// LISTEN_ADDR
		{"listen all interfaces", "LISTEN_ADDR", ":9090", func(c *Config) bool { return c.ListenAddr == ":9090" }, ""},
		{"listen ipv6", "LISTEN_ADDR", "[::1]:0", func(c *Config) bool { return c.ListenAddr == "[::1]:0" }, ""},
		{"listen no port", "LISTEN_ADDR", "127.0.0.1", nil, `LISTEN_ADDR: must be host:port with a numeric port, like 127.0.0.1:8080 or :8080 (got "127.0.0.1")`},
		{"listen named port", "LISTEN_ADDR", "localhost:http", nil, "LISTEN_ADDR: must be host:port with a numeric port"},
		{"listen port range", "LISTEN_ADDR", ":70000", nil, "LISTEN_ADDR: must be host:port with a numeric port"},

		// DATABASE_URL
		{"db sqlite abs", "DATABASE_URL", "sqlite:/var/lib/wpbridge/db.sqlite", func(c *Config) bool {
			p, ok := c.SQLitePath()
			return ok && p == "/var/lib/wpbridge/db.sqlite"
		}, ""},
		{"db postgres", "DATABASE_URL", "postgres://u:p@db:5432/wpbridge?sslmode=disable", func(c *Config) bool {
			_, ok := c.SQLitePath()
			return !ok && c.DatabaseURL == "postgres://u:p@db:5432/wpbridge?sslmode=disable"
		}, ""},
		{"db postgresql", "DATABASE_URL", "postgresql://db/wpbridge", func(c *Config) bool { return c.DatabaseURL == "postgresql://db/wpbridge" }, ""},
		{"db sqlite no path", "DATABASE_URL", "sqlite:", nil, "DATABASE_URL: sqlite: needs a file path"},
		{"db bare path", "DATABASE_URL", "wpbridge.db", nil, `DATABASE_URL: must be sqlite:PATH (like sqlite:wpbridge.db) or postgres://USER:PASSWORD@HOST/DB (got "wpbridge.db")`},
		{"db mysql hides value", "DATABASE_URL", "mysql://root:pw@db/x", nil, "DATABASE_URL: must be sqlite:PATH (like sqlite:wpbridge.db) or postgres://USER:PASSWORD@HOST/DB (value not shown"},
		{"db postgres bad", "DATABASE_URL", "postgres://u:p%zz@db/x", nil, "DATABASE_URL: the postgres URL does not parse"},

		// SYNC_TIMEOUT
		{"timeout ms", "SYNC_TIMEOUT", "1500ms", func(c *Config) bool { return c.SyncTimeout == 1500*time.Millisecond }, ""},
		{"timeout zero", "SYNC_TIMEOUT", "0", func(c *Config) bool { return c.SyncTimeout == 0 }, ""},
		{"timeout max", "SYNC_TIMEOUT", "30s", func(c *Config) bool { return c.SyncTimeout == 30*time.Second }, ""},
		{"timeout too long", "SYNC_TIMEOUT", "31s", nil, "SYNC_TIMEOUT: must be from 0s to 30s (0 = always answer 202 at once) (got 31s)"},
		{"timeout negative", "SYNC_TIMEOUT", "-1s", nil, "SYNC_TIMEOUT: must be from 0s to 30s"},
		{"timeout garbage", "SYNC_TIMEOUT", "soon", nil, `SYNC_TIMEOUT: must be a duration from 0s to 30s like 4s or 1500ms (got "soon")`},

		// DEFAULT_ROLE, ALLOWED_ROLES
		{"default role", "DEFAULT_ROLE", "customer", func(c *Config) bool { return c.DefaultRole == "customer" }, ""},
		{"default role admin", "DEFAULT_ROLE", "administrator", nil, "DEFAULT_ROLE: administrator can never be assigned by a webhook"},
		{"default role bad slug", "DEFAULT_ROLE", "Shop Manager", nil, `DEFAULT_ROLE: role "Shop Manager" must be a WordPress role slug`},
		{"allowed roles dedup", "ALLOWED_ROLES", "customer, shop-member,customer,gold_1", func(c *Config) bool {
			return slices.Equal(c.AllowedRoles, []string{"customer", "shop-member", "gold_1"})
		}, ""},
		{"allowed roles admin", "ALLOWED_ROLES", "subscriber,administrator", nil, "ALLOWED_ROLES: administrator can never be allowed"},
		{"allowed roles empty entry", "ALLOWED_ROLES", "subscriber,,customer", nil, "ALLOWED_ROLES: holds an empty entry"},
		{"allowed roles bad slug", "ALLOWED_ROLES", "Editor", nil, `ALLOWED_ROLES: role "Editor" must be a WordPress role slug`},

		// USERNAME_FORMAT, PASSWORD_LENGTH
		{"username flname", "USERNAME_FORMAT", "FLName", func(c *Config) bool { return c.UsernameFormat == "flname" }, ""},
		{"username fnamenum", "USERNAME_FORMAT", "fnamenum", func(c *Config) bool { return c.UsernameFormat == "fnamenum" }, ""},
		{"username bad", "USERNAME_FORMAT", "login", nil, `USERNAME_FORMAT: must be email, flname or fnamenum (got "login")`},
		{"password length min", "PASSWORD_LENGTH", "8", func(c *Config) bool { return c.PasswordLength == 8 }, ""},
		{"password length max", "PASSWORD_LENGTH", "128", func(c *Config) bool { return c.PasswordLength == 128 }, ""},
		{"password length leading zero", "PASSWORD_LENGTH", "010", func(c *Config) bool { return c.PasswordLength == 10 }, ""},
		{"password length short", "PASSWORD_LENGTH", "7", nil, "PASSWORD_LENGTH: must be a whole number from 8 to 128 (got 7)"},
		{"password length long", "PASSWORD_LENGTH", "129", nil, "PASSWORD_LENGTH: must be a whole number from 8 to 128 (got 129)"},
		{"password length hex", "PASSWORD_LENGTH", "0x10", nil, `PASSWORD_LENGTH: must be a whole number from 8 to 128 (got "0x10")`},

		// RETURN_PASSWORD_FIELD
		{"return field id", "RETURN_PASSWORD_FIELD", "012", func(c *Config) bool { return c.ReturnPasswordField == "12" }, ""},
		{"link field tag", "RETURN_LINK_FIELD", "%password_link%", func(c *Config) bool { return c.ReturnLinkField == "%PASSWORD_LINK%" }, ""},
		{"return field perstag", "RETURN_PASSWORD_FIELD", "%wp_password%", func(c *Config) bool { return c.ReturnPasswordField == "%WP_PASSWORD%" }, ""},
		{"return field name", "RETURN_PASSWORD_FIELD", "WP Password", nil, `RETURN_PASSWORD_FIELD: must be an AC custom field id like 12 or a personalization tag like %WP_PASSWORD% (got "WP Password")`},
		{"return field zero", "RETURN_PASSWORD_FIELD", "0", nil, "RETURN_PASSWORD_FIELD: must be an AC custom field id"},

		// FIELD_MAP
		{"field map custom", "FIELD_MAP", "user_pass=field:3, role=%ROLE%,company=orgName", func(c *Config) bool {
			return slices.Equal(c.FieldMap, FieldMap{{Target: "user_pass", Source: "field:3"}, {Target: "role", Source: "%ROLE%"}, {Target: "company", Source: "orgname"}})
		}, ""},
		{"field map bad", "FIELD_MAP", "first_name", nil, `FIELD_MAP: entry 1 "first_name" must look like wp_key=ac_field`},
		{"field map tags key", "FIELD_MAP", "activecampaign_tags=email", nil, `FIELD_MAP: target "activecampaign_tags" is also TAGS_META_KEY`},
		{"field map contact key", "FIELD_MAP", "activecampaign_contact_id=field:1", nil, `FIELD_MAP: target "activecampaign_contact_id" is also CONTACT_ID_META_KEY`},

		// TAG_ROLES
		{"tag roles", "TAG_ROLES", "Gold member=gold, Gold annual = gold,Course=buyer=student", func(c *Config) bool {
			return slices.Equal(c.TagRoles, TagRoles{{Tag: "Gold member", Role: "gold"}, {Tag: "Gold annual", Role: "gold"}, {Tag: "Course=buyer", Role: "student"}})
		}, ""},
		{"tag roles bad", "TAG_ROLES", "Gold", nil, `TAG_ROLES: entry 1 "Gold" must look like AC tag=role`},
		{"tag roles bad role", "TAG_ROLES", "Gold=Gold Member", nil, `TAG_ROLES: entry 1: role "Gold Member" must be a WordPress role slug`},
		{"tag roles twice", "TAG_ROLES", "Gold=a,gold=b", nil, `TAG_ROLES: tag "gold" appears twice`},
		{"tag roles default role", "TAG_ROLES", "Gold=subscriber", nil, "TAG_ROLES: maps a tag to subscriber, which is DEFAULT_ROLE"},
		{"tag roles administrator", "TAG_ROLES", "Boss=administrator", nil, "TAG_ROLES: administrator can never be assigned"},

		// TAGS_META_KEY, CONTACT_ID_META_KEY
		{"tags key", "TAGS_META_KEY", "wpf_tags", func(c *Config) bool { return c.TagsMetaKey == "wpf_tags" }, ""},
		{"tags key underscore", "TAGS_META_KEY", "_tags", nil, `TAGS_META_KEY: a meta key must not start with _ (WordPress keeps those private) (got "_tags")`},
		{"tags key wp_", "TAGS_META_KEY", "wp_tags", nil, "TAGS_META_KEY: a meta key must not start with wp_"},
		{"tags key core", "TAGS_META_KEY", "nickname", nil, `TAGS_META_KEY: must not be the core user field "nickname"`},
		{"tags key chars", "TAGS_META_KEY", "ac tags", nil, "TAGS_META_KEY: a meta key may hold only letters, digits and _ . : -"},
		{"contact key", "CONTACT_ID_META_KEY", "ac:contact.id", func(c *Config) bool { return c.ContactIDMetaKey == "ac:contact.id" }, ""},
		{"contact key same as tags", "CONTACT_ID_META_KEY", "activecampaign_tags", nil, `CONTACT_ID_META_KEY: must differ from TAGS_META_KEY, also in case (got "activecampaign_tags" and "activecampaign_tags")`},
		{"contact key same as tags but case", "CONTACT_ID_META_KEY", "ActiveCampaign_Tags", nil, "CONTACT_ID_META_KEY: must differ from TAGS_META_KEY, also in case"},
		{"field map tags key other case", "FIELD_MAP", "ActiveCampaign_Tags=email", nil, `FIELD_MAP: target "ActiveCampaign_Tags" is also TAGS_META_KEY`},
		{"contact key capabilities", "CONTACT_ID_META_KEY", "blog_capabilities", nil, "CONTACT_ID_META_KEY: a meta key must not name capabilities"},

		// AC_RATE_LIMIT, WP_MAX_CONCURRENT, WORKERS
		{"rate limit", "AC_RATE_LIMIT", "3", func(c *Config) bool { return c.ACRateLimit == 3 }, ""},
		{"rate limit zero", "AC_RATE_LIMIT", "0", nil, "AC_RATE_LIMIT: must be a whole number from 1 to 100 (got 0)"},
		{"rate limit float", "AC_RATE_LIMIT", "2.5", nil, `AC_RATE_LIMIT: must be a whole number from 1 to 100 (got "2.5")`},
		{"wp concurrency", "WP_MAX_CONCURRENT", "64", func(c *Config) bool { return c.WPMaxConcurrent == 64 }, ""},
		{"wp concurrency high", "WP_MAX_CONCURRENT", "65", nil, "WP_MAX_CONCURRENT: must be a whole number from 1 to 64 (got 65)"},
		{"workers", "WORKERS", "1", func(c *Config) bool { return c.Workers == 1 }, ""},
		{"workers negative", "WORKERS", "-3", nil, "WORKERS: must be a whole number from 1 to 200 (got -3)"},
		{"max pending", "MAX_PENDING", "20000", func(c *Config) bool { return c.MaxPending == 20000 }, ""},
		{"max pending zero", "MAX_PENDING", "0", nil, "MAX_PENDING: must be a whole number from 1 to 10000000 (got 0)"},
		{"max pending words", "MAX_PENDING", "lots", nil, `MAX_PENDING: must be a whole number from 1 to 10000000 (got "lots")`},

		// TRUSTED_PROXIES
		{"proxies", "TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1,fd00::/8", func(c *Config) bool {
			return slices.Equal(c.TrustedProxies, []string{"10.0.0.0/8", "127.0.0.1", "::1", "fd00::/8"})
		}, ""},
		{"proxies bad", "TRUSTED_PROXIES", "10.0.0.0/33", nil, `TRUSTED_PROXIES: each entry must be an IP address or CIDR like 10.0.0.0/8 or 127.0.0.1 (got "10.0.0.0/33")`},
		{"proxies hostname", "TRUSTED_PROXIES", "proxy.local", nil, "TRUSTED_PROXIES: each entry must be an IP address or CIDR"},
		{"proxies empty entry", "TRUSTED_PROXIES", "127.0.0.1,", nil, "TRUSTED_PROXIES: holds an empty entry"},

		// LOG_LEVEL, LOG_FORMAT
		{"log debug", "LOG_LEVEL", "DEBUG", func(c *Config) bool { return c.LogLevel == "debug" }, ""},
		{"log warning", "LOG_LEVEL", "warning", func(c *Config) bool { return c.LogLevel == "warn" }, ""},
		{"log error", "LOG_LEVEL", "error", func(c *Config) bool { return c.LogLevel == "error" }, ""},
		{"log trace", "LOG_LEVEL", "trace", nil, `LOG_LEVEL: must be debug, info, warn or error (got "trace")`},
		{"log json", "LOG_FORMAT", "JSON", func(c *Config) bool { return c.LogFormat == "json" }, ""},
		{"log logfmt", "LOG_FORMAT", "logfmt", nil, `LOG_FORMAT: must be text or json (got "logfmt")`},

		// ADMIN_TOKEN
		{"admin token 24", "ADMIN_TOKEN", "abcdefghijklmnopqrstuvwx", func(c *Config) bool { return c.AdminToken.Reveal() == "abcdefghijklmnopqrstuvwx" }, ""},
		{"admin token short", "ADMIN_TOKEN", "short-admin-token", nil, "ADMIN_TOKEN: must be at least 24 characters (got 17)"},

		// RETRY_HORIZON, HISTORY_RETENTION
		{"retry horizon", "RETRY_HORIZON", "168h", func(c *Config) bool { return c.RetryHorizon == 168*time.Hour }, ""},
		{"retry horizon short", "RETRY_HORIZON", "30s", nil, "RETRY_HORIZON: must be from 1m to 8760h (a year) (got 30s)"},
		{"retry horizon long", "RETRY_HORIZON", "9000h", nil, "RETRY_HORIZON: must be from 1m to 8760h"},
		{"retry horizon words", "RETRY_HORIZON", "three days", nil, "RETRY_HORIZON:"},
		{"history retention", "HISTORY_RETENTION", "2160h", func(c *Config) bool { return c.HistoryRetention == 2160*time.Hour }, ""},
		{"history retention short", "HISTORY_RETENTION", "30m", nil, "HISTORY_RETENTION: must be from 1h to 87600h (ten years) (got 30m0s)"},
	}
	runVarCases(t, tests)
}

// varCase is one value of one variable: valid (check says the config
// holds it) or invalid (wantErr is the start of the one-line error).
type varCase struct {
	name    string
	key     string
	value   string
	check   func(c *Config) bool // for valid values
	wantErr string               // whole expected error line prefix, for invalid values
}

// runVarCases loads the smallest valid environment with each case's
// variable set, in parallel subtests.
func runVarCases(t *testing.T, tests []varCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := requiredEnv()
			env[tt.key] = tt.value
			cfg, err := load(t, env)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("%s=%q: %v", tt.key, tt.value, err)
				}
				if !tt.check(cfg) {
					t.Errorf("%s=%q gave %+v", tt.key, tt.value, cfg)
				}
				return
			}
			if err == nil {
				t.Fatalf("%s=%q: want error %q", tt.key, tt.value, tt.wantErr)
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.wantErr) || strings.Contains(got, "\n") {
				t.Errorf("%s=%q:\n got %q\nwant one line starting %q", tt.key, tt.value, got, tt.wantErr)
			}
		})
	}
}

// TestLoad_SecretKey: SECRET_KEY is required on PostgreSQL when a return
// field is set (pending passwords and links are stored encrypted under it),
// not on SQLite (which erases them); a short key is refused without being
// echoed.
func TestLoad_SecretKey(t *testing.T) {
	t.Parallel()
	const pg = "postgres://u@db/wpbridge"
	key := strings.Repeat("k", MinSecretKeyLength)
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"postgres link field without key", map[string]string{"DATABASE_URL": pg, "RETURN_LINK_FIELD": "13"},
			"SECRET_KEY: is required on PostgreSQL when RETURN_PASSWORD_FIELD or RETURN_LINK_FIELD is set"},
		{"postgres password field without key", map[string]string{"DATABASE_URL": pg, "RETURN_PASSWORD_FIELD": "12"},
			"SECRET_KEY: is required on PostgreSQL"},
		{"postgres with key", map[string]string{"DATABASE_URL": pg, "RETURN_LINK_FIELD": "13", "SECRET_KEY": key}, ""},
		{"postgres without return field", map[string]string{"DATABASE_URL": pg}, ""},
		{"sqlite link field without key", map[string]string{"RETURN_LINK_FIELD": "13"}, ""},
		{"short key", map[string]string{"SECRET_KEY": "short-secret-value"}, "SECRET_KEY: must be at least 32 characters (got 18)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := requiredEnv()
			maps.Copy(env, tt.env)
			cfg, err := load(t, env)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.SecretKey.Reveal() != tt.env["SECRET_KEY"] {
					t.Error("SECRET_KEY not loaded")
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "short-secret-value") {
				t.Errorf("err = %v, want %q without the key", err, tt.wantErr)
			}
		})
	}
}
