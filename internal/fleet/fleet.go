// Package fleet is what the wpbridge processes working one database share
// through it: a lock per contact, so that no two processes run rounds for
// one contact at once; the pause of all work after rejected credentials;
// and each process's liveness, by which the jobs left running by a process
// that is gone go back to the queue.
//
// New picks the implementation from the database, the one place that
// looks at the backend. On SQLite one process owns the database: the
// contact lock is a no-op, the pause is this process's, and every job found
// running at start is an orphan. On PostgreSQL any number of replicas share
// it: the contact lock and the liveness are session advisory locks (lock.go,
// one implementation for both), the pause is kept in the database, and the
// Rescuer hands back the jobs of gone replicas (docs/liveness.md says why a
// lock, not a time limit).
package fleet

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/wpbridge/wpbridge/internal/maintenance"
	"github.com/wpbridge/wpbridge/internal/store"
)

// Fleet is this process's membership of the processes working one database.
type Fleet interface {
	// ID is this process's River client id, the one its liveness is held on.
	ID() string
	// CheckPool refuses a database pool too small for workers rounds at a
	// time beside what the fleet itself keeps.
	CheckPool(workers int) error
	// LockContact takes the database-wide lock on contactID without
	// waiting; ok is false when another holder has it. unlock gives it back.
	LockContact(ctx context.Context, contactID string) (unlock func(), ok bool, err error)
	// Pause stops every process's rounds for d from now (extending, never
	// shortening, a pause in force), saying why; Resume ends the pause and
	// returns the reason this process knew of ("" if none); Paused says how
	// much longer it lasts, and why.
	Pause(d time.Duration, reason string)
	Resume() (reason string)
	Paused(ctx context.Context) (time.Duration, string)
	// OutcomePoll is how often a caller waiting for a webhook reads its
	// outcome, since another process may finish it without telling this
	// one; 0 when this process works every webhook.
	OutcomePoll() time.Duration
	// Join makes this process a live worker and hands back the jobs left
	// running by processes that are gone, before its workers fetch any.
	Join(ctx context.Context) error
	// Rescuer is the service that keeps doing so while this process runs.
	Rescuer() maintenance.Service
	// Leave gives up the liveness, once no job of this process runs.
	Leave()
}

// New returns db's fleet.
func New(db *store.DB, log logrus.FieldLogger) Fleet {
	if db.Backend == store.PostgreSQL {
		return newPostgres(db, log)
	}
	return &local{db: db, id: newClientID(), log: log}
}
