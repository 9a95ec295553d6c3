package fleet

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/store"
	"github.com/wpbridge/wpbridge/internal/testing/pgtest"
	"github.com/wpbridge/wpbridge/internal/testing/wait"
)

// Each queue has a River client id of its own, the one it holds its
// replica lock on.
func TestClientIDs(t *testing.T) {
	a, b := newClientID(), newClientID()
	if a == b || !strings.HasPrefix(a, clientIDPrefix) || len(a) > 100 {
		t.Errorf("client ids %q and %q: want distinct, prefixed, at most 100 characters", a, b)
	}
}

// A replica whose liveness lock's connection was lost while it kept running takes the
// lock again once the database is back, so that its jobs count as live again.
func TestPostgresLivenessRetaken(t *testing.T) {
	u := pgtest.SchemaURL(t)
	proxy, viaProxy := pgtest.NewProxy(t, u)
	ctx := context.Background()
	open := func(u string) *store.DB {
		db, err := store.OpenPostgres(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a := newPostgres(open(viaProxy), logrus.New())
	other := open(u) // only its pool is used
	cut := false
	t.Cleanup(func() { // before a closes
		if cut {
			proxy.Restore()
		}
	})
	if err := a.Join(ctx); err != nil {
		t.Fatal(err)
	}
	a.Rescuer().Start(ctx)
	t.Cleanup(func() { a.Rescuer().Stop(); a.Leave() })
	held := func() bool {
		tx, err := other.SQL.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback() //nolint:errcheck // only a transaction-level lock to release
		var free bool
		if err := tx.QueryRow(`SELECT pg_try_advisory_xact_lock($1, hashtext($2))`, livenessClass, a.id).Scan(&free); err != nil {
			t.Fatal(err)
		}
		return !free
	}
	if !held() {
		t.Fatal("the replica lock is not held after Start")
	}
	proxy.Cut()
	cut = true
	wait.For(t, 20*time.Second, "the lock to go with the session", func() (bool, string) {
		return !held(), "still held"
	})
	proxy.Restore()
	cut = false
	wait.For(t, 30*time.Second, "the replica to take its lock again", func() (bool, string) {
		return held(), "not held"
	})
}
