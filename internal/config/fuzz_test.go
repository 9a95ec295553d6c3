package config

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"
)

// FuzzLoad feeds arbitrary values to the secret variables and to a few
// parsed ones: Load never panics, and a secret never shows up in the error
// or in the printed configuration. Each secret starts with a marker, so any
// echo of a secret value (whole or first comma-separated part) is caught.
func FuzzLoad(f *testing.F) {
	f.Add("key", "apikey", "app pass", "https://acct.api-us1.com", "first_name=firstName", "4s", "10")
	f.Add(",,", "", " ", "ftp://x", "a=b,,", "4", "x")
	f.Add("a,b", "k", "p", "https://u:p@h?x#y", "role=%r%", "-1s", "0")
	f.Add("k", "k", "p", "http://[::1", "user_pass=field:0", "1h", "999999999999999999999")
	f.Fuzz(func(t *testing.T, accessKey, apiKey, appPass, acURL, fieldMap, timeout, workers string) {
		const (
			markAccess = "Mk1AccessQ"
			markAPI    = "Mk2ApiQ"
			markApp    = "Mk3AppQ"
		)
		public := acURL + fieldMap + timeout + workers
		for _, m := range []string{markAccess, markAPI, markApp} {
			if strings.Contains(public, m) {
				t.Skip("a public value holds a marker")
			}
		}
		env := map[string]string{
			"ACCESS_KEY":      markAccess + accessKey,
			"AC_API_KEY":      markAPI + apiKey,
			"WP_APP_PASSWORD": markApp + appPass,
			"AC_API_URL":      acURL,
			"WP_URL":          "https://example.com",
			"WP_USERNAME":     "wpbridge",
			"FIELD_MAP":       fieldMap,
			"SYNC_TIMEOUT":    timeout,
			"WORKERS":         workers,
		}
		cfg, err := Load(context.Background(), envconfig.MapLookuper(env))
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Load returned cfg %v and err %v", cfg != nil, err != nil)
		}
		var text string
		if err != nil {
			text = err.Error()
		} else {
			text = fmt.Sprintf("%v %+v %#v", cfg, cfg, *cfg)
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("loaded config does not validate: %v", verr)
			}
		}
		for _, m := range []string{markAccess, markAPI, markApp} {
			if strings.Contains(text, m) {
				t.Fatalf("secret with marker %s leaked", m)
			}
		}
	})
}
