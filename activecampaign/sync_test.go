package activecampaign

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestContactsSync(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		in          ContactSync
		status      int
		answer      string
		wantBody    string // "" = no request expected
		wantID      string
		wantCreated bool
		wantErr     error
		wantCode    string
	}{
		{
			name:   "created",
			in:     ContactSync{Email: " ann@example.com ", FirstName: String("Ann"), FieldValues: map[string]string{"12": "Blue", "3": ""}},
			status: 201, answer: `{"fieldValues":[{"contact":"42","field":"12","value":"Blue","id":"7"}],"contact":{"email":"ann@example.com","firstName":"Ann","id":"42"}}`,
			wantBody: `{"contact":{"email":"ann@example.com","firstName":"Ann","fieldValues":[{"field":"3","value":""},{"field":"12","value":"Blue"}]}}`,
			wantID:   "42", wantCreated: true,
		},
		{
			name:   "updated, empty last name clears it",
			in:     ContactSync{Email: "bob@example.com", LastName: String("")},
			status: 200, answer: `{"contact":{"email":"bob@example.com","id":"9"}}`,
			wantBody: `{"contact":{"email":"bob@example.com","lastName":""}}`,
			wantID:   "9",
		},
		{
			name:   "422 duplicate",
			in:     ContactSync{Email: "dup@example.com"},
			status: 422, answer: `{"errors":[{"title":"Email address already exists in the system","detail":"","code":"duplicate","source":{"pointer":"/data/attributes/email"}}]}`,
			wantBody: `{"contact":{"email":"dup@example.com"}}`,
			wantCode: "duplicate",
		},
		{
			name:   "2xx without a contact",
			in:     ContactSync{Email: "x@example.com"},
			status: 200, answer: `{}`,
			wantBody: `{"contact":{"email":"x@example.com"}}`,
			wantCode: "",
		},
		{name: "no email", in: ContactSync{Email: " "}, wantErr: ErrInvalidArgument},
		{name: "bad field id", in: ContactSync{Email: "a@example.com", FieldValues: map[string]string{"%X%": "1"}}, wantErr: ErrInvalidArgument},
		{name: "bad utf-8", in: ContactSync{Email: "a@example.com", FirstName: String("\xff")}, wantErr: ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ac := newTestAC(t)
			var got string
			ac.mux.HandleFunc("POST /contact/sync", func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got = string(b)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.answer)
			})
			c, _ := ac.client(t)
			res, err := c.Contacts.Sync(context.Background(), tt.in)
			if tt.wantBody == "" {
				if !errors.Is(err, tt.wantErr) || ac.requests() != 0 {
					t.Fatalf("err = %v, requests %d; want %v before any request", err, ac.requests(), tt.wantErr)
				}
				return
			}
			if got != tt.wantBody {
				t.Errorf("body = %s\nwant   %s", got, tt.wantBody)
			}
			if tt.wantID == "" {
				var e *Error
				if !errors.As(err, &e) || e.Code != tt.wantCode || e.Temporary() != (tt.status < 300) {
					t.Fatalf("err = %#v", err)
				}
				if strings.Contains(err.Error(), tt.in.Email) {
					t.Errorf("error names the email: %v", err)
				}
				return
			}
			if err != nil || res.Contact.ID != tt.wantID || res.Created != tt.wantCreated {
				t.Fatalf("Sync = %+v, %v", res, err)
			}
			if tt.wantCreated && res.Contact.FieldValues["12"] != "Blue" {
				t.Errorf("field values = %v", res.Contact.FieldValues)
			}
		})
	}
}

