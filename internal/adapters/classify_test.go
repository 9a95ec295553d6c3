package adapters

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/activecampaign"
	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/webhook"
	"github.com/wpbridge/wpbridge/wordpress"
)

func acErr(status int, retryAfter time.Duration) error {
	return &activecampaign.Error{StatusCode: status, Method: "GET", Path: "/contacts/{id}", Message: "x", RetryAfter: retryAfter}
}

func wpErr(status int, code, path string) error {
	return &wordpress.Error{StatusCode: status, Code: code, Method: "POST", Path: path, Message: "x"}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		class webhook.Class
		wait  time.Duration
		what  string // substring of the credentials named for AuthFailed
	}{
		// ActiveCampaign.
		{name: "AC 401", err: acErr(401, 0), class: webhook.AuthFailed, what: "AC_API_KEY"},
		{name: "AC 403", err: acErr(403, 0), class: webhook.AuthFailed, what: "AC_API_KEY"},
		{name: "AC 429 with Retry-After", err: acErr(429, 7*time.Second), class: webhook.Throttled, wait: 7 * time.Second},
		{name: "AC 429 without Retry-After", err: acErr(429, 0), class: webhook.Throttled, wait: time.Second},
		{name: "AC 503 with Retry-After", err: acErr(503, 3*time.Second), class: webhook.Throttled, wait: 3 * time.Second},
		{name: "AC 503 short Retry-After", err: acErr(503, 10*time.Millisecond), class: webhook.Throttled, wait: time.Second},
		{name: "AC 500", err: acErr(500, 0), class: webhook.Temporary},
		{name: "AC 502", err: acErr(502, 0), class: webhook.Temporary},
		{name: "AC timeout (no status)", err: acErr(0, 0), class: webhook.Temporary},
		{name: "AC 400", err: acErr(400, 0), class: webhook.Permanent},
		{name: "AC 404", err: acErr(404, 0), class: webhook.Permanent},
		{name: "AC 422", err: acErr(422, 0), class: webhook.Permanent},
		{name: "AC 401 wrapped twice", err: fmt.Errorf("contactsync: load contact 5: %w", fmt.Errorf("x: %w", acErr(401, 0))), class: webhook.AuthFailed, what: "AC_API_KEY"},
		{name: "AC 429 wrapped", err: fmt.Errorf("write password: %w", acErr(429, 2*time.Second)), class: webhook.Throttled, wait: 2 * time.Second},
		{name: "AC invalid argument", err: fmt.Errorf("%w: empty contact id", activecampaign.ErrInvalidArgument), class: webhook.Permanent},

		// WordPress.
		{name: "WP 401", err: wpErr(401, "rest_forbidden", "/wp/v2/users"), class: webhook.AuthFailed, what: "WP_APP_PASSWORD"},
		{name: "WP 403 incorrect_password", err: wpErr(403, "incorrect_password", "/wp/v2/users"), class: webhook.AuthFailed, what: "WP_USERNAME"},
		// Any other 403 refuses this request only: that webhook fails, work goes on.
		{name: "WP 403", err: wpErr(403, "rest_forbidden", "/wp/v2/users"), class: webhook.Permanent},
		{name: "WP rest_cannot_create_user", err: wpErr(403, "rest_cannot_create_user", "/wp/v2/users"), class: webhook.Permanent},
		{name: "WP 403 rest_user_invalid_role", err: wpErr(403, "rest_user_invalid_role", "/wp/v2/users/5"), class: webhook.Permanent},
		{name: "WP 403 protected user", err: wpErr(403, "wpbridge_protected_user", "/wp/v2/users/5"), class: webhook.Permanent},
		{name: "WP 403 HTML page", err: wpErr(403, wordpress.CodeInvalidResponse, "/wp/v2/users"), class: webhook.Permanent},
		{name: "WP plugin missing", err: wpErr(404, "rest_no_route", "/wpbridge/v1/users/by-meta"), class: webhook.AuthFailed, what: "plugin"},
		{name: "WP 429", err: wpErr(429, "too_many", "/wp/v2/users"), class: webhook.Throttled, wait: 5 * time.Second},
		{name: "WP 500", err: wpErr(500, "internal_server_error", "/wp/v2/users"), class: webhook.Temporary},
		{name: "WP 503 maintenance", err: wpErr(503, wordpress.CodeInvalidResponse, "/wp/v2/users"), class: webhook.Temporary},
		{name: "WP HTML answer", err: wpErr(200, wordpress.CodeInvalidResponse, "/wp/v2/users"), class: webhook.Temporary},
		{name: "WP timeout (no status)", err: wpErr(0, "", "/wp/v2/users"), class: webhook.Temporary},
		{name: "WP 400", err: wpErr(400, "rest_invalid_param", "/wp/v2/users"), class: webhook.Permanent},
		{name: "WP 400 invalid email", err: wpErr(400, "rest_user_invalid_email", "/wp/v2/users/5"), class: webhook.Permanent},
		{name: "WP 422", err: wpErr(422, "unprocessable", "/wp/v2/users"), class: webhook.Permanent},
		{name: "WP 404 user gone", err: wpErr(404, "rest_user_invalid_id", "/wp/v2/users/5"), class: webhook.Permanent},
		// existing_user_email on create: the syncer retries so that the next
		// round links the user that appeared meanwhile.
		{name: "WP existing email is retried", err: fmt.Errorf("%w: %w", contactsync.ErrEmailTaken, wpErr(500, "existing_user_email", "/wp/v2/users")), class: webhook.Temporary},
		{name: "WP invalid argument", err: fmt.Errorf("%w: user id 0", wordpress.ErrInvalid), class: webhook.Permanent},

		// Anything else.
		{name: "plain error", err: errors.New("boom"), class: webhook.Temporary},
		{name: "deadline", err: context.DeadlineExceeded, class: webhook.Temporary},
		{name: "rule sentinel", err: contactsync.ErrContactNotFound, class: webhook.Temporary},

		// The rules' own verdict: no retry can fix it, whatever the cause.
		{name: "rule permanent", err: contactsync.Permanent(errors.New("contact deleted in ActiveCampaign")), class: webhook.Permanent},
		{name: "rule permanent over a temporary AC error", err: contactsync.Permanent(acErr(500, 0)), class: webhook.Permanent},
		{name: "rule permanent wrapped", err: fmt.Errorf("add: %w", contactsync.Permanent(errors.New("no email"))), class: webhook.Permanent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Classify(tc.err)
			if v.Class != tc.class || v.Wait != tc.wait {
				t.Fatalf("Classify = %v, %v; want %v, %v", v.Class, v.Wait, tc.class, tc.wait)
			}
			if (v.Class == webhook.AuthFailed) != (v.Reason != "") {
				t.Errorf("reason %q for class %v", v.Reason, v.Class)
			}
			if tc.what != "" && !strings.Contains(v.Reason, tc.what) {
				t.Errorf("reason %q lacks %q", v.Reason, tc.what)
			}
		})
	}
}
