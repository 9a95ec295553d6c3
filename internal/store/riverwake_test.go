package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
)

// blockingListener is a listener whose own notifications come from notes;
// WaitForNotification blocks until one comes or ctx ends.
type blockingListener struct {
	riverdriver.Listener // not called
	notes                chan *riverdriver.Notification
}

func (b *blockingListener) Listen(context.Context, string) error   { return nil }
func (b *blockingListener) Unlisten(context.Context, string) error { return nil }

func (b *blockingListener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	select {
	case n := <-b.notes:
		return n, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestWakeListener: a wake-up is delivered as River's insert notification
// while River listens to that topic, and dropped otherwise; the wrapped
// listener's own notifications still come through, one heard as a wake-up
// came included.
func TestWakeListener(t *testing.T) {
	inner := &blockingListener{notes: make(chan *riverdriver.Notification, 1)}
	db := &DB{wake: make(chan struct{}, 1)}
	l := &wakeListener{Listener: inner, wake: db.wake}
	ctx := context.Background()
	next := func(timeout time.Duration) (*riverdriver.Notification, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return l.WaitForNotification(ctx)
	}

	db.JobsInserted()
	if n, err := next(100 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("not listening to %s: got %+v, %v; want nothing", topicInsert, n, err)
	}

	if err := l.Listen(ctx, topicInsert); err != nil {
		t.Fatal(err)
	}
	db.JobsInserted()
	db.JobsInserted() // one pending wake-up covers both
	if n, err := next(5 * time.Second); err != nil || n.Topic != topicInsert || n.Payload != insertPayload {
		t.Fatalf("after a wake-up: %+v, %v", n, err)
	}
	if n, err := next(100 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second notification for one pending wake-up: %+v, %v", n, err)
	}

	leader := &riverdriver.Notification{Topic: "river_leadership", Payload: "{}"}
	inner.notes <- leader
	if n, err := next(5 * time.Second); err != nil || n != leader {
		t.Fatalf("the wrapped listener's notification: %+v, %v", n, err)
	}

	// Woken while the wrapped listener has one too: both come, in turn.
	held := &riverdriver.Notification{Topic: "river_control", Payload: "{}"}
	go func() {
		// The wake-up cancels the wrapped wait, which returns its
		// notification if it had one by then, or nothing.
		inner.notes <- held
	}()
	db.JobsInserted()
	var got []string
	for len(got) < 2 {
		n, err := next(5 * time.Second)
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, n.Topic)
	}
	if !(got[0] == topicInsert && got[1] == "river_control" || got[0] == "river_control" && got[1] == topicInsert) {
		t.Errorf("notifications = %v, want the insert and the control one", got)
	}

	if err := l.Unlisten(ctx, topicInsert); err != nil {
		t.Fatal(err)
	}
	db.JobsInserted()
	if n, err := next(100 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after Unlisten: got %+v, %v; want nothing", n, err)
	}
}
