package activecampaign

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Tag is an ActiveCampaign tag.
type Tag struct {
	ID   string
	Name string
}

// MaxListLimit is the largest page AC serves on list endpoints.
const MaxListLimit = 100

// Find returns the tag named name (GET /tags?search=NAME, paged). AC's search
// matches substrings and AC compares tag names without regard to case, so a
// tag with exactly that name wins, else the first whose name differs only
// by case. It returns an error matching ErrNotFound when there is none. It
// does not use the id -> name cache.
func (s *TagsService) Find(ctx context.Context, name string) (*Tag, error) {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || strings.ContainsAny(name, "\x00\r\n") {
		return nil, fmt.Errorf("%w: empty or malformed tag name", ErrInvalidArgument)
	}
	var folded *Tag
	for page := 0; page < maxPages; page++ {
		q := url.Values{"search": {name}, "limit": {strconv.Itoa(pageSize)}, "offset": {strconv.Itoa(page * pageSize)}}
		cl := call{method: http.MethodGet, path: "/tags", query: q}
		var out tagsEnvelope
		if err := s.c.do(ctx, cl, &out); err != nil {
			return nil, err
		}
		if out.Tags == nil {
			return nil, invalidBody(cl.method, cl.path, http.StatusOK, `no "tags" array`)
		}
		for _, t := range *out.Tags {
			got := strings.TrimSpace(string(t.Tag))
			switch {
			case t.ID == "":
			case got == name:
				return &Tag{ID: string(t.ID), Name: string(t.Tag)}, nil
			case folded == nil && strings.EqualFold(got, name):
				folded = &Tag{ID: string(t.ID), Name: string(t.Tag)}
			}
		}
		if len(*out.Tags) < pageSize {
			break
		}
	}
	if folded != nil {
		return folded, nil
	}
	return nil, fmt.Errorf("%w: no tag named %q (GET /tags)", ErrNotFound, name)
}

type contactsPageEnvelope struct {
	Contacts *[]contactJSON `json:"contacts"`
	Meta     *struct {
		Total flexString `json:"total"`
	} `json:"meta"`
}

// ListByTag returns one page of the contacts holding tag tagID, in AC's
// order, and the number of such contacts (GET
// /contacts?tagid=ID&limit=N&offset=M, meta.total). limit is capped at
// MaxListLimit (AC's default, 20, when limit <= 0). The contacts carry no
// field values. Page until a page is shorter than limit.
func (s *ContactsService) ListByTag(ctx context.Context, tagID string, offset, limit int) ([]*Contact, int, error) {
	if err := checkID("tag", tagID); err != nil {
		return nil, 0, err
	}
	if offset < 0 {
		return nil, 0, fmt.Errorf("%w: negative offset", ErrInvalidArgument)
	}
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, MaxListLimit)
	q := url.Values{"tagid": {tagID}, "limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(offset)}}
	cl := call{method: http.MethodGet, path: "/contacts", query: q}
	var out contactsPageEnvelope
	if err := s.c.do(ctx, cl, &out); err != nil {
		return nil, 0, err
	}
	if out.Contacts == nil {
		return nil, 0, invalidBody(cl.method, cl.path, http.StatusOK, `no "contacts" array`)
	}
	total := -1
	if out.Meta != nil {
		if n, err := strconv.Atoi(string(out.Meta.Total)); err == nil && n >= 0 {
			total = n
		}
	}
	if total < 0 {
		return nil, 0, invalidBody(cl.method, cl.path, http.StatusOK, `no "meta.total" count`)
	}
	list := make([]*Contact, 0, len(*out.Contacts))
	for _, cj := range *out.Contacts {
		if cj.ID == "" {
			return nil, 0, invalidBody(cl.method, cl.path, http.StatusOK, "a contact without an id")
		}
		list = append(list, cj.toContact())
	}
	return list, total, nil
}
