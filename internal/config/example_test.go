package config

import (
	"bufio"
	"context"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"
)

// TestEnvExample checks that ../../.env.example documents every variable in
// order, shows the real default of each optional one, and that its required
// placeholders load.
func TestEnvExample(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	required := make(map[string]string)
	commented := make(map[string]string)
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		body, isComment := strings.CutPrefix(line, "# ")
		key, val, ok := strings.Cut(body, "=")
		if !ok || key == "" || strings.ToUpper(key) != key || strings.ContainsAny(key, " :") {
			continue
		}
		if isComment {
			commented[key] = val
		} else {
			required[key] = val
		}
		order = append(order, key)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	defaults := make(map[string]string)
	tf := reflect.TypeFor[Config]()
	for i := range tf.NumField() {
		key, opts, _ := strings.Cut(tf.Field(i).Tag.Get("env"), ",")
		if _, def, ok := strings.Cut(opts, "default="); ok {
			defaults[key] = def
		}
	}

	wantOrder := []string{"ACCESS_KEY", "AC_API_URL", "AC_API_KEY", "WP_URL", "WP_USERNAME", "WP_APP_PASSWORD",
		"LISTEN_ADDR", "DATABASE_URL", "SYNC_TIMEOUT", "DEFAULT_ROLE", "ALLOWED_ROLES", "USERNAME_FORMAT",
		"PASSWORD_LENGTH", "RETURN_PASSWORD_FIELD", "RETURN_LINK_FIELD", "SECRET_KEY", "FIELD_MAP", "TAG_ROLES", "TAGS_META_KEY", "CONTACT_ID_META_KEY",
		"AC_RATE_LIMIT", "TRUSTED_PROXIES", "LOG_LEVEL", "LOG_FORMAT", "ADMIN_TOKEN", "WP_MAX_CONCURRENT", "WORKERS",
		"RETRY_HORIZON", "HISTORY_RETENTION", "MAX_PENDING", "SYNC_TO_AC", "REGISTRATION_TAGS", "OUTBOX_POLL"}
	if strings.Join(order, " ") != strings.Join(wantOrder, " ") {
		t.Errorf("variables in .env.example:\n%v\nwant\n%v", order, wantOrder)
	}
	if len(wantOrder) != len(envVars) {
		t.Errorf("Config has %d variables, the list here %d", len(envVars), len(wantOrder))
	}
	for _, key := range envVars {
		if _, ok := required[key]; ok {
			if _, hasDef := defaults[key]; hasDef {
				t.Errorf("%s has a default but is not commented out", key)
			}
			continue
		}
		if got, want := commented[key], defaults[key]; got != want {
			t.Errorf("# %s=%s, want the default %q", key, got, want)
		}
	}
	if _, err := Load(context.Background(), envconfig.MapLookuper(required)); err != nil {
		t.Errorf("the required placeholders do not load:\n%v", err)
	}
}
