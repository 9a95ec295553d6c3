// Package outbox is the WordPress → ActiveCampaign direction (SYNC_TO_AC):
// the companion plugin records sign-ups, profile edits and deletions in its
// outbox table; a Puller pulls them every OUTBOX_POLL, hands each batch to a
// Store (wpbridge's durable queue) and only then acknowledges it to the
// plugin; a Mapper turns one event into one AC contact sync (FIELD_MAP read
// in reverse, REGISTRATION_TAGS on a sign-up) and an Applier sends it.
//
// Delivery is at least once: a crash (or a failed acknowledgement) after
// Store and before the plugin deleted the events makes the next pull return
// them again. A Store must therefore ignore an event it already holds, keyed
// by Key(event) (the table's epoch and the event id; unique across the
// plugin's table being dropped and made again). Applying an event twice is
// harmless too (a sync by email, and adding a tag, are idempotent), but the
// queue's history would show it twice.
package outbox
