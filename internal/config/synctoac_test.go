package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoad_SyncToAC(t *testing.T) {
	t.Parallel()
	tests := []varCase{
		{"sync on", "SYNC_TO_AC", "true", func(c *Config) bool { return c.SyncToAC }, ""},
		{"sync 1", "SYNC_TO_AC", "1", func(c *Config) bool { return c.SyncToAC }, ""},
		{"sync off", "SYNC_TO_AC", "FALSE", func(c *Config) bool { return !c.SyncToAC }, ""},
		{"sync yes", "SYNC_TO_AC", "yes", nil, `SYNC_TO_AC: must be true or false (got "yes")`},
		{"tags", "REGISTRATION_TAGS", " WordPress member , Welcome", func(c *Config) bool {
			return slices.Equal(c.RegistrationTags, []string{"WordPress member", "Welcome"})
		}, ""},
		{"tags stray comma", "REGISTRATION_TAGS", "a,,b", nil, "REGISTRATION_TAGS: holds an empty tag name"},
		{"tags twice", "REGISTRATION_TAGS", "VIP,vip", nil, `REGISTRATION_TAGS: names tag "vip" twice`},
		{"tags control", "REGISTRATION_TAGS", "a\tb", nil, `REGISTRATION_TAGS: tag "a\tb" must be at most 255 characters`},
		{"tags long", "REGISTRATION_TAGS", strings.Repeat("x", 256), nil, "REGISTRATION_TAGS: tag"},
		{"poll", "OUTBOX_POLL", "250ms", func(c *Config) bool { return c.OutboxPoll == 250*time.Millisecond }, ""},
		{"poll max", "OUTBOX_POLL", "5m", func(c *Config) bool { return c.OutboxPoll == 5*time.Minute }, ""},
		{"poll short", "OUTBOX_POLL", "10ms", nil, "OUTBOX_POLL: must be from 100ms to 5m (got 10ms)"},
		{"poll long", "OUTBOX_POLL", "1h", nil, "OUTBOX_POLL: must be from 100ms to 5m (got 1h0m0s)"},
		{"poll no unit", "OUTBOX_POLL", "2", nil, `OUTBOX_POLL: must be a duration from 100ms to 5m like 1s or 500ms (got "2"; add a unit)`},
	}
	runVarCases(t, tests)
}

func TestOutboxMetaKeys(t *testing.T) {
	t.Parallel()
	env := requiredEnv()
	env["FIELD_MAP"] = "first_name=firstName,billing_phone=phone,user_email=email,company=%COMPANY%,role=field:3"
	cfg, err := load(t, env)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.OutboxMetaKeys(); !slices.Equal(got, []string{"billing_phone", "company", "activecampaign_contact_id"}) {
		t.Errorf("OutboxMetaKeys() = %q", got)
	}
}
