package config

// The WordPress → AC variables: SYNC_TO_AC, REGISTRATION_TAGS, OUTBOX_POLL.

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wpbridge/wpbridge/internal/contactsync"
)

// The accepted range of OUTBOX_POLL.
const (
	minOutboxPoll = 100 * time.Millisecond
	maxOutboxPoll = 5 * time.Minute
)

// preparseSyncToAC returns the canonical text of SYNC_TO_AC and OUTBOX_POLL;
// ok is false for other variables.
func preparseSyncToAC(key, v string) (canon string, ok bool, err error) {
	switch key {
	case "SYNC_TO_AC":
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			return "", true, &Error{Var: key, Problem: fmt.Sprintf("must be true or false (got %q)", v)}
		}
		return strconv.FormatBool(b), true, nil
	case "OUTBOX_POLL":
		d, perr := time.ParseDuration(v)
		if perr != nil {
			hint := ""
			if _, nerr := strconv.ParseFloat(v, 64); nerr == nil {
				hint = "; add a unit"
			}
			return "", true, &Error{Var: key, Problem: fmt.Sprintf("must be a duration from 100ms to 5m like 1s or 500ms (got %q%s)", v, hint)}
		}
		return d.String(), true, nil
	}
	return "", false, nil
}

// checkSyncToAC checks REGISTRATION_TAGS and OUTBOX_POLL (they are checked
// whether SYNC_TO_AC is on or not, so turning it on later cannot fail).
func (c *Config) checkSyncToAC(p *problems) {
	if c.OutboxPoll < minOutboxPoll || c.OutboxPoll > maxOutboxPoll {
		p.add("OUTBOX_POLL", "must be from 100ms to 5m (got %s)", c.OutboxPoll)
	}
	seen := map[string]bool{}
	for _, t := range c.RegistrationTags {
		switch {
		case t == "":
			p.add("REGISTRATION_TAGS", "holds an empty tag name: remove the stray comma")
			return
		case len(t) > 255 || !utf8.ValidString(t) || strings.IndexFunc(t, unicode.IsControl) >= 0:
			p.add("REGISTRATION_TAGS", "tag %q must be at most 255 characters of text", t)
			return
		case seen[strings.ToLower(t)]:
			p.add("REGISTRATION_TAGS", "names tag %q twice (AC compares tag names without case)", t)
			return
		}
		seen[strings.ToLower(t)] = true
	}
}

// normalizeSyncToAC trims the REGISTRATION_TAGS names.
func (c *Config) normalizeSyncToAC() {
	for i, t := range c.RegistrationTags {
		c.RegistrationTags[i] = strings.TrimSpace(t)
	}
}

// OutboxMetaKeys returns the user meta keys the companion plugin's outbox
// records with each event: FIELD_MAP's meta targets (never a core field:
// events carry those anyway) and CONTACT_ID_META_KEY.
func (c *Config) OutboxMetaKeys() []string {
	var keys []string
	for _, m := range c.FieldMap {
		if !contactsync.IsCoreField(m.Target) {
			keys = append(keys, m.Target)
		}
	}
	if c.ContactIDMetaKey != "" {
		keys = append(keys, c.ContactIDMetaKey)
	}
	return keys
}
