package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/acfake"
)

func TestImportUsageAndUnknownTag(t *testing.T) {
	ac := acfake.NewServer(acfake.Config{APIKey: acKey})
	defer ac.Close()
	ac.AddTag("VIP")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "help", args: []string{"help"}, stdout: "usage: wpbridge import --tag NAME"},
		{name: "no tag", args: nil, code: 2, stderr: "--tag NAME is required"},
		{name: "extra argument", args: []string{"--tag", "VIP", "now"}, code: 2, stderr: `unexpected argument "now"`},
		{name: "unknown flag", args: []string{"--tag", "VIP", "--force"}, code: 2, stderr: "not defined: -force"},
		{name: "role not allowed", args: []string{"--tag", "VIP", "--role", "editor"}, code: 2, stderr: `--role "editor" is not in ALLOWED_ROLES`},
		{name: "role by its title", args: []string{"--tag", "Platinum", "--role", "Customer"}, code: 1, stderr: `no tag named "Platinum"`},
		{name: "administrator", args: []string{"--tag", "VIP", "--role", "administrator"}, code: 2, stderr: `--role "administrator" is not in ALLOWED_ROLES`},
		{name: "tag and from-wordpress", args: []string{"--tag", "VIP", "--from-wordpress"}, code: 2, stderr: "give one"},
		{name: "from-wordpress notification", args: []string{"--from-wordpress", "--send-notification"}, code: 2, stderr: "does not apply to --from-wordpress"},
		{name: "unknown tag", args: []string{"--tag", "Platinum"}, code: 1, stderr: `ActiveCampaign has no tag named "Platinum"`},
		{name: "unknown tag dry run", args: []string{"--tag", "VI", "--dry-run"}, code: 1, stderr: `no tag named "VI"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := baseEnv(t)
			env["AC_API_URL"] = ac.URL()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			code, stdout, stderr := runCmd(t, ctx, append([]string{"import"}, tc.args...), env)
			if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
			}
			path := strings.TrimPrefix(env["DATABASE_URL"], "sqlite:")
			if _, err := os.Stat(path); err == nil {
				t.Errorf("%s created the database", tc.name)
			}
		})
	}
	if !strings.Contains(usage, "import") {
		t.Error("wpbridge usage does not mention import")
	}
}
