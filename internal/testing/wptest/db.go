package wptest

// Changes the REST API cannot make (or, through the companion plugin, refuses
// to make with an application password): a user's own capability entries and
// custom roles, written straight into the test database.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"
)

// The test database's credentials, as scripts/wordpress.sh creates them.
const (
	dbUser     = "wp"
	dbPassword = "wp-test-pass"
	dbName     = "wordpress"
)

// dbSocket returns the test database's socket (skips without one).
func (e Site) dbSocket(t testing.TB) string {
	t.Helper()
	if e.DBSocket == "" {
		t.Skip("env file has no WPTEST_DB_SOCKET")
	}
	return e.DBSocket
}

// SetCapabilities replaces user id's own capability entries (its
// wp_capabilities meta) with caps: role names and capabilities granted
// directly, as role-editor plugins write them. This is how tests give a user
// the role administrator or editor: through an application password the
// companion plugin refuses to. At the end of the test the user is made a
// plain subscriber again, so that cleanups may delete it (the plugin refuses
// to delete a user who can manage the site).
func (e Site) SetCapabilities(t testing.TB, id int64, caps ...string) {
	t.Helper()
	socket := e.dbSocket(t)
	bin, err := exec.LookPath("mariadb")
	if err != nil {
		t.Skip("no mariadb client")
	}
	if out, err := setCapabilities(t.Context(), bin, socket, id, caps); err != nil {
		t.Fatalf("set capabilities of user %d: %v: %s", id, err, out)
	}
	t.Cleanup(func() {
		if out, err := setCapabilities(context.Background(), bin, socket, id, []string{"subscriber"}); err != nil {
			t.Errorf("reset the capabilities of user %d: %v: %s", id, err, out)
		}
	})
}

func setCapabilities(ctx context.Context, bin, socket string, id int64, caps []string) ([]byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "a:%d:{", len(caps))
	for _, c := range caps {
		fmt.Fprintf(&b, `s:%d:"%s";b:1;`, len(c), c)
	}
	b.WriteString("}")
	sql := fmt.Sprintf("UPDATE wp_usermeta SET meta_value = '%s' WHERE user_id = %d AND meta_key = 'wp_capabilities'",
		strings.ReplaceAll(b.String(), "'", "''"), id)
	cmd := exec.CommandContext(ctx, bin, "--no-defaults", "--socket="+socket, "-u"+dbUser, dbName, "-e", sql)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+dbPassword)
	return cmd.CombinedOutput()
}

// roleScript adds (ADD=1) or removes the role $SLUG in the wp_user_roles
// option, in a transaction so that concurrent tests do not lose each other's
// roles. $CAPS is a comma-separated capability list.
const roleScript = `
$db = new mysqli('localhost', getenv('DB_USER'), getenv('MYSQL_PWD'), getenv('DB_NAME'), 0, getenv('DB_SOCKET'));
$db->begin_transaction();
$row = $db->query("SELECT option_value FROM wp_options WHERE option_name = 'wp_user_roles' FOR UPDATE")->fetch_row();
$roles = unserialize($row[0]);
$slug = getenv('SLUG');
if (getenv('ADD') === '1') {
	$caps = array('read' => true);
	foreach (array_filter(explode(',', getenv('CAPS'))) as $c) { $caps[$c] = true; }
	$roles[$slug] = array('name' => $slug, 'capabilities' => $caps);
} else {
	unset($roles[$slug]);
}
$st = $db->prepare("UPDATE wp_options SET option_value = ? WHERE option_name = 'wp_user_roles'");
$v = serialize($roles);
$st->bind_param('s', $v);
$st->execute();
$db->commit();
`

// AddRole creates the role slug holding read and caps for the duration of
// the test (WordPress's REST API cannot create roles). Use a slug no other
// test uses.
func (e Site) AddRole(t testing.TB, slug string, caps ...string) {
	t.Helper()
	sort.Strings(caps)
	e.role(t, slug, true, caps)
	t.Cleanup(func() { e.role(t, slug, false, nil) })
}

func (e Site) role(t testing.TB, slug string, add bool, caps []string) {
	t.Helper()
	socket := e.dbSocket(t)
	bin, err := exec.LookPath("php")
	if err != nil {
		t.Skip("no php")
	}
	flag := "0"
	if add {
		flag = "1"
	}
	cmd := exec.Command(bin, "-r", roleScript)
	cmd.Env = append(os.Environ(), "DB_USER="+dbUser, "MYSQL_PWD="+dbPassword, "DB_NAME="+dbName, "DB_SOCKET="+socket,
		"SLUG="+slug, "ADD="+flag, "CAPS="+strings.Join(caps, ","))
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("role %s (add %v): %v: %s", slug, add, err, out)
	}
}

// AgeResetKey makes user id's password-reset key (user_activation_key,
// "time:hash") look older by d, as if it had been made d earlier: the way
// to test WordPress's expiry of set-password links (one day by default).
func (e Site) AgeResetKey(t testing.TB, id int64, d time.Duration) {
	t.Helper()
	socket := e.dbSocket(t)
	bin, err := exec.LookPath("mariadb")
	if err != nil {
		t.Skip("no mariadb client")
	}
	sql := fmt.Sprintf(`UPDATE wp_users SET user_activation_key = CONCAT(
		CAST(SUBSTRING_INDEX(user_activation_key, ':', 1) AS SIGNED) - %d, ':', SUBSTRING_INDEX(user_activation_key, ':', -1))
		WHERE ID = %d AND user_activation_key LIKE '%%:%%'`, int64(d/time.Second), id)
	cmd := exec.CommandContext(t.Context(), bin, "--no-defaults", "--socket="+socket, "-u"+dbUser, dbName, "-e", sql)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+dbPassword)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("age the reset key of user %d: %v: %s", id, err, out)
	}
}

// ActivationKey returns user id's user_activation_key column as stored
// ("time:hash" once a reset key was made, "" before): a test compares it to
// see whether a reset key was minted. It is a hash, never a usable key.
func (e Site) ActivationKey(t testing.TB, id int64) string {
	t.Helper()
	socket := e.dbSocket(t)
	bin, err := exec.LookPath("mariadb")
	if err != nil {
		t.Skip("no mariadb client")
	}
	sql := fmt.Sprintf("SELECT user_activation_key FROM wp_users WHERE ID = %d", id)
	cmd := exec.CommandContext(t.Context(), bin, "--no-defaults", "--socket="+socket, "-u"+dbUser, "-N", "-B", dbName, "-e", sql)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+dbPassword)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("read the activation key of user %d: %v", id, err)
	}
	return strings.TrimSpace(string(out))
}
