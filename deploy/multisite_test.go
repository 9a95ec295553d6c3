package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSystemdTemplateUnit checks that the per-site unit for a multisite
// network (wpbridge@.service) keeps every setting of wpbridge.service (its
// sandbox above all), differing only where a site needs its own: the
// environment file, state and working directories, named by the instance.
func TestSystemdTemplateUnit(t *testing.T) {
	one := unitSettings(shipped(t, "systemd/wpbridge.service"))
	tmpl := unitSettings(shipped(t, "systemd/wpbridge@.service"))
	perSite := map[string]bool{"Unit.Description": true, "Service.EnvironmentFile": true,
		"Service.StateDirectory": true, "Service.WorkingDirectory": true}
	for k, v := range one {
		if perSite[k] {
			if !strings.Contains(tmpl[k], "%i") {
				t.Errorf("wpbridge@.service: %s=%q, want it per site (%%i)", k, tmpl[k])
			}
			continue
		}
		if tmpl[k] != v {
			t.Errorf("wpbridge@.service: %s=%q, want %q as in wpbridge.service", k, tmpl[k], v)
		}
	}
}

// TestNginxMultisiteSyntax runs `nginx -t` on the two-site example: its
// upstreams in the http block and its (commented) locations, uncommented,
// in a server block, as its comments tell the owner to place them.
func TestNginxMultisiteSyntax(t *testing.T) {
	bin := tool(t, "nginx")
	text := shipped(t, "nginx/wpbridge-multisite.conf")
	const mark = "# --- in the server block of the network ---"
	httpPart, serverPart, ok := strings.Cut(text, mark)
	if !ok {
		t.Fatalf("wpbridge-multisite.conf has no %q line", mark)
	}
	uncomment := regexp.MustCompile(`(?m)^#((?:location|    |\}).*)$`)
	locations := uncomment.ReplaceAllString(serverPart, "$1")
	if n := strings.Count(locations, "location ^~"); n != 2 {
		t.Fatalf("found %d locations in the example, want 2", n)
	}
	dir := serverDir(t, "wpbridge-nginx-ms-")
	logs, tmp := filepath.Join(dir, "logs"), filepath.Join(dir, "tmp")
	for _, d := range []string{logs, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "conf.d/wpbridge.conf"), httpPart)
	writeFile(t, filepath.Join(dir, "snippets/wpbridge-locations.conf"), locations)
	mainConf := filepath.Join(dir, "nginx.conf")
	writeFile(t, mainConf, strings.NewReplacer("%[1]s", dir, "%[2]s", logs, "%[3]s", tmp, "%[4]s", freeAddr(t), "%[5]s", "127.0.0.1:9").Replace(nginxMain))
	out, err := exec.Command(bin, "-p", dir+"/", "-c", mainConf, "-e", filepath.Join(logs, "error.log"), "-t").CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t rejects the multisite example: %v\n%s", err, out)
	}
}
