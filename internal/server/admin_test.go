package server

import (
	"io"
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/metrics"
)

// fakeAdmin answers 200 "admin" on GET /admin/ and POST /admin/thing.
type fakeAdmin struct{}

func (fakeAdmin) Register(g *gin.RouterGroup) {
	ok := func(c *gin.Context) { c.String(http.StatusOK, "admin") }
	g.GET("/", ok)
	g.POST("/thing", ok)
}

func TestAdminMount(t *testing.T) {
	t.Parallel()
	log := logrus.New()
	log.SetOutput(io.Discard)
	newServer := func(a Admin) *Server {
		s, err := New(Options{AccessKeys: []string{"k"}, Admin: a}, &fakeQueue{}, log, metrics.Discard())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("Off", func(t *testing.T) {
		t.Parallel()
		s := newServer(nil)
		for _, r := range []struct{ method, path string }{
			{"GET", "/admin"}, {"GET", "/admin/"}, {"POST", "/admin/signin"}, {"GET", "/admin/api/webhooks"},
			{"POST", "/admin/api/webhooks/1/retry"}, {"GET", "/admin/river/"}, {"GET", "/admin/static/admin.css"},
		} {
			if rec := send(s, r.method, r.path, "", nil, nil); rec.Code != http.StatusNotFound {
				t.Errorf("%s %s with the admin page off = %d, want 404", r.method, r.path, rec.Code)
			}
		}
	})
	t.Run("On", func(t *testing.T) {
		t.Parallel()
		s := newServer(fakeAdmin{})
		for _, r := range []struct{ method, path string }{{"GET", "/admin/"}, {"POST", "/admin/thing"}} {
			if rec := send(s, r.method, r.path, "", nil, nil); rec.Code != http.StatusOK || rec.Body.String() != "admin" {
				t.Errorf("%s %s = %d %q, want 200 from the admin handler", r.method, r.path, rec.Code, rec.Body)
			}
		}
		if rec := send(s, "GET", "/healthz", "", nil, nil); rec.Code != http.StatusOK {
			t.Errorf("/healthz with the admin page on = %d", rec.Code)
		}
	})
}
