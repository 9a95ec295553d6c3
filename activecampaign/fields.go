package activecampaign

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Field is a custom contact field.
type Field struct {
	ID      string
	Title   string
	Type    string // e.g. "text", "date", "multiselect"
	Perstag string // personalisation tag without %, e.g. "COMPANY_SIZE"
}

// FieldsService handles the /fields endpoints and caches the field list.
type FieldsService struct {
	c *Client

	mu       sync.RWMutex
	fields   []Field // nil until the first successful load
	loadedAt time.Time

	loadSem chan struct{}
}

type fieldsEnvelope struct {
	Fields *[]struct {
		ID      flexString `json:"id"`
		Title   flexString `json:"title"`
		Type    flexString `json:"type"`
		Perstag flexString `json:"perstag"`
	} `json:"fields"`
}

// List returns all custom fields (every page of GET /fields?limit=100&offset=N). The
// list is cached after the first success; later calls cost no request.
func (s *FieldsService) List(ctx context.Context) ([]Field, error) {
	if fs := s.cached(); fs != nil {
		return fs, nil
	}
	if err := s.load(ctx, func() bool { return s.cached() == nil }); err != nil {
		return nil, err
	}
	return s.cached(), nil
}

// Resolve finds a field by reference: "12" by id; "%COMPANY_SIZE%" or "company_size" by
// personalisation tag, ignoring case. An unknown reference reloads the list (at most once
// per 30s) before failing with an error matching ErrNotFound.
func (s *FieldsService) Resolve(ctx context.Context, ref string) (*Field, error) {
	key := strings.Trim(strings.TrimSpace(ref), "%")
	if key == "" {
		return nil, fmt.Errorf("%w: empty field reference", ErrInvalidArgument)
	}
	fs, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	if f := find(fs, key); f != nil {
		return f, nil
	}
	err = s.load(ctx, func() bool {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return find(s.fields, key) == nil && s.c.now().Sub(s.loadedAt) >= reloadEvery
	})
	if err != nil {
		return nil, err
	}
	if f := find(s.cached(), key); f != nil {
		return f, nil
	}
	return nil, fmt.Errorf("%w: no custom field %q", ErrNotFound, key)
}

func find(fs []Field, key string) *Field {
	byID := ValidID(key)
	for i := range fs {
		if (byID && fs[i].ID == key) || (!byID && strings.EqualFold(fs[i].Perstag, key)) {
			f := fs[i]
			return &f
		}
	}
	return nil
}

// cached returns a copy of the cached list, or nil before the first load.
func (s *FieldsService) cached() []Field {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fields == nil {
		return nil
	}
	return append([]Field{}, s.fields...)
}

// load fetches all pages if need() still holds once this goroutine is the only loader.
func (s *FieldsService) load(ctx context.Context, need func() bool) error {
	select {
	case s.loadSem <- struct{}{}:
	case <-ctx.Done():
		return &Error{Method: http.MethodGet, Path: "/fields", Message: "wait for field cache: " + ctx.Err().Error(), err: ctx.Err()}
	}
	defer func() { <-s.loadSem }()
	if !need() {
		return nil
	}
	all := []Field{}
	for page := 0; page < maxPages; page++ {
		q := url.Values{"limit": {strconv.Itoa(pageSize)}, "offset": {strconv.Itoa(page * pageSize)}}
		cl := call{method: http.MethodGet, path: "/fields", query: q}
		var out fieldsEnvelope
		if err := s.c.do(ctx, cl, &out); err != nil {
			return err
		}
		if out.Fields == nil {
			return invalidBody(cl.method, cl.path, http.StatusOK, `no "fields" array`)
		}
		for _, f := range *out.Fields {
			if f.ID == "" {
				continue
			}
			all = append(all, Field{ID: string(f.ID), Title: string(f.Title), Type: string(f.Type),
				Perstag: strings.Trim(string(f.Perstag), "%")})
		}
		if len(*out.Fields) < pageSize {
			break
		}
	}
	s.mu.Lock()
	s.fields, s.loadedAt = all, s.c.now()
	s.mu.Unlock()
	return nil
}
