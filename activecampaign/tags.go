package activecampaign

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// reloadEvery is the minimum time between two full reloads of a cached list.
const reloadEvery = 30 * time.Second

// pageSize is the limit used when listing tags and fields.
const pageSize = 100

// maxPages stops a paging loop against a misbehaving server.
const maxPages = 1000

// TagsService handles the /tags endpoints and caches tag id -> name.
type TagsService struct {
	c *Client

	mu       sync.RWMutex
	names    map[string]string
	loadedAt time.Time // last successful full load

	loadSem chan struct{} // one loader at a time; waits respect ctx
}

type tagJSON struct {
	ID  flexString `json:"id"`
	Tag flexString `json:"tag"`
}

type tagsEnvelope struct {
	Tags *[]tagJSON `json:"tags"`
}

type tagEnvelope struct {
	Tag *tagJSON `json:"tag"`
}

// Names returns the names of the tags ids, in the same order. Names come from a
// goroutine-safe cache; on a miss it loads all tags (GET /tags?limit=100&offset=N, at
// most once per 30s), then GET /tags/{id} for any id still unknown. Ids whose tag no
// longer exists (404) are left out of the result.
func (s *TagsService) Names(ctx context.Context, ids []string) ([]string, error) {
	for _, id := range ids {
		if err := checkID("tag", id); err != nil {
			return nil, err
		}
	}
	if s.missing(ids) != nil {
		if err := s.fill(ctx, ids); err != nil {
			return nil, err
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		if n, ok := s.names[id]; ok {
			names = append(names, n)
		}
	}
	return names, nil
}

// missing returns the ids not in the cache.
func (s *TagsService) missing(ids []string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, id := range ids {
		if _, ok := s.names[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// fill loads what is missing, one loader at a time.
func (s *TagsService) fill(ctx context.Context, ids []string) error {
	select {
	case s.loadSem <- struct{}{}:
	case <-ctx.Done():
		return &Error{Method: http.MethodGet, Path: "/tags", Message: "wait for tag cache: " + ctx.Err().Error(), err: ctx.Err()}
	}
	defer func() { <-s.loadSem }()

	miss := s.missing(ids) // another goroutine may have loaded them meanwhile
	if len(miss) == 0 {
		return nil
	}
	s.mu.RLock()
	stale := s.loadedAt.IsZero() || s.c.now().Sub(s.loadedAt) >= reloadEvery
	s.mu.RUnlock()
	if stale {
		if err := s.loadAll(ctx); err != nil {
			return err
		}
		if miss = s.missing(ids); len(miss) == 0 {
			return nil
		}
	}
	for _, id := range miss {
		cl := call{method: http.MethodGet, path: "/tags/{id}", params: map[string]string{"id": id}}
		var out tagEnvelope
		err := s.c.do(ctx, cl, &out)
		if errors.Is(err, ErrNotFound) {
			continue // tag deleted since it was attached
		}
		if err != nil {
			return err
		}
		if out.Tag == nil || out.Tag.ID == "" {
			return invalidBody(cl.method, cl.path, http.StatusOK, `no "tag" with an id`)
		}
		s.mu.Lock()
		s.names[string(out.Tag.ID)] = string(out.Tag.Tag)
		s.mu.Unlock()
	}
	return nil
}

// loadAll pages through GET /tags and merges every tag into the cache.
func (s *TagsService) loadAll(ctx context.Context) error {
	for page := 0; page < maxPages; page++ {
		q := url.Values{"limit": {strconv.Itoa(pageSize)}, "offset": {strconv.Itoa(page * pageSize)}}
		cl := call{method: http.MethodGet, path: "/tags", query: q}
		var out tagsEnvelope
		if err := s.c.do(ctx, cl, &out); err != nil {
			return err
		}
		if out.Tags == nil {
			return invalidBody(cl.method, cl.path, http.StatusOK, `no "tags" array`)
		}
		s.mu.Lock()
		for _, t := range *out.Tags {
			if t.ID != "" {
				s.names[string(t.ID)] = string(t.Tag)
			}
		}
		s.mu.Unlock()
		if len(*out.Tags) < pageSize {
			break
		}
	}
	s.mu.Lock()
	s.loadedAt = s.c.now()
	s.mu.Unlock()
	return nil
}
