package queue

import (
	"sync"

	"github.com/wpbridge/wpbridge/internal/webhook"
)

// contactLocks makes sure one contact has at most one round running.
type contactLocks struct {
	mu   sync.Mutex
	held map[string]bool
}

func (l *contactLocks) tryLock(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[id] {
		return false
	}
	l.held[id] = true
	return true
}

func (l *contactLocks) unlock(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.held, id)
}

// waiters lets requests wait for their webhook's outcome.
type waiters struct {
	mu sync.Mutex
	m  map[int64][]chan webhook.Outcome
}

func (w *waiters) add(id int64) chan webhook.Outcome {
	ch := make(chan webhook.Outcome, 1)
	w.mu.Lock()
	w.m[id] = append(w.m[id], ch)
	w.mu.Unlock()
	return ch
}

func (w *waiters) remove(id int64, ch chan webhook.Outcome) {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := w.m[id]
	for i, c := range list {
		if c == ch {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(w.m, id)
	} else {
		w.m[id] = list
	}
}

func (w *waiters) notify(outs []webhook.Outcome) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range outs {
		for _, ch := range w.m[o.WebhookID] {
			select {
			case ch <- o:
			default:
			}
		}
	}
}
