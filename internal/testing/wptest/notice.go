package wptest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/wpbridge/wpbridge/internal/testing/childproc"
)

// skipNotice says once per test binary, that is once per package, that the
// package skipped its real-WordPress tests and how to run them. go test ./...
// hides the output of a package that passes (t.Skip lines included), so the
// notice goes to the terminal when there is one, else to stderr (shown with -v
// or when the package fails).
type skipNotice struct {
	once sync.Once
	open func() (w io.Writer, close func()) // where the line goes
}

var notice = &skipNotice{open: terminalOrStderr}

// print writes the notice for reason, the first time only.
func (n *skipNotice) print(reason error) {
	n.once.Do(func() {
		w, done := n.open()
		defer done()
		fmt.Fprintf(w, "%s: skipped its real-WordPress tests (%v); to run them: bash scripts/wordpress.sh start,"+
			" then go test again (or ./scripts/test.sh runs the whole suite with WordPress)\n", packageName(), reason)
	})
}

func terminalOrStderr() (io.Writer, func()) {
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		return tty, func() { tty.Close() }
	}
	return os.Stderr, func() {}
}

// packageName is the package under test as a path from the module root
// ("internal/app"): go test runs a test binary in its package's folder.
func packageName() string {
	if root, err := childproc.ModuleRoot(); err == nil {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(root, wd); err == nil {
				return filepath.ToSlash(rel)
			}
		}
	}
	return strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
}
