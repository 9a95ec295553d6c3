// Package webhook is the domain of wpbridge's work: a webhook as stored
// (Webhook), the request it carries (Request, Action), where it stands
// (Outcome and the states), the webhooks one round covers (Claimed), its
// history record (Record) and the errors every layer names
// (ErrTooManyPending, ErrNotFound). It imports nothing of the module, so
// that the HTTP side, the rules, the queue and the database all speak of the
// same webhook without importing each other.
//
// Glossary (other packages refer to it):
//
//   - webhook: one HTTP call from ActiveCampaign, stored as one row
//     (Webhook) with its outcome (Outcome).
//   - request: Request, the work asked for one contact; a webhook carries
//     one, and the webhooks of one round merge into one (Request.Merge:
//     password_reset covers add, which covers update, which covers
//     update_tags; between remove_access and add or password_reset the
//     later webhook wins).
//   - round: one run of the rules (contactsync.Syncer) covering every
//     pending webhook of a contact. The webhook whose job runs the round
//     gets its result; the others end ignored, as duplicates covered by it.
//   - claimed: the webhooks a running round has taken (Claimed). They read
//     as pending; a round that will be retried, or is interrupted, releases
//     them (hands them back to pending).
//   - retry horizon: how long a webhook's temporary failures are retried
//     (RETRY_HORIZON), counted from its own arrival or its last manual
//     retry (wpbridge webhooks retry). A round that fails temporarily fails
//     only the webhooks past their horizon; the others are retried.
//   - attempts: per webhook, the rounds that covered it and ended (done,
//     ignored, failed, or a temporary failure); waiting on a throttle or a
//     pause counts none.
package webhook
