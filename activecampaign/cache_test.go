package activecampaign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source for the 30s reload rule.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// pagedHandler serves n items ("id" 1..n, built by item) with limit/offset and counts calls.
func pagedHandler(t *testing.T, key string, n func() int, item func(i int) map[string]string, calls *int, mu *sync.Mutex) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		*calls++
		total := n()
		mu.Unlock()
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if limit != 100 {
			t.Errorf("limit = %d, want 100", limit)
		}
		list := []map[string]string{}
		for i := off + 1; i <= min(off+limit, total); i++ {
			list = append(list, item(i))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{key: list, "meta": map[string]string{"total": strconv.Itoa(total)}})
	}
}

func TestTagNamesCache(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	var mu sync.Mutex
	listCalls, oneCalls := 0, 0
	ntags := 150
	ac.handle("GET /contacts/{id}/contactTags", 200,
		`{"contactTags":[{"contact":"7","tag":"2","id":"55"},{"contact":"7","tag":"150","id":"56"}]}`)
	ac.mux.HandleFunc("GET /tags", pagedHandler(t, "tags", func() int { return ntags },
		func(i int) map[string]string {
			return map[string]string{"id": strconv.Itoa(i), "tag": fmt.Sprintf("T%d", i)}
		},
		&listCalls, &mu))
	ac.mux.HandleFunc("GET /tags/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		oneCalls++
		mu.Unlock()
		switch id := r.PathValue("id"); id {
		case "999":
			fmt.Fprintf(w, `{"tag":{"tag":"Late","tagType":"contact","id":"999"}}`)
		default:
			w.WriteHeader(404)
			fmt.Fprintf(w, `{"message":"No Result found for Tag with id %s"}`, id)
		}
	})
	c, lim := ac.client(t)
	clk := &clock{now: time.Unix(1e9, 0)}
	c.now = clk.Now
	ctx := context.Background()

	names, err := c.Contacts.TagNames(ctx, "7")
	if err != nil || !reflect.DeepEqual(names, []string{"T2", "T150"}) {
		t.Fatalf("TagNames = %q, %v", names, err)
	}
	if got := ac.requests(); got != 3 { // contactTags + 2 pages
		t.Errorf("cold requests = %d, want 3", got)
	}
	if _, err := c.Contacts.TagNames(ctx, "7"); err != nil {
		t.Fatal(err)
	}
	if got := ac.requests(); got != 4 {
		t.Errorf("warm TagNames cost %d requests, want 1", got-3)
	}
	if got, err := c.Tags.Names(ctx, []string{"150", "1"}); err != nil || !reflect.DeepEqual(got, []string{"T150", "T1"}) {
		t.Errorf("Names = %q, %v", got, err)
	}
	if got := ac.requests(); got != 4 {
		t.Errorf("cached Names cost %d requests, want 0", got-4)
	}

	// A miss within 30s of the load: no list reload, one GET /tags/{id}; 404 ids skipped.
	got, err := c.Tags.Names(ctx, []string{"999", "1", "404"})
	if err != nil || !reflect.DeepEqual(got, []string{"Late", "T1"}) {
		t.Errorf("Names = %q, %v", got, err)
	}
	if listCalls != 2 || oneCalls != 2 {
		t.Errorf("list, single calls = %d, %d; want 2, 2", listCalls, oneCalls)
	}

	// After 30s a miss reloads the list once, picking up new tags.
	clk.Add(31 * time.Second)
	mu.Lock()
	ntags = 151
	mu.Unlock()
	if got, err := c.Tags.Names(ctx, []string{"151"}); err != nil || !reflect.DeepEqual(got, []string{"T151"}) {
		t.Errorf("Names = %q, %v", got, err)
	}
	if listCalls != 4 || oneCalls != 2 {
		t.Errorf("list, single calls = %d, %d; want 4, 2", listCalls, oneCalls)
	}
	if lim.waits != ac.requests() {
		t.Errorf("limiter waits = %d, requests = %d; want equal", lim.waits, ac.requests())
	}
}

