package store

import (
	"context"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/pgtest"
	"github.com/wpbridge/wpbridge/pkg/ratelimit"
)

var _ ratelimit.Ledger = (*ACBudget)(nil)

// openPostgresReplicas opens n handles on one fresh, migrated schema, as n
// processes sharing a database would.
func openPostgresReplicas(t *testing.T, n int) []*DB {
	t.Helper()
	u := pgtest.SchemaURL(t)
	var dbs []*DB
	for range n {
		db, err := OpenPostgres(context.Background(), u)
		if err != nil {
			t.Fatalf("OpenPostgres: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		dbs = append(dbs, db)
	}
	return dbs
}

func TestSharedPausesNeedPostgres(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	if b := db.ACBudget(); b != nil {
		t.Error("ACBudget on SQLite is not nil")
	}
	if ok, err := db.HasACBudget(ctx); ok || err != nil {
		t.Errorf("HasACBudget on SQLite = %v, %v", ok, err)
	}
	if err := db.PauseWork(ctx, time.Minute, "x"); err == nil {
		t.Error("PauseWork on SQLite: no error")
	}
	if _, _, err := db.WorkPaused(ctx); err == nil {
		t.Error("WorkPaused on SQLite: no error")
	}
}

// Slots are counted across processes: a full budget says how long until the
// first slot comes free; a slot freed or shortened by its holder is seen by
// the others.
func TestACBudgetSlots(t *testing.T) {
	dbs := openPostgresReplicas(t, 2)
	a, b := dbs[0].ACBudget(), dbs[1].ACBudget()
	ctx := context.Background()
	take := func(l *ACBudget, hold time.Duration) (int64, time.Duration) {
		t.Helper()
		slot, left, err := l.Take(ctx, 2, hold)
		if err != nil {
			t.Fatal(err)
		}
		return slot, left
	}
	s1, _ := take(a, time.Hour)
	s2, _ := take(b, 30*time.Minute)
	if s1 == 0 || s2 == 0 || s1 == s2 {
		t.Fatalf("slots %d and %d of a budget of 2, want two different ones", s1, s2)
	}
	if s, left := take(a, time.Hour); s != 0 || left < 29*time.Minute || left > 30*time.Minute {
		t.Fatalf("third slot = %d, left %v; want none, about 30m (the first to come free)", s, left)
	}
	if err := b.Hold(ctx, s2, 0); err != nil {
		t.Fatal(err)
	}
	s3, _ := take(a, time.Hour)
	if s3 == 0 {
		t.Fatal("no slot after the other process freed one")
	}
	if err := a.Hold(ctx, s1, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	s, left := take(b, time.Hour)
	if s != 0 || left <= 0 || left > 200*time.Millisecond {
		t.Fatalf("slot = %d, left %v; want none, at most 200ms (the shortened slot)", s, left)
	}
	time.Sleep(left) // the database says when: no guess
	if s, left := take(b, time.Hour); s == 0 {
		t.Fatalf("no slot once the shortened one ended (left %v)", left)
	}
}

// A slot that came free is held again by Hold, as when news of its later end
// arrives late.
func TestACBudgetHoldAgain(t *testing.T) {
	b := openPostgresReplicas(t, 1)[0].ACBudget()
	ctx := context.Background()
	s, _, err := b.Take(ctx, 1, time.Hour)
	if err != nil || s == 0 {
		t.Fatalf("Take = %d, %v", s, err)
	}
	if err := b.Hold(ctx, s, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Hold(ctx, s, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, left, err := b.Take(ctx, 1, time.Hour); err != nil || got != 0 || left < 59*time.Minute {
		t.Fatalf("Take = %d, left %v, %v; want none for about an hour", got, left, err)
	}
}

// A pause set by one process stops every process's Take, and a shorter pause
// does not shorten it.
func TestACBudgetPause(t *testing.T) {
	dbs := openPostgresReplicas(t, 2)
	a, b := dbs[0].ACBudget(), dbs[1].ACBudget()
	ctx := context.Background()
	if err := a.Pause(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := a.Pause(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	s, left, err := b.Take(ctx, 5, time.Second)
	if err != nil || s != 0 || left < 59*time.Minute || left > time.Hour {
		t.Fatalf("Take while paused = %d, left %v, %v; want none for about an hour", s, left, err)
	}
}

// The budget is there once the schema is migrated, not before.
func TestHasACBudget(t *testing.T) {
	db, err := OpenPostgres(context.Background(), pgtest.SchemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if ok, err := db.HasACBudget(ctx); ok || err != nil {
		t.Fatalf("HasACBudget before Migrate = %v, %v; want false", ok, err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.HasACBudget(ctx); !ok || err != nil {
		t.Fatalf("HasACBudget after Migrate = %v, %v; want true", ok, err)
	}
}
