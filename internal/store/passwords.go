package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wpbridge/wpbridge/internal/contactsync"
)

// Passwords keeps generated passwords until they reach ActiveCampaign. It
// implements contactsync.PasswordStore.
type Passwords struct{ c conn }

var _ contactsync.PasswordStore = (*Passwords)(nil)

// PendingPassword returns the generated password not yet written to AC.
func (p *Passwords) PendingPassword(ctx context.Context, contactID string) (string, bool, error) {
	var pw string
	err := p.c.queryRow(ctx, p.c.db, `SELECT password FROM wpbridge_pending_password WHERE contact_id = ?`, contactID).Scan(&pw)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read pending password of contact %s: %w", contactID, err)
	}
	return pw, true, nil
}

// SavePendingPassword stores a generated password until it reaches AC.
func (p *Passwords) SavePendingPassword(ctx context.Context, contactID, pw string) error {
	_, err := p.c.exec(ctx, p.c.db, `INSERT INTO wpbridge_pending_password (contact_id, password, created_at) VALUES (?, ?, ?)
		ON CONFLICT (contact_id) DO UPDATE SET password = excluded.password, created_at = excluded.created_at`,
		contactID, pw, timeText(time.Now()))
	if err != nil {
		return fmt.Errorf("store pending password of contact %s: %w", contactID, err)
	}
	return nil
}

// DeletePendingPassword forgets the password once it reached AC.
func (p *Passwords) DeletePendingPassword(ctx context.Context, contactID string) error {
	if _, err := p.c.exec(ctx, p.c.db, `DELETE FROM wpbridge_pending_password WHERE contact_id = ?`, contactID); err != nil {
		return fmt.Errorf("delete pending password of contact %s: %w", contactID, err)
	}
	return nil
}

// DeleteBefore deletes the passwords stored before t that never reached AC.
func (p *Passwords) DeleteBefore(ctx context.Context, t time.Time) error {
	if _, err := p.c.exec(ctx, p.c.db, `DELETE FROM wpbridge_pending_password WHERE created_at < ?`, timeText(t)); err != nil {
		return fmt.Errorf("delete stale pending passwords: %w", err)
	}
	return nil
}
