package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/testing/wait"
	"github.com/wpbridge/wpbridge/wordpress"
)

// fakeSource is an outbox in memory; it records the order of calls.
type fakeSource struct {
	mu      sync.Mutex
	events  []wordpress.Event
	calls   *[]string
	pullErr error
	ackErr  error
	acked   int64
}

func (f *fakeSource) add(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	next := int64(1)
	if len(f.events) > 0 {
		next = f.events[len(f.events)-1].ID + 1
	}
	if f.acked >= next {
		next = f.acked + 1
	}
	for i := 0; i < n; i++ {
		f.events = append(f.events, wordpress.Event{ID: next + int64(i), Epoch: "e", Type: wordpress.EventRegister, UserID: 1})
	}
}

func (f *fakeSource) Pull(_ context.Context, after int64, limit int) ([]wordpress.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*f.calls = append(*f.calls, "pull")
	if f.pullErr != nil {
		return nil, f.pullErr
	}
	var out []wordpress.Event
	for _, ev := range f.events {
		if ev.ID > after && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (f *fakeSource) Ack(_ context.Context, upTo int64) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*f.calls = append(*f.calls, "ack")
	if f.ackErr != nil {
		return 0, f.ackErr
	}
	var keep []wordpress.Event
	for _, ev := range f.events {
		if ev.ID > upTo {
			keep = append(keep, ev)
		}
	}
	n := int64(len(f.events) - len(keep))
	f.events, f.acked = keep, max(f.acked, upTo)
	return n, nil
}

func (f *fakeSource) pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.events)
}

// dedupStore keeps events by Key, as a real store must; err fails Store.
type dedupStore struct {
	mu    sync.Mutex
	keys  map[string]bool
	order []string
	calls *[]string
	err   error
	seen  int // events handed in, duplicates included
}

func (s *dedupStore) Store(_ context.Context, events []wordpress.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	*s.calls = append(*s.calls, "store")
	if s.err != nil {
		return s.err
	}
	for _, ev := range events {
		s.seen++
		if !s.keys[Key(ev)] {
			s.keys[Key(ev)] = true
			s.order = append(s.order, Key(ev))
		}
	}
	return nil
}

func (s *dedupStore) stored() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.order)
}

func newPair() (*fakeSource, *dedupStore, *[]string) {
	calls := &[]string{}
	return &fakeSource{calls: calls}, &dedupStore{keys: map[string]bool{}, calls: calls}, calls
}

func TestPuller_StoresBeforeAck(t *testing.T) {
	t.Parallel()
	src, st, calls := newPair()
	src.add(5)
	p := &Puller{Source: src, Store: st, Batch: 2}
	n, err := p.Drain(context.Background())
	if err != nil || n != 5 || st.stored() != 5 || src.pending() != 0 {
		t.Fatalf("Drain = %d, %v; stored %d, pending %d", n, err, st.stored(), src.pending())
	}
	want := []string{"pull", "store", "ack", "pull", "store", "ack", "pull", "store", "ack"}
	if len(*calls) != len(want) {
		t.Fatalf("calls = %v, want %v (the last batch is short: no extra pull)", *calls, want)
	}
	for i := range want {
		if (*calls)[i] != want[i] {
			t.Fatalf("calls = %v, want %v", *calls, want)
		}
	}
}

func TestPuller_StoreFailureAcksNothing(t *testing.T) {
	t.Parallel()
	src, st, calls := newPair()
	src.add(3)
	st.err = errors.New("disk full")
	p := &Puller{Source: src, Store: st}
	if _, err := p.Drain(context.Background()); err == nil {
		t.Fatal("Drain with a failing store succeeded")
	}
	if src.pending() != 3 {
		t.Errorf("events acknowledged although not stored: %d left", src.pending())
	}
	for _, c := range *calls {
		if c == "ack" {
			t.Errorf("ack after a failed store: %v", *calls)
		}
	}
	st.err = nil // the store is back: the next drain stores them
	if n, err := p.Drain(context.Background()); err != nil || n != 3 || src.pending() != 0 {
		t.Errorf("second Drain = %d, %v; pending %d", n, err, src.pending())
	}
}

// A crash (here: a failed acknowledgement) between store and ack: the batch
// comes again, the store sees it twice and keeps it once; nothing is lost.
func TestPuller_AckFailureRepullsAndStoreDedupes(t *testing.T) {
	t.Parallel()
	src, st, _ := newPair()
	src.add(3)
	src.ackErr = errors.New("connection reset")
	p := &Puller{Source: src, Store: st}
	if _, err := p.Drain(context.Background()); err == nil {
		t.Fatal("Drain with a failing ack succeeded")
	}
	src.ackErr = nil
	src.add(1)
	if _, err := p.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st.seen != 7 || st.stored() != 4 || src.pending() != 0 {
		t.Errorf("handed in %d, stored %d, pending %d; want 7, 4, 0", st.seen, st.stored(), src.pending())
	}
}

func TestPuller_RunPollsUntilCancelled(t *testing.T) {
	t.Parallel()
	src, st, calls := newPair()
	src.pullErr = errors.New("WordPress down") // a failing pull is logged and tried again
	p := &Puller{Source: src, Store: st, Poll: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	pulls := func() int {
		src.mu.Lock()
		defer src.mu.Unlock()
		return len(*calls)
	}
	wait.For(t, 5*time.Second, "two failed pulls", func() (bool, string) { return pulls() >= 2, fmt.Sprint(pulls(), " pulls") })
	src.mu.Lock()
	src.pullErr = nil
	src.mu.Unlock()
	src.add(2) // recorded while the puller runs: picked up at a later tick
	wait.For(t, 5*time.Second, "2 events stored", func() (bool, string) { return st.stored() == 2, fmt.Sprint(st.stored(), " stored") })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestPuller_NeedsSourceAndStore(t *testing.T) {
	t.Parallel()
	if _, err := (&Puller{}).Drain(context.Background()); err == nil {
		t.Error("a Puller without Source and Store drained")
	}
}
