package contactsync

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestSanitizeLogin(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ann@example.com", "ann@example.com"},
		{"dave+tag@x.com", "davetag@x.com"},
		{"o'brien@x.com", "obrien@x.com"},
		{"Zoë Saldaña", "Zoe Saldana"}, // accents folded, as remove_accents does
		{"  José   Müller ", "Jose Muller"},
		{"<b>bob</b>_o'neil.x-y", "bob_oneil.x-y"},
		{"x%41y&amp;z", "xyz"},
		{"a_b.c-d@e", "a_b.c-d@e"},
		{"  two   spaces  here  ", "two spaces here"},
		{"tab\tgone", "tabgone"}, // strict sanitize_user drops the tab before collapsing spaces
		{"日本", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := SanitizeLogin(tt.in); got != tt.want {
				t.Errorf("SanitizeLogin(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRoleSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"customer", "customer"},
		{"Customer", "customer"},
		{"Gold Member", "gold_member"},
		{"  Gold   Member ", "gold_member"},
		{"||Customer||Subscriber||", "customer"},
		{"", ""},
		{"||||", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := RoleSlug(tt.in); got != tt.want {
				t.Errorf("RoleSlug(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSplitMulti(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"||Golf||Tennis||", []string{"Golf", "Tennis"}},
		{"||Golf||", []string{"Golf"}},
		{"Golf||Tennis", []string{"Golf", "Tennis"}},
		{"|| Golf || ||Tennis||", []string{"Golf", "Tennis"}},
		{"plain", []string{"plain"}},
		{"a, b", []string{"a, b"}},
		{"", nil},
		{"   ", nil},
		{"||||", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := splitMulti(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("splitMulti(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMetaValue(t *testing.T) {
	if got, ok := metaValue("||a||b||").([]string); !ok || !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("metaValue(multiselect) = %#v, want []string{a b}", metaValue("||a||b||"))
	}
	if got, ok := metaValue("plain").(string); !ok || got != "plain" {
		t.Errorf("metaValue(plain) = %#v, want \"plain\"", metaValue("plain"))
	}
}

var alnum = regexp.MustCompile(`^[A-Za-z0-9]*$`)

func TestGeneratePassword(t *testing.T) {
	for _, n := range []int{1, 12, 16, 64} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			pw, err := generatePassword(seededRand(7), n)
			if err != nil {
				t.Fatal(err)
			}
			if len(pw) != n {
				t.Errorf("length = %d, want %d", len(pw), n)
			}
			if !alnum.MatchString(pw) {
				t.Error("password has characters other than letters and digits")
			}
			again, _ := generatePassword(seededRand(7), n)
			if again != pw {
				t.Error("same random source gave a different password")
			}
		})
	}
	t.Run("uses the alphabet", func(t *testing.T) {
		pw, err := generatePassword(seededRand(3), 2000)
		if err != nil {
			t.Fatal(err)
		}
		for _, set := range []string{"abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"} {
			if !strings.ContainsAny(pw, set) {
				t.Errorf("2000 characters and none of %q", set)
			}
		}
	})
	t.Run("differs by source", func(t *testing.T) {
		a, _ := generatePassword(seededRand(1), 16)
		b, _ := generatePassword(seededRand(2), 16)
		if a == b {
			t.Error("different random sources gave the same password")
		}
	})
	t.Run("reader error", func(t *testing.T) {
		if _, err := generatePassword(bytes.NewReader(nil), 16); !errors.Is(err, io.EOF) {
			t.Errorf("err = %v, want io.EOF wrapped", err)
		}
	})
}

func TestRandomInt(t *testing.T) {
	r := seededRand(9)
	for range 500 {
		n, err := randomInt(r, 1, 999)
		if err != nil {
			t.Fatal(err)
		}
		if n < 1 || n > 999 {
			t.Fatalf("randomInt(1, 999) = %d", n)
		}
	}
}

func TestPolicy_allows(t *testing.T) {
	p := testPolicy()
	p.DefaultRole = "member"
	p.AllowedRoles = append(p.AllowedRoles, "administrator") // refused even if configured
	tests := []struct {
		role string
		want bool
	}{
		{"subscriber", true},
		{"customer", true},
		{"member", true}, // DEFAULT_ROLE is always allowed
		{"editor", false},
		{"administrator", false},
		{"Subscriber", false}, // role slugs are compared exactly
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			if got := p.Allows(tt.role); got != tt.want {
				t.Errorf("allows(%q) = %v, want %v", tt.role, got, tt.want)
			}
		})
	}
}

func TestPolicy_unmanaged(t *testing.T) {
	p := testPolicy()
	p.DefaultRole = "member"
	tests := []struct {
		name string
		user User
		want string // substring of the reason; "" = managed
	}{
		{"subscriber", User{Roles: []string{"subscriber"}}, ""},
		{"two allowed roles", User{Roles: []string{"customer", "subscriber"}}, ""},
		{"default role", User{Roles: []string{"member"}}, ""},
		{"no role", User{}, "no role"},
		{"empty role list", User{Roles: []string{}}, "no role"},
		{"editor", User{Roles: []string{"editor"}}, "role editor"},
		{"administrator", User{Roles: []string{"administrator"}}, "role administrator"},
		{"one role not allowed", User{Roles: []string{"customer", "shop_manager"}}, "role shop_manager"},
		{"capability granted directly", User{Roles: []string{"subscriber"}, ExtraCaps: []string{"manage_options"}}, "beyond its roles (manage_options)"},
		{"harmless capability granted directly", User{Roles: []string{"subscriber"}, ExtraCaps: []string{"read_private_posts"}}, "beyond its roles"},
		{"allowed role holding an admin capability", User{Roles: []string{"customer"}, AdminCaps: []string{"unfiltered_html"}}, "admin-level capabilities (unfiltered_html)"},
		{"capabilities unknown", User{Roles: []string{"subscriber"}, CapsUnknown: true}, "did not report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.unmanaged(&tt.user)
			if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
				t.Errorf("unmanaged(%+v) = %q, want %q", tt.user, got, tt.want)
			}
		})
	}
}

func TestPolicy_chooseRole(t *testing.T) {
	p := testPolicy()
	p.AllowedRoles = append(p.AllowedRoles, "gold_member")
	tests := []struct {
		name, mapped, requested string
		want                    string
		warn                    bool
	}{
		{"default", "", "", "subscriber", false},
		{"url role", "", "customer", "customer", false},
		{"url role title", "", "Customer", "customer", false},
		{"mapped beats url", "gold_member", "customer", "gold_member", false},
		{"mapped title", "Gold Member", "", "gold_member", false},
		{"mapped multiselect first", "||Customer||Gold Member||", "", "customer", false},
		{"url not allowed", "", "editor", "subscriber", true},
		{"url administrator", "", "administrator", "subscriber", true},
		{"mapped administrator does not fall to url", "Administrator", "customer", "subscriber", true},
		{"mapped unknown", "ghost", "", "subscriber", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warning := p.chooseRole(tt.mapped, tt.requested)
			if got != tt.want {
				t.Errorf("role = %q, want %q", got, tt.want)
			}
			if (warning != "") != tt.warn {
				t.Errorf("warning = %q, want warning %v", warning, tt.warn)
			}
		})
	}
}

