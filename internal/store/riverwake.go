package store

import (
	"context"
	"sync"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// River's SQLite driver has no LISTEN/NOTIFY: its listener polls a table of
// notifications every 50 ms, and River's workers otherwise find new jobs by
// polling for them. wakeDriver is that driver with a listener that also
// hears this process's own inserts at once (DB.JobsInserted), so a lone
// webhook's job starts within a millisecond of its commit, and the workers
// can poll rarely (which costs CPU at idle). Everything else, the polled
// notifications included, is the driver's own.
type wakeDriver struct {
	*riversqlite.Driver
	wake chan struct{}
}

// topicInsert and insertPayload are River's notification of new jobs in
// the default queue (River's notifier and producer read them).
const (
	topicInsert   = "river_insert"
	insertPayload = `{"queue":"default"}`
)

func (d *wakeDriver) GetListener(params *riverdriver.GetListenenerParams) riverdriver.Listener {
	return &wakeListener{Listener: d.Driver.GetListener(params), wake: d.wake}
}

// JobsInserted tells this process's River workers that jobs were committed
// (a no-op on PostgreSQL, whose NOTIFY does it). It never waits.
func (db *DB) JobsInserted() {
	if db.wake == nil {
		return
	}
	select {
	case db.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// wakeListener delivers a river_insert notification on each wake-up, while
// River listens to that topic, besides the notifications of the listener it
// wraps.
type wakeListener struct {
	riverdriver.Listener
	wake <-chan struct{}

	mu        sync.Mutex
	listening bool                        // to topicInsert
	held      []*riverdriver.Notification // the wrapped listener's, heard during a wake-up
}

func (l *wakeListener) Listen(ctx context.Context, topic string) error {
	if err := l.Listener.Listen(ctx, topic); err != nil {
		return err
	}
	if topic == topicInsert {
		l.setListening(true)
	}
	return nil
}

func (l *wakeListener) Unlisten(ctx context.Context, topic string) error {
	if topic == topicInsert {
		l.setListening(false)
	}
	return l.Listener.Unlisten(ctx, topic)
}

func (l *wakeListener) setListening(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.listening = on
}

// WaitForNotification returns the next notification: a held one, a wake-up,
// or the wrapped listener's, whichever comes first.
func (l *wakeListener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	if n := l.next(); n != nil {
		return n, nil
	}
	type result struct {
		n   *riverdriver.Notification
		err error
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inner := make(chan result, 1)
	go func() {
		n, err := l.Listener.WaitForNotification(wctx)
		inner <- result{n, err}
	}()
	for {
		select {
		case r := <-inner:
			return r.n, r.err
		case <-l.wake:
			if !l.isListening() {
				continue // River does not want it
			}
			cancel()
			if r := <-inner; r.err == nil && r.n != nil {
				l.hold(r.n) // heard as the wake-up came: next time
			}
			return &riverdriver.Notification{Topic: topicInsert, Payload: insertPayload}, nil
		}
	}
}

func (l *wakeListener) isListening() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.listening
}

func (l *wakeListener) hold(n *riverdriver.Notification) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held = append(l.held, n)
}

func (l *wakeListener) next() *riverdriver.Notification {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.held) == 0 {
		return nil
	}
	n := l.held[0]
	l.held = l.held[1:]
	return n
}
