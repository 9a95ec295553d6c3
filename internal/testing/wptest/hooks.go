package wptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Hook is one action call recorded by scripts/wp/wpbridge-test-hooks.php:
// its name and arguments as JSON.
type Hook struct {
	Name string            `json:"hook"`
	Args []json.RawMessage `json:"args"`
}

// String is the call as "name(arg, arg)", arguments in JSON.
func (h Hook) String() string {
	var b bytes.Buffer
	b.WriteString(h.Name + "(")
	for i, a := range h.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.Write(a)
	}
	b.WriteString(")")
	return b.String()
}

// Hooks returns the actions recorded for user id, oldest first (every
// recorded action takes the user id first).
func (e Site) Hooks(t testing.TB, id int64) []Hook {
	t.Helper()
	if e.HookDir == "" {
		t.Skip("env file has no WPTEST_HOOK_DIR (restart scripts/wordpress.sh)")
	}
	b, err := os.ReadFile(filepath.Join(e.HookDir, fmt.Sprintf("%d.jsonl", id)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("read hook log: %v", err)
	}
	var out []Hook
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var h Hook
		if err := json.Unmarshal(line, &h); err != nil {
			t.Fatalf("hook log line: %v", err)
		}
		out = append(out, h)
	}
	return out
}

// HookStrings returns Hooks as strings (Hook.String), from the n-th on.
func (e Site) HookStrings(t testing.TB, id int64, from int) []string {
	t.Helper()
	var out []string
	for i, h := range e.Hooks(t, id) {
		if i >= from {
			out = append(out, h.String())
		}
	}
	return out
}
