package activecampaign

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestContactsGet(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	ac.handle("GET /contacts/{id}", 200, `{"contact":{"id":"42","email":"a@example.com","firstName":"Ann",
		"lastName":"Lee","phone":"+1 555","orgname":"Acme","fieldValues":["7","8","9"]},
		"fieldValues":[{"contact":"42","field":"3","value":"Blue","id":"7"},
		{"contact":"42","field":"4","value":null,"id":"8"},
		{"contact":"42","field":"5","value":"||A||B||","id":"9"}],"contactLists":[]}`)
	c, lim := ac.client(t)
	got, err := c.Contacts.Get(context.Background(), "42")
	if err != nil {
		t.Fatal(err)
	}
	want := &Contact{ID: "42", Email: "a@example.com", FirstName: "Ann", LastName: "Lee", Phone: "+1 555",
		Orgname: "Acme", FieldValues: map[string]string{"3": "Blue", "4": "", "5": "||A||B||"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Get() = %+v, want %+v", got, want)
	}
	if ac.requests() != 1 || lim.waits != 1 {
		t.Errorf("requests, waits = %d, %d; want 1, 1", ac.requests(), lim.waits)
	}
}

func TestInvalidArgumentsSendNothing(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	c, _ := ac.client(t)
	ctx := context.Background()
	tests := []struct {
		name string
		run  func() error
	}{
		{"get empty", func() error { _, err := c.Contacts.Get(ctx, ""); return err }},
		{"get non-decimal", func() error { _, err := c.Contacts.Get(ctx, "12a"); return err }},
		{"get path", func() error { _, err := c.Contacts.Get(ctx, "../users/me"); return err }},
		{"tags empty", func() error { _, err := c.Contacts.TagNames(ctx, ""); return err }},
		{"set empty id", func() error { return c.Contacts.SetFieldValues(ctx, "", map[string]string{"1": "x"}) }},
		{"set bad field", func() error { return c.Contacts.SetFieldValues(ctx, "1", map[string]string{"PASSWORD": "x"}) }},
		{"set bad utf8", func() error { return c.Contacts.SetFieldValues(ctx, "1", map[string]string{"1": "\xff"}) }},
		{"find empty", func() error { _, err := c.Contacts.FindByEmail(ctx, " "); return err }},
		{"names bad id", func() error { _, err := c.Tags.Names(ctx, []string{"1", "x"}); return err }},
		{"resolve empty", func() error { _, err := c.Fields.Resolve(ctx, "%%"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("err = %v, want ErrInvalidArgument", err)
			}
		})
	}
	if n := ac.requests(); n != 0 {
		t.Errorf("requests = %d, want 0", n)
	}
}

func TestFindByEmail(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	ac.mux.HandleFunc("GET /contacts", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.RawQuery {
		case "email=Ann%2Btest%40Example.com":
			_, _ = io.WriteString(w, `{"contacts":[{"id":"8","email":"xann+test@example.com"},
				{"id":"9","email":"ann+test@example.com","firstName":"Ann"}],"meta":{"total":"2"}}`)
		case "email=nobody%40example.com":
			_, _ = io.WriteString(w, `{"contacts":[],"meta":{"total":"0"}}`)
		case "email=kate%40example.com": // a collation folding the Kelvin sign to k
			_, _ = io.WriteString(w, `{"contacts":[{"id":"3","email":"\u212Aate@example.com"}],"meta":{"total":"1"}}`)
		case "email=odd%40example.com":
			_, _ = io.WriteString(w, `{"meta":{"total":"0"}}`)
		default:
			t.Errorf("unexpected query %q", r.URL.RawQuery)
			w.WriteHeader(400)
		}
	})
	c, _ := ac.client(t)
	ctx := context.Background()
	got, err := c.Contacts.FindByEmail(ctx, "Ann+test@Example.com")
	if err != nil || got.ID != "9" || got.FirstName != "Ann" {
		t.Fatalf("FindByEmail = %+v, %v; want contact 9", got, err)
	}
	if _, err := c.Contacts.FindByEmail(ctx, "nobody@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("none: err = %v, want ErrNotFound", err)
	}
	if got, err := c.Contacts.FindByEmail(ctx, "kate@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("look-alike only: %+v, %v; want ErrNotFound", got, err)
	}
	var e *Error
	if _, err := c.Contacts.FindByEmail(ctx, "odd@example.com"); !errors.As(err, &e) || !e.Temporary() {
		t.Errorf("missing envelope: err = %v, want temporary *Error", err)
	}
}

func TestSetFieldValues(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	ac.mux.HandleFunc("PUT /contacts/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "42" {
			t.Errorf("id = %q", r.PathValue("id"))
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		var got, want any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &got)
		_ = json.Unmarshal([]byte(`{"contact":{"fieldValues":[{"field":"3","value":"x"},{"field":"12","value":"pw <&>"}]}}`), &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("body = %s", b)
		}
		_, _ = io.WriteString(w, `{"fieldValues":[],"contact":{"id":"42"}}`)
	})
	c, _ := ac.client(t)
	ctx := context.Background()
	if err := c.Contacts.SetFieldValues(ctx, "42", map[string]string{"12": "pw <&>", "3": "x"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Contacts.SetFieldValues(ctx, "42", nil); err != nil {
		t.Fatal(err)
	}
	if n := ac.requests(); n != 1 {
		t.Errorf("requests = %d, want 1 (empty map sends nothing)", n)
	}
}

func TestUsersMeMissingEnvelope(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	ac.handle("GET /users/me", 200, `{"users":[]}`)
	c, _ := ac.client(t)
	var e *Error
	if _, err := c.Users.Me(context.Background()); !errors.As(err, &e) || e.StatusCode != 0 || !e.Temporary() {
		t.Errorf("err = %v, want temporary *Error", err)
	}
}

// AC may quote a rejected value in its error; a written password or link
// never reaches the error message.
func TestSetFieldValuesErrorHidesValues(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	ac.mux.HandleFunc("PUT /contacts/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = io.WriteString(w, `{"errors":[{"title":"Field value is invalid","detail":"'Secret-Pw-123' is too long","code":"field_invalid"}]}`)
	})
	c, _ := ac.client(t)
	err := c.Contacts.SetFieldValues(context.Background(), "42", map[string]string{"12": "Secret-Pw-123"})
	if err == nil || strings.Contains(err.Error(), "Secret-Pw-123") || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("error = %v, want the value redacted", err)
	}
}