func TestContactsSyncRateLimited(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	ac.mux.HandleFunc("POST /contact/sync", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"message":"Too Many Requests"}`)
	})
	c, lim := ac.client(t)
	_, err := c.Contacts.Sync(context.Background(), ContactSync{Email: "a@example.com"})
	var e *Error
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &e) || e.RetryAfter.Seconds() != 30 || !e.Temporary() {
		t.Fatalf("err = %v", err)
	}
	if len(lim.pauses) != 1 || lim.pauses[0].Seconds() != 30 {
		t.Errorf("pauses = %v, want [30s]", lim.pauses)
	}
}

func TestContactTagsAddRemove(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	var added map[string]map[string]string
	var deleted []string
	ac.mux.HandleFunc("POST /contactTags", func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&added)
		w.WriteHeader(201)
		io.WriteString(w, `{"contactTag":{"contact":"42","tag":"20","cdate":"2026-01-01T00:00:00-06:00","id":"55","links":{}}}`)
	})
	ac.handle("GET /contacts/42/contactTags", 200, `{"contactTags":[{"contact":"42","tag":"21","id":"56"},{"contact":"42","tag":"20","id":"55"}]}`)
	ac.mux.HandleFunc("DELETE /contactTags/{id}", func(w http.ResponseWriter, r *http.Request) {
		deleted = append(deleted, r.PathValue("id"))
		io.WriteString(w, `{}`)
	})
	c, _ := ac.client(t)
	ctx := context.Background()
	link, err := c.Contacts.AddTag(ctx, "42", "20")
	if err != nil || link != "55" || added["contactTag"]["contact"] != "42" || added["contactTag"]["tag"] != "20" {
		t.Fatalf("AddTag = %q, %v; body %v", link, err, added)
	}
	if err := c.Contacts.RemoveTag(ctx, "42", "20"); err != nil || len(deleted) != 1 || deleted[0] != "55" {
		t.Fatalf("RemoveTag: %v, deleted %v", err, deleted)
	}
	if err := c.Contacts.RemoveTag(ctx, "42", "99"); err != nil || len(deleted) != 1 {
		t.Fatalf("RemoveTag of a tag the contact lacks: %v, deleted %v", err, deleted)
	}
	if _, err := c.Contacts.AddTag(ctx, "42", "x"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("AddTag(bad tag id) = %v", err)
	}
}

func TestTagsEnsure(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	var creates int
	ac.mux.HandleFunc("GET /tags", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("search") {
		case "VIP":
			io.WriteString(w, `{"tags":[{"tag":"VIP","tagType":"contact","id":"20"}],"meta":{"total":"1"}}`)
		case "Raced":
			if creates > 0 {
				io.WriteString(w, `{"tags":[{"tag":"Raced","id":"31"}],"meta":{"total":"1"}}`)
				return
			}
			io.WriteString(w, `{"tags":[],"meta":{"total":"0"}}`)
		default:
			io.WriteString(w, `{"tags":[],"meta":{"total":"0"}}`)
		}
	})
	ac.mux.HandleFunc("POST /tags", func(w http.ResponseWriter, r *http.Request) {
		creates++
		var in struct {
			Tag struct{ Tag, TagType string } `json:"tag"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		if in.Tag.TagType != "contact" {
			t.Errorf("tagType = %q", in.Tag.TagType)
		}
		if in.Tag.Tag == "Raced" {
			w.WriteHeader(422)
			io.WriteString(w, `{"errors":[{"title":"The tag name already exists","detail":"","code":"duplicate"}]}`)
			return
		}
		w.WriteHeader(201)
		io.WriteString(w, `{"tag":{"tag":"`+in.Tag.Tag+`","tagType":"contact","id":"30"}}`)
	})
	c, _ := ac.client(t)
	ctx := context.Background()
	for _, tt := range []struct{ name, id string }{{"VIP", "20"}, {"New one", "30"}, {"Raced", "31"}} {
		if id, err := c.Tags.Ensure(ctx, tt.name); err != nil || id != tt.id {
			t.Errorf("Ensure(%q) = %q, %v; want %s", tt.name, id, err, tt.id)
		}
	}
	if names, err := c.Tags.Names(ctx, []string{"30"}); err != nil || len(names) != 1 || names[0] != "New one" {
		t.Errorf("the created tag is not cached: %v, %v", names, err)
	}
}

func TestSetListStatus(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	var body string
	ac.mux.HandleFunc("POST /contactLists", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		io.WriteString(w, `{"contacts":[{"id":"42"}],"contactList":{"contact":"42","list":"1","status":1,"id":"8"}}`)
	})
	c, _ := ac.client(t)
	if err := c.Contacts.SetListStatus(context.Background(), "42", "1", ListActive); err != nil {
		t.Fatal(err)
	}
	if body != `{"contactList":{"contact":"42","list":"1","status":1}}` {
		t.Errorf("body = %s", body)
	}
	if err := c.Contacts.SetListStatus(context.Background(), "42", "1", 3); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("status 3: %v", err)
	}
}

func TestContactsUpdateEmail(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	var body string
	ac.mux.HandleFunc("PUT /contacts/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "404" {
			w.WriteHeader(404)
			io.WriteString(w, `{"message":"No Result found for Subscriber with id 404"}`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		io.WriteString(w, `{"fieldValues":[],"contact":{"email":"new@example.com","id":"42"}}`)
	})
	c, _ := ac.client(t)
	got, err := c.Contacts.Update(context.Background(), "42", ContactSync{Email: "new@example.com", FirstName: String("Ann")})
	if err != nil || got.ID != "42" || got.Email != "new@example.com" {
		t.Fatalf("Update = %+v, %v", got, err)
	}
	if body != `{"contact":{"email":"new@example.com","firstName":"Ann"}}` {
		t.Errorf("body = %s", body)
	}
	if _, err := c.Contacts.Update(context.Background(), "404", ContactSync{Email: "new@example.com"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update of a gone contact: %v", err)
	}
}
