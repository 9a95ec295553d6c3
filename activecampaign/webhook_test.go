package activecampaign

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fixture bodies are byte-exact copies of shared/fixtures/activecampaign/*.txt.
func readFixture(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestParseWebhookFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file       string
		typ, from  string
		id, email  string
		tags       []string
		fieldKey   string
		fieldValue string
		nFields    int
	}{
		{
			file: "contact_tag_added.txt", typ: "contact_tag_added", from: "admin",
			id: "123456", email: "robert@example.com",
			tags:     []string{"[KRC] Registered for Challenge", "[KRC] Registered - 07/20/26", "[KRC] RFC START - 07/20/26"},
			fieldKey: "39", fieldValue: "11111111-2222-4333-8444-555555555555", nFields: 1,
		},
		{
			file: "automation.txt", id: "27760", email: "gil.payet@ulule.com",
			tags:     []string{"Clicksend Test"},
			fieldKey: "contact_owner", fieldValue: "Alice Pouillier", nFields: 5,
		},
		{
			file: "contact_tag_added_parsed.txt", typ: "contact_tag_added",
			id: "3", email: "code.test@gmail.com", tags: []string{"tag1", "tag2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			form, err := url.ParseQuery(readFixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			w, err := ParseWebhook(form)
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if w.Type != tt.typ || w.ContactID != tt.id || w.Email != tt.email {
				t.Errorf("type, id, email = %q, %q, %q; want %q, %q, %q", w.Type, w.ContactID, w.Email, tt.typ, tt.id, tt.email)
			}
			if tt.from != "" && w.InitiatedFrom != tt.from {
				t.Errorf("InitiatedFrom = %q, want %q", w.InitiatedFrom, tt.from)
			}
			if !reflect.DeepEqual(w.Tags, tt.tags) || !w.HasTags {
				t.Errorf("Tags = %q (HasTags %v), want %q", w.Tags, w.HasTags, tt.tags)
			}
			if len(w.Fields) != tt.nFields {
				t.Errorf("len(Fields) = %d, want %d: %q", len(w.Fields), tt.nFields, w.Fields)
			}
			if tt.fieldKey != "" && w.Fields[tt.fieldKey] != tt.fieldValue {
				t.Errorf("Fields[%q] = %q, want %q", tt.fieldKey, w.Fields[tt.fieldKey], tt.fieldValue)
			}
		})
	}
}

func TestParseWebhookCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		form    url.Values
		wantErr bool
		id      string
		tags    []string
		hasTags bool
		nFields int
	}{
		{name: "missing id is not an error", form: url.Values{"type": {"update"}}},
		{name: "empty tags value", form: url.Values{"contact[id]": {"5"}, "contact[tags]": {""}}, id: "5"},
		{name: "only separators", form: url.Values{"contact[id]": {"5"}, "contact[tags]": {" , , "}}, id: "5"},
		{name: "trimmed tags", form: url.Values{"contact[id]": {"5"}, "contact[tags]": {" a ,  b, , c"}}, id: "5",
			tags: []string{"a", "b", "c"}, hasTags: true},
		{name: "comma without space", form: url.Values{"contact[id]": {"5"}, "contact[tags]": {"a,b"}}, id: "5",
			tags: []string{"a,b"}, hasTags: true},
		{name: "20 digits", form: url.Values{"contact[id]": {"12345678901234567890"}}, id: "12345678901234567890"},
		{name: "21 digits", form: url.Values{"contact[id]": {"123456789012345678901"}}, wantErr: true},
		{name: "empty id present", form: url.Values{"contact[id]": {""}}, wantErr: true},
		{name: "non-decimal id", form: url.Values{"contact[id]": {"12a"}}, wantErr: true},
		{name: "negative id", form: url.Values{"contact[id]": {"-1"}}, wantErr: true},
		{name: "invalid utf-8", form: url.Values{"contact[id]": {"1"}, "contact[first_name]": {"\xff"}}, wantErr: true},
		{name: "NUL in value", form: url.Values{"contact[email]": {"a\x00b"}}, wantErr: true},
		{name: "NUL in key", form: url.Values{"x\x00": {"1"}}, wantErr: true},
		{name: "email of 254 characters", form: url.Values{"contact[id]": {"1"}, "contact[email]": {longEmail(254, "é")}}, id: "1"},
		{name: "email of 255 characters", form: url.Values{"contact[id]": {"1"}, "contact[email]": {longEmail(255, "a")}}, wantErr: true},
		{name: "email of 400 KB", form: url.Values{"contact[id]": {"1"}, "contact[email]": {longEmail(400_000, "a")}}, wantErr: true},
		{name: "500 tags", form: url.Values{"contact[id]": {"1"}, "contact[tags]": {tagList(500, "t")}}, id: "1",
			tags: strings.Split(tagList(500, "t"), ", "), hasTags: true},
		{name: "501 tags", form: url.Values{"contact[id]": {"1"}, "contact[tags]": {tagList(501, "t")}}, wantErr: true},
		{name: "100,000 tags", form: url.Values{"contact[id]": {"1"}, "contact[tags]": {tagList(100_000, "t")}}, wantErr: true},
		{name: "tag of 255 characters", form: url.Values{"contact[id]": {"1"}, "contact[tags]": {"a, " + strings.Repeat("ü", 255)}}, id: "1",
			tags: []string{"a", strings.Repeat("ü", 255)}, hasTags: true},
		{name: "tag of 256 characters", form: url.Values{"contact[id]": {"1"}, "contact[tags]": {"a, " + strings.Repeat("b", 256)}}, wantErr: true},
		{name: "empty field key ignored", form: url.Values{"contact[id]": {"1"}, "contact[fields][]": {"x"}, "contact[fields][a]": {"y"}},
			id: "1", nFields: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, err := ParseWebhook(tt.form)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidWebhook) {
					t.Fatalf("err = %v, want ErrInvalidWebhook", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w.ContactID != tt.id || w.HasTags != tt.hasTags || !reflect.DeepEqual(w.Tags, tt.tags) || len(w.Fields) != tt.nFields {
				t.Errorf("got id %q tags %q has %v fields %d; want %q %q %v %d",
					w.ContactID, w.Tags, w.HasTags, len(w.Fields), tt.id, tt.tags, tt.hasTags, tt.nFields)
			}
		})
	}
}

// longEmail returns an address of n characters whose local part repeats ch.
func longEmail(n int, ch string) string {
	const domain = "@example.com"
	return strings.Repeat(ch, n-len(domain)) + domain
}

// tagList returns a contact[tags] value naming n distinct tags.
func tagList(n int, prefix string) string {
	tags := make([]string, n)
	for i := range tags {
		tags[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return strings.Join(tags, ", ")
}

func FuzzParseWebhook(f *testing.F) {
	for _, name := range []string{"contact_tag_added.txt", "automation.txt", "contact_tag_added_parsed.txt"} {
		f.Add(readFixture(f, name))
	}
	f.Add("contact%5Bid%5D=&contact%5Btags%5D=%2C+")
	f.Fuzz(func(t *testing.T, body string) {
		form, _ := url.ParseQuery(body) // keep what parsed, like net/http does
		w, err := ParseWebhook(form)
		if err != nil {
			if !errors.Is(err, ErrInvalidWebhook) {
				t.Fatalf("error does not wrap ErrInvalidWebhook: %v", err)
			}
			return
		}
		if strings.Trim(w.ContactID, "0123456789") != "" || len(w.ContactID) > 20 {
			t.Fatalf("ContactID = %q", w.ContactID)
		}
		if w.HasTags != (len(w.Tags) > 0) {
			t.Fatalf("HasTags = %v with %d tags", w.HasTags, len(w.Tags))
		}
		for _, tag := range w.Tags {
			if tag == "" || tag != strings.TrimSpace(tag) {
				t.Fatalf("tag %q not trimmed", tag)
			}
			if utf8.RuneCountInString(tag) > MaxTagLength {
				t.Fatalf("tag of %d characters accepted", utf8.RuneCountInString(tag))
			}
		}
		if len(w.Tags) > MaxTags || utf8.RuneCountInString(w.Email) > MaxEmailLength {
			t.Fatalf("%d tags, email of %d characters accepted", len(w.Tags), utf8.RuneCountInString(w.Email))
		}
		if w.Fields == nil {
			t.Fatal("Fields is nil")
		}
	})
}
