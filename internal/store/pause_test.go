package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/wait"
)

// The work pause is seen, and ended, by every process.
func TestWorkPauseShared(t *testing.T) {
	dbs := openPostgresReplicas(t, 2)
	a, b := dbs[0], dbs[1]
	ctx := context.Background()
	if d, r, err := b.WorkPaused(ctx); err != nil || d != 0 || r != "" {
		t.Fatalf("WorkPaused before any pause = %v, %q, %v", d, r, err)
	}
	if err := a.PauseWork(ctx, time.Hour, "ActiveCampaign rejected the credentials"); err != nil {
		t.Fatal(err)
	}
	if err := a.PauseWork(ctx, time.Minute, "WordPress rejected the credentials"); err != nil {
		t.Fatal(err)
	}
	d, r, err := b.WorkPaused(ctx)
	if err != nil || d < 59*time.Minute || d > time.Hour || r != "WordPress rejected the credentials" {
		t.Fatalf("WorkPaused on the other process = %v, %q, %v; want about an hour, the last reason", d, r, err)
	}
	if err := b.ResumeWork(ctx); err != nil {
		t.Fatal(err)
	}
	if d, r, err := a.WorkPaused(ctx); err != nil || d != 0 || r != "" {
		t.Fatalf("WorkPaused after the other process resumed = %v, %q, %v", d, r, err)
	}
	if err := a.PauseWork(ctx, time.Millisecond, "short"); err != nil {
		t.Fatal(err)
	}
	wait.For(t, 10*time.Second, "the short pause to end", func() (bool, string) {
		d, _, err := b.WorkPaused(ctx)
		return err == nil && d == 0, fmt.Sprintf("WorkPaused = %v, %v", d, err)
	})
}
