package adapters

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wpbridge/wpbridge/internal/contactsync"
)

// pluginPath is the companion plugin, relative to this package.
const pluginPath = "../../wordpress/plugin/wpbridge.php"

// isProtectedPHP loads the companion plugin with the few WordPress functions
// it needs at load time stubbed, and prints WPBridge_Plugin::is_protected for
// each key given on the command line.
const isProtectedPHP = `<?php
define('ABSPATH', '/');
function wp_installing() { return true; } // register no hooks
function is_protected_meta($key, $type) { return '_' === substr($key, 0, 1); }
class WPBridge_Test_WPDB { public $base_prefix = 'wp_'; function get_blog_prefix() { return 'wp_'; } }
$GLOBALS['wpdb'] = new WPBridge_Test_WPDB();
require $argv[1];
foreach (array_slice($argv, 2) as $key) {
	echo $key, "\t", WPBridge_Plugin::is_protected($key) ? 'refused' : 'allowed', "\n";
}
`

// TestPlugin_RefusesCoreFieldsAsMeta: every core field a FIELD_MAP can target
// (contactsync.CoreFields) is refused by the companion plugin as a
// wpbridge_meta key, so it can only be written through the users endpoint,
// which sanitises it. Ordinary meta keys stay allowed.
func TestPlugin_RefusesCoreFieldsAsMeta(t *testing.T) {
	php, err := exec.LookPath("php")
	if err != nil {
		t.Skip("no php CLI")
	}
	script := filepath.Join(t.TempDir(), "is_protected.php")
	if err := os.WriteFile(script, []byte(isProtectedPHP), 0o600); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"activecampaign_tags": "allowed", "activecampaign_contact_id": "allowed", "company_size": "allowed"}
	for _, f := range contactsync.CoreFields {
		want[f] = "refused"
		want[strings.ToUpper(f)] = "refused"
	}
	for _, k := range []string{"wp_capabilities", "wpx_capabilities", "wpx_user_level", "session_tokens"} {
		want[k] = "refused"
	}
	args := []string{script, pluginPath}
	for k := range want {
		args = append(args, k)
	}
	out, err := exec.CommandContext(t.Context(), php, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("php: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(line, "\t"); ok {
			got[k] = v
		}
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("meta key %q: plugin says %q, want %s", k, got[k], w)
		}
	}
}
