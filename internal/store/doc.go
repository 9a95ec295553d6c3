// Package store keeps wpbridge's own tables: the stored webhooks and their
// outcomes (Webhooks), generated passwords not yet written to ActiveCampaign
// (Passwords) and records of wpbridge's own writes to ActiveCampaign, whose
// update webhooks are echoes (Echoes). The webhook history (List, Get,
// RetryTx in history.go) is what wpbridge webhooks shows and replays. The
// terms webhook, request, round, claimed and retry horizon are explained in
// package webhook's glossary.
//
// The currency is database/sql: a DB wraps one *sql.DB, and the calls that
// must commit together with other work (River's job insert) take a *sql.Tx.
// Two backends: SQLite (sqlite.go: one process owns the file and its work;
// sqlite_schema.go: the schema, versioned by PRAGMA user_version and upgraded
// in place) and PostgreSQL (postgres.go: any number of processes share the
// database and its work); Open picks one from a DATABASE_URL. The queries
// elsewhere are portable SQL whose ? placeholders each backend rebinds.
// Migrate creates or upgrades the schema, River's tables included (on
// PostgreSQL under an advisory lock), and RiverDriver gives River's driver on
// the same *sql.DB. On PostgreSQL the replicas also share the ActiveCampaign
// request budget (acbudget.go: ACBudget, pkg/ratelimit's Ledger) and the
// pause of all work after rejected credentials (pause.go: PauseWork, which
// package fleet keeps).
package store
