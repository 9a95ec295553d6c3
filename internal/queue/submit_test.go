package queue

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/internal/store"
)

// TestSubmitGroupCommit submits from many goroutines at once: every webhook
// gets its own id, its row and its job are committed, and all are worked.
func TestSubmitGroupCommit(t *testing.T) {
	e := startEnv(t, nil, nil, fastOptions())
	const n = 64
	ids := make([]int64, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := e.q.Submit(context.Background(), hook(fmt.Sprint(1000+i%16), contactsync.ActionUpdate))
			if err != nil {
				errs <- err
				return
			}
			ids[i] = o.WebhookID
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Submit: %v", err)
	}
	seen := map[int64]bool{}
	for _, id := range ids {
		if id == 0 || seen[id] {
			t.Fatalf("webhook ids not distinct and non-zero: %v", ids)
		}
		seen[id] = true
		if state, _ := e.jobOf(id); state == "" {
			t.Errorf("webhook %d has no job", id)
		}
	}
	for _, o := range e.waitFinal(ids...) {
		if o.State != store.StateDone && o.State != store.StateIgnored {
			t.Errorf("webhook %d ended %s: %s", o.WebhookID, o.State, o.Message)
		}
	}
	// 16 contacts: each is worked by at least one round.
	if calls := len(e.runner.Calls()); calls < 16 {
		t.Errorf("rounds = %d, want at least one per contact (16)", calls)
	}
}
