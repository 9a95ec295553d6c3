// Package store keeps wpbridge's own tables: the stored webhooks and their
// outcomes (Webhooks), generated passwords not yet written to ActiveCampaign
// (Passwords) and records of wpbridge's own writes to ActiveCampaign, whose
// update webhooks are echoes (Echoes). The terms webhook, request, round and
// claimed are explained in the queue package's documentation.
//
// The currency is database/sql: a DB wraps one *sql.DB, and the calls that
// must commit together with other work (River's job insert) take a *sql.Tx.
// SQLite is the only backend today; everything specific to it (opening,
// locking, schema) is in sqlite.go, and the queries elsewhere are portable
// SQL whose ? placeholders a backend may rebind, so that a Postgres backend
// can sit beside it.
package store
