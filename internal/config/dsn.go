package config

import (
	"net/url"
	"regexp"
	"strings"
)

// redactedPassword replaces a password in a redacted connection string.
const redactedPassword = "xxxxx"

// dsnPassword matches a password-bearing key of a libpq key=value connection
// string with its value: bare, or single-quoted with backslash escapes.
var dsnPassword = regexp.MustCompile(`(?i)\b((?:ssl)?password)\s*=\s*('(?:[^'\\]|\\.)*'?|[^\s]*)`)

// RedactDSN returns a database connection string with every password in it
// replaced by "xxxxx": the URL's user password, any query parameter whose
// name holds "password" (libpq takes ?password= and ?sslpassword=), and the
// password and sslpassword values of a libpq key=value string. A URL that
// does not parse is not shown at all.
func RedactDSN(dsn string) string {
	if !strings.Contains(dsn, "://") {
		return dsnPassword.ReplaceAllString(dsn, "${1}="+redactedPassword)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "[unparseable database URL]"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), redactedPassword)
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if strings.Contains(strings.ToLower(k), "password") {
				q[k] = []string{redactedPassword}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}
