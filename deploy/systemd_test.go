package deploy_test

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wpbridge/wpbridge/internal/testing/childproc"
)

// unitSettings returns the last value of each Section.Key of a unit file.
func unitSettings(text string) map[string]string {
	out := map[string]string{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			if k, v, ok := strings.Cut(line, "="); ok {
				out[section+"."+strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	return out
}

// TestSystemdUnit checks the settings the contract asks of the shipped unit.
func TestSystemdUnit(t *testing.T) {
	got := unitSettings(shipped(t, "systemd/wpbridge.service"))
	want := map[string]string{
		"Service.ExecStart":        "/usr/local/bin/wpbridge serve",
		"Service.EnvironmentFile":  "/etc/wpbridge/wpbridge.env",
		"Service.DynamicUser":      "yes",
		"Service.StateDirectory":   "wpbridge",
		"Service.WorkingDirectory": "/var/lib/wpbridge",
		"Service.ProtectSystem":    "strict",
		"Service.ProtectHome":      "yes",
		"Service.PrivateTmp":       "yes",
		"Service.NoNewPrivileges":  "yes",
		"Service.Restart":          "on-failure",
		"Service.UMask":            "0077",
		"Install.WantedBy":         "multi-user.target",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q, want %q", k, got[k], v)
		}
	}
}

// analyzedUnit writes the shipped unit with ExecStart pointed at a built
// wpbridge (verify checks that the binary exists) and returns its path and
// systemd-analyze, or skips the test without it.
func analyzedUnit(t *testing.T) (analyze, unit string) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed: skipping the check of deploy/systemd/wpbridge.service")
	}
	text := edit(t, shipped(t, "systemd/wpbridge.service"), "ExecStart=/usr/local/bin/wpbridge serve",
		"ExecStart="+childproc.Binary(t)+" serve")
	unit = filepath.Join(t.TempDir(), "wpbridge.service")
	writeFile(t, unit, text)
	return analyze, unit
}

// TestSystemdUnitVerify runs `systemd-analyze verify`: it must exit 0 and say
// nothing about the unit (unknown or misspelt settings are only warnings).
func TestSystemdUnitVerify(t *testing.T) {
	analyze, unit := analyzedUnit(t)
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "wpbridge") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
}

// TestSystemdUnitExposure checks systemd's own rating of the sandbox
// (`systemd-analyze security`, 0 = locked down, 10 = exposed) stays "OK".
func TestSystemdUnitExposure(t *testing.T) {
	analyze, unit := analyzedUnit(t)
	out, err := exec.Command(analyze, "security", "--offline=true", unit).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for wpbridge\.service: ([0-9.]+)`).FindSubmatch(out)
	if err != nil && m == nil && strings.Contains(string(out), "offline") {
		t.Skipf("systemd-analyze security --offline not supported here: %s", strings.TrimSpace(string(out)))
	}
	if m == nil {
		t.Fatalf("systemd-analyze security: no exposure level (%v)\n%s", err, out)
	}
	level, _ := strconv.ParseFloat(string(m[1]), 64)
	if level > 2.0 {
		t.Errorf("exposure level %.1f, want at most 2.0 (OK)\n%s", level, out)
	}
}

// TestSystemdRunHint checks the unit's comment that shows how to run other
// commands against the service's database: the transient unit must run as
// the same dynamic user (a DynamicUser without User= is named after its unit,
// run-uNNN, and cannot open the service's 0600 database) in the same
// directories with the same environment.
func TestSystemdRunHint(t *testing.T) {
	text := shipped(t, "systemd/wpbridge.service")
	svc := unitSettings(text)
	user := svc["Service.User"]
	if user == "" {
		user = "wpbridge" // DynamicUser's default: the unit's name
	}
	hint := map[string]string{}
	for _, m := range regexp.MustCompile(`-p (\w+)=(\S+)`).FindAllStringSubmatch(text, -1) {
		hint[m[1]] = m[2]
	}
	if len(hint) == 0 {
		t.Fatal("the unit's comments show no systemd-run command")
	}
	want := map[string]string{
		"DynamicUser":      "yes",
		"User":             user,
		"StateDirectory":   svc["Service.StateDirectory"],
		"WorkingDirectory": svc["Service.WorkingDirectory"],
		"EnvironmentFile":  svc["Service.EnvironmentFile"],
	}
	for k, v := range want {
		if hint[k] != v {
			t.Errorf("systemd-run hint: -p %s=%q, want %q", k, hint[k], v)
		}
	}
}
