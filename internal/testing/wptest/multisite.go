package wptest

import (
	"fmt"
	"os"
	"testing"
)

// DefaultNetworkEnvFile is where test.sh has scripts/wordpress.sh write the
// multisite network's env file (WPBRIDGE_WP_MULTISITE=1).
const DefaultNetworkEnvFile = "/tmp/wpbridge-wp-ms-test/env"

// Network is the running multisite test network (a subdirectory install): two
// sites, the companion plugin network-activated.
type Network struct {
	Site1, Site2 Site // the same super admin on both; Site2.URL is Site1.URL + "/site2"
	// Site2Admin is site 2's administrator, who is no super admin.
	Site2AdminUsername, Site2AdminAppPassword string
	// SuperAdminEmail is a second super admin's: a subscriber of site 1, no member of site 2.
	SuperAdminEmail string
}

// Multisite reads the env file named by $WPBRIDGE_WP_MS_ENV (default
// DefaultNetworkEnvFile). Without a network the test is skipped, or fails when
// WPBRIDGE_REQUIRE_WP=1 (test.sh starts one).
func Multisite(t testing.TB) Network {
	t.Helper()
	keepOutOfTestCache()
	path := os.Getenv("WPBRIDGE_WP_MS_ENV")
	if path == "" {
		path = DefaultNetworkEnvFile
	}
	vals, err := ReadEnvFile(path)
	if err == nil && (vals["WPTEST_MULTISITE"] != "1" || vals["WPTEST_SITE2_URL"] == "" || vals["WP_APP_PASSWORD"] == "") {
		err = fmt.Errorf("%s is no multisite network's env file", path)
	}
	if err != nil {
		const how = "run: WPBRIDGE_WP_MULTISITE=1 WPBRIDGE_WP_HOME=/tmp/wpbridge-wp-ms-test WPBRIDGE_WP_PORT=8093 bash scripts/wordpress.sh start"
		if os.Getenv("WPBRIDGE_REQUIRE_WP") == "1" {
			t.Fatalf("test multisite network required: %v (%s)", err, how)
			return Network{}
		}
		t.Skipf("no test multisite network: %v (%s)", err, how)
		return Network{}
	}
	site := Site{
		URL:         vals["WP_URL"],
		Username:    vals["WP_USERNAME"],
		AppPassword: vals["WP_APP_PASSWORD"],
		MailLog:     vals["WPTEST_MAIL_LOG"],
		DBSocket:    vals["WPTEST_DB_SOCKET"],
		HookDir:     vals["WPTEST_HOOK_DIR"],
		Version:     vals["WPTEST_WP_VERSION"],
	}
	site2 := site
	site2.URL = vals["WPTEST_SITE2_URL"]
	return Network{Site1: site, Site2: site2,
		Site2AdminUsername: vals["WPTEST_SITE2_ADMIN_USERNAME"], Site2AdminAppPassword: vals["WPTEST_SITE2_ADMIN_APP_PASSWORD"],
		SuperAdminEmail: vals["WPTEST_SUPER_ADMIN_EMAIL"]}
}
