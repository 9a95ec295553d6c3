package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestSecret(t *testing.T) {
	t.Parallel()
	const value = "hunter2-very-secret"
	s := Secret(value)
	if got := s.Reveal(); got != value {
		t.Errorf("Reveal() = %q, want %q", got, value)
	}

	holder := struct {
		Key  Secret
		Keys []Secret
		Ptr  *Secret
	}{s, []Secret{s, s}, &s}

	tests := []struct {
		name string
		got  string
		want string
	}{
		{"String", s.String(), "[redacted]"},
		{"GoString", s.GoString(), `"[redacted]"`},
		{"%v", fmt.Sprintf("%v", s), "[redacted]"},
		{"%s", fmt.Sprintf("%s", s), "[redacted]"},
		{"%q", fmt.Sprintf("%q", s), `"[redacted]"`},
		{"%#v", fmt.Sprintf("%#v", s), `"[redacted]"`},
		{"%x", fmt.Sprintf("%x", s), "[redacted]"},
		{"%10s", fmt.Sprintf("%10s", s), "[redacted]"},
		{"struct %+v", fmt.Sprintf("%+v", holder), "{Key:[redacted] Keys:[[redacted] [redacted]] Ptr:"},
		{"struct %#v", fmt.Sprintf("%#v", holder), `Key:"[redacted]", Keys:[]config.Secret{"[redacted]", "[redacted]"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(tt.got, tt.want) {
				t.Errorf("got %q, want it to contain %q", tt.got, tt.want)
			}
			if strings.Contains(tt.got, value) {
				t.Errorf("output %q leaks the secret", tt.got)
			}
		})
	}

	t.Run("JSON", func(t *testing.T) {
		t.Parallel()
		b, err := json.Marshal(holder)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), value) {
			t.Errorf("json %s leaks the secret", b)
		}
		if want := `"Key":"[redacted]"`; !strings.Contains(string(b), want) {
			t.Errorf("json = %s, want it to contain %s", b, want)
		}
	})
}
