package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/wpbridge/wpbridge/internal/contactsync"
)

// standardSources are the standard ActiveCampaign contact fields, in their
// normalized spelling.
var standardSources = []string{"email", "firstName", "lastName", "phone", "orgname"}

const sourceHelp = "use email, firstName, lastName, phone, orgname, field:ID or %PERSTAG%"

// FieldMap is the ordered list of FIELD_MAP mappings. Targets are unique,
// ignoring case (MySQL compares meta keys without case).
type FieldMap []contactsync.Mapping

// ParseFieldMap parses "wp_key=ac_field,..." (the FIELD_MAP syntax). Blank
// input gives an empty map. Sources are normalized (see contactsync.Mapping.Source);
// every problem is reported, one *Error per bad entry.
func ParseFieldMap(s string) (FieldMap, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	entries := strings.Split(s, ",")
	var (
		m    FieldMap
		errs []error
		seen = make(map[string]int)
	)
	for i, e := range entries {
		e = strings.TrimSpace(e)
		n := i + 1
		target, source, ok := strings.Cut(e, "=")
		target, source = strings.TrimSpace(target), strings.TrimSpace(source)
		switch {
		case e == "":
			errs = append(errs, fieldMapErr("entry %d is empty; remove the stray comma", n))
			continue
		case !ok || target == "" || source == "":
			errs = append(errs, fieldMapErr("entry %d %q must look like wp_key=ac_field, e.g. first_name=firstName", n, e))
			continue
		}
		norm, err := normalizeSource(source)
		if err != nil {
			errs = append(errs, fieldMapErr("entry %d %q: %v", n, e, err))
			continue
		}
		if err := checkTarget(target); err != nil {
			errs = append(errs, fieldMapErr("entry %d %q: %v", n, e, err))
			continue
		}
		if prev, dup := seen[strings.ToLower(target)]; dup {
			errs = append(errs, fieldMapErr("entry %d %q: target %q is already mapped by entry %d; map each WordPress field once", n, e, target, prev))
			continue
		}
		seen[strings.ToLower(target)] = n
		m = append(m, contactsync.Mapping{Target: target, Source: norm})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// EnvDecode implements envconfig.Decoder for FIELD_MAP.
func (m *FieldMap) EnvDecode(s string) error {
	parsed, err := ParseFieldMap(s)
	if err != nil {
		return err
	}
	*m = parsed
	return nil
}

// String returns the map in FIELD_MAP syntax; ParseFieldMap(m.String())
// gives m back.
func (m FieldMap) String() string {
	parts := make([]string, len(m))
	for i, fm := range m {
		parts[i] = mappingString(fm)
	}
	return strings.Join(parts, ",")
}

// mappingString returns one mapping as "target=source".
func mappingString(m contactsync.Mapping) string { return m.Target + "=" + m.Source }

// validate checks a FieldMap built in code the way ParseFieldMap checks
// parsed input: canonical sources, valid targets, no duplicate targets.
func (m FieldMap) validate() []error {
	var errs []error
	seen := make(map[string]bool)
	for i, fm := range m {
		n := i + 1
		if norm, err := normalizeSource(fm.Source); err != nil {
			errs = append(errs, fieldMapErr("entry %d %q: %v", n, mappingString(fm), err))
		} else if norm != fm.Source {
			errs = append(errs, fieldMapErr("entry %d %q: write the source as %q", n, mappingString(fm), norm))
		}
		if err := checkTarget(fm.Target); err != nil {
			errs = append(errs, fieldMapErr("entry %d %q: %v", n, mappingString(fm), err))
		}
		if seen[strings.ToLower(fm.Target)] {
			errs = append(errs, fieldMapErr("entry %d %q: target %q is mapped twice; map each WordPress field once", n, mappingString(fm), fm.Target))
		}
		seen[strings.ToLower(fm.Target)] = true
	}
	return errs
}

func fieldMapErr(format string, args ...any) error {
	return &Error{Var: "FIELD_MAP", Problem: fmt.Sprintf(format, args...)}
}

// normalizeSource returns the canonical spelling of an AC field reference.
func normalizeSource(s string) (string, error) {
	for _, std := range standardSources {
		if strings.EqualFold(s, std) {
			return std, nil
		}
	}
	const fieldPrefix = "field:"
	if len(s) >= len(fieldPrefix) && strings.EqualFold(s[:len(fieldPrefix)], fieldPrefix) {
		id, err := normalizeFieldID(s[len(fieldPrefix):])
		if err != nil {
			return "", err
		}
		return fieldPrefix + id, nil
	}
	if strings.HasPrefix(s, "%") {
		return normalizePersTag(s)
	}
	return "", fmt.Errorf("unknown AC field %q; %s", s, sourceHelp)
}

// normalizeFieldID checks a numeric custom field id and drops leading zeros.
func normalizeFieldID(id string) (string, error) {
	if id == "" || len(id) > 18 || strings.Trim(id, "0123456789") != "" {
		return "", fmt.Errorf("custom field id %q must be a number like 12", id)
	}
	n, _ := strconv.ParseUint(id, 10, 64) // at most 18 digits: cannot fail
	if n == 0 {
		return "", fmt.Errorf("custom field id %q must be a number like 12, not 0", id)
	}
	return strconv.FormatUint(n, 10), nil
}

// normalizePersTag checks "%TAG%" and upper-cases it.
func normalizePersTag(s string) (string, error) {
	if len(s) < 3 || !strings.HasPrefix(s, "%") || !strings.HasSuffix(s, "%") {
		return "", fmt.Errorf("personalization tag %q must look like %%COMPANY_SIZE%%", s)
	}
	tag := s[1 : len(s)-1]
	for _, r := range tag {
		if !isASCIIAlnum(r) && r != '_' && r != '-' {
			return "", fmt.Errorf("personalization tag %q may hold only letters, digits, _ and - between the %% signs", s)
		}
	}
	return "%" + strings.ToUpper(tag) + "%", nil
}

// checkTarget accepts a core user field or a valid meta key.
func checkTarget(t string) error {
	if contactsync.IsCoreField(t) {
		return nil
	}
	if lower := strings.ToLower(t); contactsync.IsCoreField(lower) {
		return fmt.Errorf("target %q differs from the core user field %s only in case; write %s", t, lower, lower)
	}
	if err := checkMetaKey(t); err != nil {
		return fmt.Errorf("target %q is neither a core user field nor a usable meta key: %v", t, err)
	}
	return nil
}

// checkMetaKey enforces the meta key rules shared by FIELD_MAP targets,
// TAGS_META_KEY and CONTACT_ID_META_KEY.
func checkMetaKey(k string) error {
	lower := strings.ToLower(k)
	switch {
	case k == "":
		return errors.New("a meta key must not be empty")
	case len(k) > 255:
		return errors.New("a meta key must be at most 255 characters")
	case strings.HasPrefix(k, "_"):
		return errors.New("a meta key must not start with _ (WordPress keeps those private)")
	case strings.HasPrefix(lower, "wp_"):
		return errors.New("a meta key must not start with wp_ (WordPress's own keys)")
	case strings.HasSuffix(lower, "capabilities"), strings.HasSuffix(lower, "user_level"), lower == "session_tokens":
		return errors.New("a meta key must not name capabilities, user levels or sessions")
	}
	for _, r := range k {
		if !isASCIIAlnum(r) && !strings.ContainsRune("_.:-", r) {
			return errors.New("a meta key may hold only letters, digits and _ . : -")
		}
	}
	return nil
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}
