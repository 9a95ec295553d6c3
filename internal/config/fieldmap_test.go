package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseFieldMap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    FieldMap
		wantErr string // substring; "" means success
	}{
		{name: "blank", in: "  ", want: nil},
		{name: "default", in: "first_name=firstName,last_name=lastName",
			want: FieldMap{{Target: "first_name", Source: "firstName"}, {Target: "last_name", Source: "lastName"}}},
		{name: "standard sources any case", in: "user_email=EMAIL, nickname = FirstName ,description=orgName,billing_phone=PHONE,last_name=lastname",
			want: FieldMap{{Target: "user_email", Source: "email"}, {Target: "nickname", Source: "firstName"}, {Target: "description", Source: "orgname"}, {Target: "billing_phone", Source: "phone"}, {Target: "last_name", Source: "lastName"}}},
		{name: "custom field by id", in: "company_size=field:12,user_pass=FIELD:007",
			want: FieldMap{{Target: "company_size", Source: "field:12"}, {Target: "user_pass", Source: "field:7"}}},
		{name: "perstag upper-cased", in: "role=%wp_role%,membership.level=%Level-2%",
			want: FieldMap{{Target: "role", Source: "%WP_ROLE%"}, {Target: "membership.level", Source: "%LEVEL-2%"}}},
		{name: "same source twice", in: "user_login=email,user_email=email",
			want: FieldMap{{Target: "user_login", Source: "email"}, {Target: "user_email", Source: "email"}}},
		{name: "meta key charset", in: "acme:plan-tier.v2=field:3",
			want: FieldMap{{Target: "acme:plan-tier.v2", Source: "field:3"}}},
		{name: "no equals", in: "first_name", wantErr: `entry 1 "first_name" must look like wp_key=ac_field`},
		{name: "empty source", in: "first_name=", wantErr: "must look like wp_key=ac_field"},
		{name: "empty target", in: "=email", wantErr: "must look like wp_key=ac_field"},
		{name: "empty entry", in: "first_name=firstName,,last_name=lastName", wantErr: "entry 2 is empty"},
		{name: "trailing comma", in: "first_name=firstName,", wantErr: "entry 2 is empty"},
		{name: "unknown source", in: "first_name=givenName", wantErr: `unknown AC field "givenName"`},
		{name: "field id not numeric", in: "x=field:abc", wantErr: `custom field id "abc"`},
		{name: "field id empty", in: "x=field:", wantErr: `custom field id ""`},
		{name: "field id zero", in: "x=field:0", wantErr: "not 0"},
		{name: "field id too long", in: "x=field:1234567890123456789", wantErr: "custom field id"},
		{name: "perstag bad char", in: "x=%A B%", wantErr: "personalization tag"},
		{name: "perstag unclosed", in: "x=%ABC", wantErr: "personalization tag"},
		{name: "perstag empty", in: "x=%%", wantErr: "personalization tag"},
		{name: "duplicate target", in: "first_name=firstName,first_name=lastName", wantErr: `target "first_name" is already mapped by entry 1`},
		{name: "duplicate target other case", in: "Billing_Phone=phone,billing_phone=phone", wantErr: `target "billing_phone" is already mapped by entry 1`},
		{name: "core field wrong case", in: "First_Name=firstName", wantErr: "differs from the core user field first_name only in case"},
		{name: "meta leading underscore", in: "_secret=email", wantErr: "must not start with _"},
		{name: "meta wp_ prefix", in: "wp_capabilities=email", wantErr: "must not start with wp_"},
		{name: "meta WP_ prefix", in: "WP_user_level=email", wantErr: "must not start with wp_"},
		{name: "meta capabilities", in: "site2_capabilities=email", wantErr: "capabilities"},
		{name: "meta session tokens", in: "session_tokens=email", wantErr: "sessions"},
		{name: "meta bad char", in: "my key=email", wantErr: "only letters, digits"},
		{name: "meta too long", in: strings.Repeat("k", 256) + "=email", wantErr: "at most 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseFieldMap(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseFieldMap(%q) = %v, want error containing %q", tt.in, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "FIELD_MAP: ") {
					t.Errorf("error = %q, want FIELD_MAP: ...%q...", err, tt.wantErr)
				}
				var e *Error
				if !errors.As(err, &e) || e.Var != "FIELD_MAP" {
					t.Errorf("errors.As(*Error) Var = %v, want FIELD_MAP", e)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFieldMap(%q): %v", tt.in, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseFieldMap(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			again, err := ParseFieldMap(got.String())
			if err != nil || !slices.Equal(again, got) {
				t.Errorf("round trip of %q = %v, %v", got.String(), again, err)
			}
		})
	}
}

func TestParseFieldMap_ReportsEveryEntry(t *testing.T) {
	t.Parallel()
	_, err := ParseFieldMap("a=nope,,first_name=firstName,first_name=email")
	if err == nil {
		t.Fatal("want error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Errorf("got %d lines, want 3:\n%v", len(lines), err)
	}
}

func TestFieldMap_EnvDecode(t *testing.T) {
	t.Parallel()
	var m FieldMap
	if err := m.EnvDecode("first_name=firstname"); err != nil {
		t.Fatal(err)
	}
	if want := (FieldMap{{Target: "first_name", Source: "firstName"}}); !slices.Equal(m, want) {
		t.Errorf("m = %v, want %v", m, want)
	}
	if err := m.EnvDecode("bad"); err == nil {
		t.Error("EnvDecode(bad): want error")
	}
	if len(m) != 1 {
		t.Errorf("failed decode changed the map to %v", m)
	}
}

func TestFieldMap_String(t *testing.T) {
	t.Parallel()
	m := FieldMap{{Target: "user_pass", Source: "field:9"}, {Target: "role", Source: "%ROLE%"}}
	if got, want := m.String(), "user_pass=field:9,role=%ROLE%"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func FuzzFieldMap(f *testing.F) {
	for _, s := range []string{
		"first_name=firstName,last_name=lastName",
		"user_pass=field:12,role=%wp_role%,billing.phone=PHONE",
		"a=b,,c", "=", ",", "x=%%", "x=field:00012", "first_name=email,first_name=email",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseFieldMap(s)
		if err != nil {
			return
		}
		again, err := ParseFieldMap(m.String())
		if err != nil {
			t.Fatalf("ParseFieldMap(%q) ok, but its String() %q fails: %v", s, m.String(), err)
		}
		if !slices.Equal(again, m) {
			t.Fatalf("round trip of %q: %v != %v", s, again, m)
		}
		if errs := m.validate(); len(errs) > 0 {
			t.Fatalf("parsed map %v does not validate: %v", m, errors.Join(errs...))
		}
	})
}
