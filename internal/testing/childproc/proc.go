// Package childproc builds and runs the wpbridge binary as a child process, for
// crash tests and the benchmark: start it with an environment, wait until it
// is ready, kill it (gracefully or with SIGKILL), read its memory use.
package childproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Build compiles ./cmd/wpbridge from the module root into dir and returns the
// binary's path. root is the module root (the folder holding go.mod).
func Build(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "wpbridge")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/wpbridge")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build wpbridge: %w\n%s", err, out)
	}
	return bin, nil
}

// ModuleRoot walks up from the working directory to the folder with go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// FreeAddr returns a free 127.0.0.1 address.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Process is a running wpbridge.
type Process struct {
	cmd  *exec.Cmd
	URL  string // http://LISTEN_ADDR
	done chan error
}

// Start runs bin serve with env (KEY=VALUE; LISTEN_ADDR must be set), sends
// its log output to logs, and waits up to 30s for /readyz.
func Start(ctx context.Context, bin string, env []string, logs io.Writer) (*Process, error) {
	var addr string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "LISTEN_ADDR="); ok {
			addr = v
		}
	}
	if addr == "" {
		return nil, errors.New("proc: LISTEN_ADDR missing from env")
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("proc: start: %w", err)
	}
	p := &Process{cmd: cmd, URL: "http://" + addr, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err
			return nil, fmt.Errorf("proc: wpbridge exited before it was ready: %v", err)
		case <-ctx.Done():
			p.Kill()
			return nil, ctx.Err()
		default:
		}
		resp, err := http.Get(p.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Kill()
	return nil, errors.New("proc: wpbridge not ready after 30s")
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	err := <-p.done
	p.done <- err
}

// Stop sends SIGTERM and waits up to d for a clean exit; it returns the exit error.
func (p *Process) Stop(d time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(d):
		p.Kill()
		return fmt.Errorf("proc: no exit %s after SIGTERM, killed", d)
	}
}

// Memory returns the resident set size now and its peak (VmRSS, VmHWM), in bytes.
func (p *Process) Memory() (rss, peak int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.PID()))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("proc: parse %s: %w", k, err)
		}
		if k == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return rss, peak, sc.Err()
}