func TestTagNamesConcurrentSingleLoad(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	var mu sync.Mutex
	listCalls := 0
	ac.mux.HandleFunc("GET /tags", pagedHandler(t, "tags", func() int { return 30 },
		func(i int) map[string]string {
			return map[string]string{"id": strconv.Itoa(i), "tag": fmt.Sprintf("T%d", i)}
		},
		&listCalls, &mu))
	c, _ := ac.client(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := strconv.Itoa(i%30 + 1)
			if got, err := c.Tags.Names(context.Background(), []string{id}); err != nil || len(got) != 1 || got[0] != "T"+id {
				t.Errorf("Names(%s) = %q, %v", id, got, err)
			}
		}()
	}
	wg.Wait()
	if listCalls != 1 {
		t.Errorf("list loads = %d, want 1", listCalls)
	}
}

func TestFieldsCache(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	var mu sync.Mutex
	calls := 0
	nfields := 120
	ac.mux.HandleFunc("GET /fields", pagedHandler(t, "fields", func() int { return nfields },
		func(i int) map[string]string {
			return map[string]string{"id": strconv.Itoa(i), "title": fmt.Sprintf("Field %d", i), "type": "text",
				"perstag": fmt.Sprintf("F_%d", i)}
		}, &calls, &mu))
	c, lim := ac.client(t)
	clk := &clock{now: time.Unix(1e9, 0)}
	c.now = clk.Now
	ctx := context.Background()

	fs, err := c.Fields.List(ctx)
	if err != nil || len(fs) != 120 || fs[11] != (Field{ID: "12", Title: "Field 12", Type: "text", Perstag: "F_12"}) {
		t.Fatalf("List = %d fields, %v", len(fs), err)
	}
	if _, err := c.Fields.List(ctx); err != nil || calls != 2 {
		t.Errorf("second List: calls = %d, want 2 (0 new), err %v", calls, err)
	}
	for _, ref := range []string{"12", "%F_12%", "f_12", " F_12 "} {
		f, err := c.Fields.Resolve(ctx, ref)
		if err != nil || f.ID != "12" {
			t.Errorf("Resolve(%q) = %+v, %v", ref, f, err)
		}
	}
	if calls != 2 {
		t.Errorf("resolves cost %d requests, want 0", calls-2)
	}
	// Unknown within 30s: no reload.
	if _, err := c.Fields.Resolve(ctx, "%NOPE%"); !errors.Is(err, ErrNotFound) || calls != 2 {
		t.Errorf("Resolve(unknown) = %v with %d calls; want ErrNotFound, 2", err, calls)
	}
	// After 30s: one reload (2 pages), which finds a new field.
	clk.Add(31 * time.Second)
	mu.Lock()
	nfields = 121
	mu.Unlock()
	if f, err := c.Fields.Resolve(ctx, "F_121"); err != nil || f.ID != "121" || calls != 4 {
		t.Errorf("Resolve(new) = %+v, %v with %d calls; want id 121, 4 calls", f, err, calls)
	}
	if _, err := c.Fields.Resolve(ctx, "999"); !errors.Is(err, ErrNotFound) || calls != 4 {
		t.Errorf("Resolve(999) = %v with %d calls; want ErrNotFound, 4", err, calls)
	}
	if lim.waits != ac.requests() {
		t.Errorf("limiter waits = %d, requests = %d", lim.waits, ac.requests())
	}
}

func TestFieldsListErrorNotCached(t *testing.T) {
	t.Parallel()
	ac := newTestAC(t)
	fail := true
	ac.mux.HandleFunc("GET /fields", func(w http.ResponseWriter, r *http.Request) {
		if fail {
			w.WriteHeader(200) // empty 2xx body
			return
		}
		fmt.Fprint(w, `{"fields":[{"id":"1","perstag":"A"}],"meta":{"total":"1"}}`)
	})
	c, _ := ac.client(t)
	var e *Error
	if _, err := c.Fields.List(context.Background()); !errors.As(err, &e) || !e.Temporary() {
		t.Fatalf("err = %v, want temporary *Error", err)
	}
	fail = false
	if fs, err := c.Fields.List(context.Background()); err != nil || len(fs) != 1 {
		t.Errorf("List = %v, %v", fs, err)
	}
}
