package deploy_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/childproc"
	"github.com/wpbridge/wpbridge/internal/testing/syncbuf"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
)

func TestMain(m *testing.M) {
	code := m.Run()
	childproc.RemoveBinary()
	os.Exit(code)
}

// tool finds a server binary (also in /usr/sbin, which a non-root PATH lacks).
// Without it the test is skipped, or fails when WPBRIDGE_REQUIRE_PROXIES=1.
func tool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	if os.Getenv("WPBRIDGE_REQUIRE_PROXIES") == "1" {
		t.Fatalf("%s not installed and WPBRIDGE_REQUIRE_PROXIES=1 (run: bash scripts/proxies.sh install)", name)
	}
	t.Skipf("%s not installed: skipping its deployment test (run: bash scripts/proxies.sh install)", name)
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// shipped reads a file of deploy/ as a site owner would copy it.
func shipped(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("read shipped file: %v", err)
	}
	return string(b)
}

// edit replaces old with new in text. It fails when old is missing, so a
// change to a shipped file that moves one of its edit places breaks the test
// instead of testing something else.
func edit(t *testing.T, text, old, new string) string {
	t.Helper()
	if !strings.Contains(text, old) {
		t.Fatalf("shipped file no longer contains %q (an edit place the test relies on)", old)
	}
	return strings.ReplaceAll(text, old, new)
}

// editBlock replaces the lines from the start marker to the end marker.
func editBlock(t *testing.T, text, start, end, new string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)[ \t]*` + regexp.QuoteMeta(start) + `.*?` + regexp.QuoteMeta(end) + `[^\n]*`)
	if !re.MatchString(text) {
		t.Fatalf("shipped file no longer has the block %q ... %q", start, end)
	}
	return re.ReplaceAllLiteralString(text, new)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// serverDir is a fresh directory that nginx's unprivileged workers may enter
// (t.TempDir's parent is private to root).
func serverDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := childproc.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// proxy is a running nginx or caddy in front of wpbridge and WordPress.
type proxy struct {
	name  string
	URL   string
	files []string        // its log files (access and error logs)
	out   *syncbuf.Buffer // its standard output and error (Caddy's own log)
}

// logs returns everything the proxy logged so far.
func (p *proxy) logs(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, f := range p.files {
		data, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("read %s log: %v", p.name, err)
		}
		b.Write(data)
	}
	b.WriteString(p.out.String())
	return b.String()
}

// startProcess runs cmd until the test ends and waits until addr accepts
// connections.
func startProcess(t *testing.T, name string, cmd *exec.Cmd, addr string, out *syncbuf.Buffer) {
	t.Helper()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	wait.For(t, 30*time.Second, name+" to listen on "+addr, func() (bool, string) {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("%s exited before it listened: %v\n%s", name, err, out.String())
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, out.String()
		}
		conn.Close()
		return true, ""
	})
}

// nginxMain is the test's nginx.conf: the shipped http-level file included as
// conf.d does on Debian, and a stand-in for the site's own server block (its
// WordPress is the test WordPress behind `php -S`) including the shipped
// locations. %[1]s: config dir, %[2]s: log dir, %[3]s: temp dir, %[4]s: listen
// address, %[5]s: WordPress host:port.
const nginxMain = `daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[2]s/error.log;
events { worker_connections 256; }
http {
	client_body_temp_path %[3]s/body;
	proxy_temp_path %[3]s/proxy;
	fastcgi_temp_path %[3]s/fastcgi;
	uwsgi_temp_path %[3]s/uwsgi;
	scgi_temp_path %[3]s/scgi;
	include %[1]s/conf.d/wpbridge.conf;
	server {
		listen %[4]s;
		server_name localhost;
		access_log %[2]s/access.log combined;
		include %[1]s/snippets/wpbridge-locations.conf;
		location / {
			proxy_pass http://%[5]s;
			proxy_set_header Host %[5]s;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
		}
	}
}
`

// startNginx runs Debian's nginx with the shipped files, changed only at
// their edit places: the wpbridge upstream and the log directory.
func startNginx(t *testing.T, upstream, wordpress string) *proxy {
	t.Helper()
	bin := tool(t, "nginx")
	dir := serverDir(t, "wpbridge-nginx-")
	logs, tmp := filepath.Join(dir, "logs"), filepath.Join(dir, "tmp")
	for _, d := range []string{logs, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(tmp, 0o777); err != nil { // nginx's workers run as nobody under root
		t.Fatal(err)
	}
	httpConf := edit(t, shipped(t, "nginx/wpbridge.conf"), "server 127.0.0.1:8080;", "server "+upstream+";")
	locations := edit(t, shipped(t, "nginx/wpbridge-locations.conf"), "/var/log/nginx/", logs+"/")
	writeFile(t, filepath.Join(dir, "conf.d/wpbridge.conf"), httpConf)
	writeFile(t, filepath.Join(dir, "snippets/wpbridge-locations.conf"), locations)
	addr := freeAddr(t)
	mainConf := filepath.Join(dir, "nginx.conf")
	writeFile(t, mainConf, fmt.Sprintf(nginxMain, dir, logs, tmp, addr, wordpress))

	args := []string{"-p", dir + "/", "-c", mainConf, "-e", filepath.Join(logs, "error.log")}
	if out, err := exec.Command(bin, append(args, "-t")...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t rejects the shipped files: %v\n%s", err, out)
	}
	p := &proxy{name: "nginx", URL: "http://" + addr, out: &syncbuf.Buffer{},
		files: []string{filepath.Join(logs, "access.log"), filepath.Join(logs, "error.log")}}
	startProcess(t, "nginx", exec.Command(bin, args...), addr, p.out)
	return p
}

// startCaddy runs Debian's caddy with the shipped Caddyfile, changed only at
// its edit places: admin endpoint, site address, wpbridge upstream, access log
// file, and the site's WordPress handling (a reverse proxy to the test
// WordPress instead of php-fpm).
func startCaddy(t *testing.T, upstream, wordpress string) *proxy {
	t.Helper()
	bin := tool(t, "caddy")
	dir := serverDir(t, "wpbridge-caddy-")
	addr := freeAddr(t)
	text := shipped(t, "caddy/Caddyfile")
	text = edit(t, text, "admin localhost:2019", "admin "+freeAddr(t))
	text = edit(t, text, "\nexample.com {", "\nhttp://"+addr+" {")
	text = edit(t, text, "reverse_proxy 127.0.0.1:8080", "reverse_proxy "+upstream)
	text = edit(t, text, "/var/log/caddy/access.log", filepath.Join(dir, "access.log"))
	text = editBlock(t, text, "# >>> WordPress", "# <<< WordPress",
		"\t\treverse_proxy "+wordpress+" {\n\t\t\theader_up Host "+wordpress+"\n\t\t}")
	conf := filepath.Join(dir, "Caddyfile")
	writeFile(t, conf, text)

	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config")}
	check := exec.Command(bin, "validate", "--config", conf, "--adapter", "caddyfile")
	check.Env = env
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("caddy validate rejects the shipped Caddyfile: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "run", "--config", conf, "--adapter", "caddyfile")
	cmd.Env = env
	p := &proxy{name: "caddy", URL: "http://" + addr, out: &syncbuf.Buffer{},
		files: []string{filepath.Join(dir, "access.log")}}
	startProcess(t, "caddy", cmd, addr, p.out)
	return p
}

// startProxy starts the proxy called name.
func startProxy(t *testing.T, name, upstream, wordpress string) *proxy {
	t.Helper()
	if name == "nginx" {
		return startNginx(t, upstream, wordpress)
	}
	return startCaddy(t, upstream, wordpress)
}
