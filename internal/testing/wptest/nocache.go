package wptest

import (
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/childproc"
)

// noCacheFile, in the module root, keeps go test from caching the result of a
// package that asked for the test WordPress (see keepOutOfTestCache).
const noCacheFile = ".wptest-nocache"

var noCacheOnce sync.Once

// keepOutOfTestCache makes go test run this package's tests again next time
// instead of replaying a cached result. Such a result depends on whether
// WordPress was running, which go test cannot see (it only rechecks files
// inside the module): a skip cached before WordPress was started would be
// replayed as "ok (cached)" afterwards, and a pass after it was stopped.
//
// go test does not cache a run that opened a file of the module modified less
// than 2s before the run ended, so this opens noCacheFile dated in the future.
func keepOutOfTestCache() {
	noCacheOnce.Do(func() {
		root, err := childproc.ModuleRoot()
		if err != nil {
			return
		}
		name := filepath.Join(root, noCacheFile)
		content := []byte("Opened by tests that use the test WordPress; its date keeps their results out of go test's cache.\n")
		if err := os.WriteFile(name, content, 0o644); err != nil {
			return
		}
		future := time.Now().Add(24 * time.Hour)
		if err := os.Chtimes(name, future, future); err != nil {
			return
		}
		if f, err := os.Open(name); err == nil {
			f.Close()
		}
	})
}
