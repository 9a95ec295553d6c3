// Package store keeps wpbridge's own tables: the stored webhooks and their
// outcomes (Webhooks), generated passwords not yet written to ActiveCampaign
// (Passwords) and records of wpbridge's own writes to ActiveCampaign, whose
// update webhooks are echoes (Echoes). The webhook history (List, Get,
// RetryTx in history.go) is what wpbridge webhooks shows and replays. The
// terms webhook, request, round, claimed and retry horizon are explained in
// the queue package's documentation.
//
// The currency is database/sql: a DB wraps one *sql.DB, and the calls that
// must commit together with other work (River's job insert) take a *sql.Tx.
// SQLite is the only backend today; everything specific to it is in
// sqlite.go (opening, locking) and sqlite_schema.go (the schema, versioned
// by PRAGMA user_version and upgraded in place). The queries elsewhere are
// portable SQL whose ? placeholders a backend may rebind, so that a Postgres
// backend can sit beside it.
package store
