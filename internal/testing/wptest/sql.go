package wptest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SQL runs statements on the test database (as WordPress's own database user)
// and returns the output, tab-separated rows without a header. For what the
// REST API cannot do, e.g. change the usermeta table's indexes.
func (e Site) SQL(t testing.TB, statements string) string {
	t.Helper()
	socket := e.dbSocket(t)
	bin, err := exec.LookPath("mariadb")
	if err != nil {
		t.Skip("no mariadb client")
	}
	// Not t.Context(): cleanups restore the database after it is canceled.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--no-defaults", "--socket="+socket, "-u"+dbUser, "-N", "-B", dbName, "-e", statements)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+dbPassword)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sql %q: %v: %s", statements, err, out)
	}
	return strings.TrimSpace(string(out))
}

// LockMetaIndex holds, until the test ends, a lock shared by every test
// process using this site, for tests that drop and re-create the usermeta
// indexes (one table for the whole site).
func (e Site) LockMetaIndex(t testing.TB) { e.lock(t, "metaindex") }

// lock holds, until the test ends, the lock named name of this site, shared
// by every test process using the site (a file lock in the temp directory).
func (e Site) lock(t testing.TB, name string) {
	t.Helper()
	site := strings.NewReplacer(":", "_", "/", "_").Replace(strings.TrimPrefix(strings.TrimPrefix(e.URL, "http://"), "https://"))
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "wpbridge-"+name+"-"+site+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("%s lock: %v", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("%s lock: %v", name, err)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}
