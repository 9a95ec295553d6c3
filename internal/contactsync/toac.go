package contactsync

import "context"

// ToAC sends a WordPress user to ActiveCampaign: the round of a WordPress
// outbox event (webhook.ActionWordPressSync, SYNC_TO_AC). outbox.Round is
// one.
type ToAC interface {
	SyncToAC(ctx context.Context, req Request) (Result, error)
}

// toAC runs the round of a WordPress event. Without ToAC (SYNC_TO_AC turned
// off since the event was stored) the event is ignored.
func (s *Syncer) toAC(ctx context.Context, req Request) (Result, error) {
	if s.ToAC == nil {
		return ignored("SYNC_TO_AC is off: WordPress event not sent to ActiveCampaign"), nil
	}
	return s.ToAC.SyncToAC(ctx, req)
}
