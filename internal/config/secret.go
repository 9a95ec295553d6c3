package config

import (
	"fmt"
	"io"
)

const redacted = "[redacted]"

// Secret is a string that never prints its value: String, GoString,
// MarshalJSON and every fmt verb give [redacted]. Call Reveal only where the
// value is sent (an HTTP header, a comparison).
type Secret string

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns `"[redacted]"`.
func (s Secret) GoString() string { return `"` + redacted + `"` }

// MarshalJSON encodes the secret as the JSON string "[redacted]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// Format prints [redacted] for every verb (quoted for %q and %#v), so that
// %x, %s, %v or %+v of a struct holding a Secret never show its value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	_, _ = io.WriteString(f, redacted)
}
