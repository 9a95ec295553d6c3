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
// Glossary (other packages refer to it):
//
//   - webhook: one HTTP call from ActiveCampaign, stored as one row
//     (store.Webhook) with its outcome (store.Outcome).
//   - request: contactsync.Request, the work asked for one contact; a
//     webhook carries one, and the webhooks of one round merge into one
//     (Request.Merge: password_reset covers add, which covers update,
//     which covers update_tags; between remove_access and add or
//     password_reset the later webhook wins).
//   - SyncArgs: the River job of one webhook. Its job runs a round unless an
//     earlier round already covered its webhook.
//   - round: one run of the rules (Runner, i.e. contactsync.Syncer) covering
//     every pending webhook of a contact. The webhook whose job runs the
//     round gets its result; the others end ignored, as duplicates covered
//     by it.
//   - claimed: the webhooks a running round has taken (store.Claimed). They
//     read as pending; a round that will be retried, or is interrupted,
//     releases them (hands them back to pending).
//   - retry horizon: how long a webhook's temporary failures are retried
//     (Options.RetryHorizon, RETRY_HORIZON), counted from its own arrival
//     or its last manual retry (wpbridge webhooks retry, Requeue). A round
//     that fails temporarily fails only the webhooks past their horizon;
//     the others are retried. River's attempt limit never ends the work.
//   - attempts: per webhook, the rounds that covered it and ended (done,
//     ignored, failed, or a temporary failure); waiting on a throttle or a
//     pause counts none.
package queue
