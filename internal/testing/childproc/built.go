package childproc

import (
	"context"
	"os"
	"sync"
	"testing"
)

// built is the wpbridge binary built once per test process.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Binary builds cmd/wpbridge once per test process and returns its path.
// Call RemoveBinary from TestMain after m.Run.
func Binary(tb testing.TB) string {
	tb.Helper()
	built.once.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			built.err = err
			return
		}
		if built.dir, built.err = os.MkdirTemp("", "wpbridge-bin-"); built.err != nil {
			return
		}
		built.path, built.err = Build(context.Background(), root, built.dir)
	})
	if built.err != nil {
		tb.Fatal(built.err)
	}
	return built.path
}

// RemoveBinary deletes what Binary built, if anything.
func RemoveBinary() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}
