package activecampaign

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

var (
	// ErrNotFound matches a 404 answer (contact deleted or merged, unknown tag) and
	// look-ups that found nothing (FindByEmail, Fields.Resolve).
	ErrNotFound = errors.New("activecampaign: not found")
	// ErrUnauthorized matches 401 and 403 answers: bad or revoked API key, no permission.
	ErrUnauthorized = errors.New("activecampaign: unauthorized")
	// ErrRateLimited matches 429 and 503 answers; see Error.RetryAfter.
	ErrRateLimited = errors.New("activecampaign: rate limited")
	// ErrInvalidArgument is returned, before any request, for bad arguments such as an
	// empty or non-decimal id.
	ErrInvalidArgument = errors.New("activecampaign: invalid argument")
	// ErrInvalidWebhook is wrapped by ParseWebhook errors.
	ErrInvalidWebhook = errors.New("activecampaign: invalid webhook")
)

// maxMessageLen caps Error.Message so a large error body can't bloat logs.
const maxMessageLen = 300

// Error is a failed API call: a non-2xx answer (StatusCode set), a 2xx answer whose body
// is empty or unusable (StatusCode 0), or a transport error (StatusCode 0, timeout,
// connection refused, cancelled context; Unwrap gives the cause).
type Error struct {
	StatusCode int           // HTTP status; 0 for transport errors and invalid 2xx bodies
	Code       string        // first errors[].code of the body, e.g. "duplicate"
	Message    string        // from errors[].title/detail or message; never a secret or URL query
	Method     string        // e.g. "GET"
	Path       string        // path template without query, e.g. "/contacts/{id}"
	RetryAfter time.Duration // for 429 (Retry-After, default 1s) and 503 (default 1s)

	err error // underlying transport or context error
}

// Error implements error, e.g. "activecampaign: GET /contacts/{id}: 404: No Result found".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("activecampaign: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	b.WriteString(": ")
	if e.StatusCode != 0 {
		b.WriteString(strconv.Itoa(e.StatusCode))
		if e.Code != "" {
			b.WriteString(" (" + e.Code + ")")
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap returns the transport or context error behind a StatusCode 0 Error, if any.
func (e *Error) Unwrap() error { return e.err }

// Is maps status codes to the sentinel errors: 404 → ErrNotFound, 401/403 →
// ErrUnauthorized, 429/503 → ErrRateLimited.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusServiceUnavailable
	}
	return false
}

// Temporary reports whether retrying later may succeed: 429, any 5xx (incl. 503, 511),
// and StatusCode 0 (transport errors, empty or invalid 2xx bodies).
func (e *Error) Temporary() bool {
	return e.StatusCode == 0 || e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// flexString decodes a JSON string, or any other JSON value as its raw text.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	*f = flexString(b)
	return nil
}

// errorBody covers the error shapes ActiveCampaign sends (JSON:API list, simple message).
type errorBody struct {
	Errors []struct {
		Title  flexString `json:"title"`
		Detail flexString `json:"detail"`
		Code   flexString `json:"code"`
	} `json:"errors"`
	Message flexString `json:"message"`
}

// newStatusError builds an *Error from a non-2xx answer.
func newStatusError(method, path string, status int, header http.Header, body []byte) *Error {
	e := &Error{StatusCode: status, Method: method, Path: path}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil {
		for _, it := range eb.Errors {
			if e.Code == "" {
				e.Code = string(it.Code)
			}
			if e.Message == "" {
				msg := strings.TrimSpace(string(it.Title))
				if d := strings.TrimSpace(string(it.Detail)); d != "" && d != msg {
					if msg != "" {
						msg += ": "
					}
					msg += d
				}
				e.Message = msg
			}
		}
		if e.Message == "" {
			e.Message = strings.TrimSpace(string(eb.Message))
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	if e.Message == "" {
		e.Message = "unexpected status"
	}
	e.Message = Truncate(e.Message, maxMessageLen)
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		e.RetryAfter = parseRetryAfter(header.Get("Retry-After"), time.Now())
	}
	return e
}

// parseRetryAfter reads delta-seconds or an HTTP date; missing or invalid → 1s.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return time.Second
}

// Truncate shortens s to its first n bytes followed by "…", dropping a rune the cut
// would split; s is returned as is when it has at most n bytes. Error messages use it
// so that a large value cannot bloat logs or answers.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for i := len(s) - 1; i >= 0 && i > len(s)-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			if !utf8.FullRuneInString(s[i:]) {
				s = s[:i]
			}
			break
		}
	}
	return s + "…"
}

// invalidBody is the error for a 2xx answer whose body can't be used.
func invalidBody(method, path string, status int, what string) *Error {
	return &Error{Method: method, Path: path, Message: fmt.Sprintf("invalid response (HTTP %d): %s", status, what)}
}