func TestPolicy_baseLogin(t *testing.T) {
	c := &Contact{ID: "1", Email: "dave+tag@x.com", FirstName: "Mary Ann", LastName: "O'Neil"}
	tests := []struct {
		name, format, mapped string
		contact              *Contact
		want                 string // regexp
		permanent            bool
	}{
		{"email", "email", "", c, `^davetag@x\.com$`, false},
		{"unknown format is email", "", "", c, `^davetag@x\.com$`, false},
		{"flname", "flname", "", c, `^MaryAnnONeil$`, false},
		{"fnamenum", "fnamenum", "", c, `^MaryAnn[1-9][0-9]{0,4}$`, false},
		{"flname without names", "flname", "", &Contact{ID: "1", Email: "a@x.com"}, `^a@x\.com$`, false},
		{"fnamenum without names", "fnamenum", "", &Contact{ID: "1", Email: "a@x.com"}, `^a@x\.com$`, false},
		{"mapped wins", "flname", "the+login", c, `^thelogin$`, false},
		{"mapped unusable", "email", "+++", c, `^davetag@x\.com$`, false},
		{"nothing usable", "email", "", &Contact{ID: "1", Email: "日本"}, ``, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy()
			p.UsernameFormat = tt.format
			got, err := p.baseLogin(seededRand(5), tt.contact, tt.mapped)
			if tt.permanent {
				if !errors.Is(err, ErrPermanent) {
					t.Fatalf("err = %v, want permanent", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(tt.want).MatchString(got) {
				t.Errorf("login = %q, want match %s", got, tt.want)
			}
		})
	}
}

func TestChange_IsEmpty(t *testing.T) {
	tests := []struct {
		name string
		ch   Change
		want bool
	}{
		{"zero", Change{}, true},
		{"empty maps", Change{Fields: map[string]string{}, Meta: map[string]any{}}, true},
		{"roles", Change{Roles: []string{"customer"}}, false},
		{"meta delete", Change{Meta: map[string]any{"k": nil}}, false},
		{"field", Change{Fields: map[string]string{"first_name": "A"}}, false},
		{"notification", Change{SendNotification: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ch.IsEmpty(); got != tt.want {
				t.Errorf("IsEmpty = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPermanent(t *testing.T) {
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	err := Permanent(errTransient)
	if !errors.Is(err, ErrPermanent) || !errors.Is(err, errTransient) {
		t.Errorf("Permanent(err) = %v: want both ErrPermanent and the cause", err)
	}
	if errors.Is(errTransient, ErrPermanent) {
		t.Error("plain error counts as permanent")
	}
}

func TestIsCoreField(t *testing.T) {
	for _, f := range CoreFields {
		if !IsCoreField(f) {
			t.Errorf("IsCoreField(%q) = false", f)
		}
	}
	for _, f := range []string{"phone_number", "billing_company", cidKey, tagsKey, "First_Name", "roles", ""} {
		if IsCoreField(f) {
			t.Errorf("IsCoreField(%q) = true", f)
		}
	}
}
