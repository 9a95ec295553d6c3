// Package queue works stored webhooks with River: a webhook is committed
// (its row and its River job in one transaction) before it is acknowledged,
// rounds for one contact never run at the same time, and all pending
// webhooks of a contact are coalesced into one round. It owns retries,
// backoff, failure classes and pausing; the rows themselves live in
// package store.
//
// What the processes sharing a database coordinate (a contact's rounds on
// one process at a time, the pause of all work, handing back the jobs of a
// process that is gone) is package fleet's; whether a webhook is admitted
// and how long its caller waits is package admission's; the background
// cleaner is a maintenance service. River's rescuer (JobTimeout plus 3
// minutes) is the backstop of the fleet's rescue.
//
// The terms webhook, request, round, claimed, retry horizon and attempts
// are those of package webhook's glossary. SyncArgs is the River job of one
// webhook; its job runs a round unless an earlier round already covered its
// webhook. River's attempt limit never ends the work: the retry horizon
// does.
package queue
