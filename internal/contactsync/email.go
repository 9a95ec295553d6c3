package contactsync

// Email addresses: which ones WordPress accepts, and when two are the same.

import (
	"net/mail"
	"strings"
	"unicode/utf8"
)

// validEmail reports whether s is an address WordPress's is_email accepts (and
// a plain RFC 5322 address, nothing around it). WordPress refuses every
// non-ASCII character, so look-alikes such as "\u212Aate@example.com" (Kelvin
// sign) are invalid, never a second spelling of kate@example.com.
func validEmail(s string) bool {
	if !isEmail(s) {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// isEmail mirrors is_email in wp-includes/formatting.php (WordPress 6.1),
// without its filter: at least 6 bytes; a local part of letters, digits and
// !#$%&'*+/=?^_`{|}~.- before the first @; a domain of at least two
// dot-separated labels of letters, digits and hyphens, with no empty label
// and no label starting or ending with a hyphen.
func isEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if len(s) < 6 || !ok || local == "" {
		return false
	}
	for i := 0; i < len(local); i++ {
		if !isAlnumASCII(local[i]) && !strings.ContainsRune("!#$%&'*+/=?^_`{|}~.-", rune(local[i])) {
			return false
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if !isAlnumASCII(l[i]) && l[i] != '-' {
				return false
			}
		}
	}
	return true
}

func isAlnumASCII(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// sameEmail reports whether a and b are the same address: equal, or ASCII
// and equal but for the case of letters. strings.EqualFold alone would match
// "\u212Aate@example.com" (Kelvin sign) to "kate@example.com". (The API
// client packages and the rules share no code, so each has this line.)
func sameEmail(a, b string) bool {
	isASCII := func(s string) bool { return strings.IndexFunc(s, func(r rune) bool { return r >= utf8.RuneSelf }) < 0 }
	return a == b || (isASCII(a) && isASCII(b) && strings.EqualFold(a, b))
}
