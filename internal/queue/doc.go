// Package queue works stored webhooks with River: a webhook is committed
// (its row and its River job in one transaction) before it is acknowledged,
// rounds for one contact never run at the same time, and all pending
// webhooks of a contact are coalesced into one round. It owns retries,
// backoff, failure classes and pausing; the rows themselves live in
// package store.
//
// On PostgreSQL several processes share the queue: River's fetch hands each
// job to one of them, a contact's round also holds the database-wide
// store.DB.LockContact, and a job left running by a killed process is
// returned to the queue within seconds by the other replicas, which see that
// its replica's lock is gone (liveness.go); River's rescuer (JobTimeout plus
// 3 minutes) is the backstop.
// On SQLite one process owns the database, and Start resumes such jobs at
// once.
//
// The terms webhook, request, round, claimed, retry horizon and attempts
// are those of package webhook's glossary. SyncArgs is the River job of one
// webhook; its job runs a round unless an earlier round already covered its
// webhook. River's attempt limit never ends the work: the retry horizon
// does.
package queue
