package activecampaign

import (
	"strings"
	"testing"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"short", "abc", 5, "abc"},
		{"exact", "abcde", 5, "abcde"},
		{"long", "abcdef", 5, "abcde…"},
		{"cut after a rune", "abcdé", 4, "abcd…"},
		{"cut splits é", "abcdé!", 5, "abcd…"},
		{"cut splits €", "ab€cd", 4, "ab…"},
		{"cut splits 4-byte rune", "a😀bc", 4, "a…"},
		{"whole 4-byte rune kept", "a😀bc", 5, "a😀…"},
		{"invalid byte kept", "ab\xffcd", 3, "ab\xff…"},
		{"empty cut", "abc", 0, "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Truncate(tt.in, tt.n); got != tt.want {
				t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

func TestStatusErrorMessageIsTruncated(t *testing.T) {
	body := `{"message":"a` + strings.Repeat("é", maxMessageLen) + `"}` // the cut splits an é
	e := newStatusError("GET", "/contacts/{id}", 500, nil, []byte(body))
	if want := "a" + strings.Repeat("é", maxMessageLen/2-1) + "…"; e.Message != want {
		t.Errorf("Message = %q (%d bytes), want %d bytes", e.Message, len(e.Message), len(want))
	}
}
