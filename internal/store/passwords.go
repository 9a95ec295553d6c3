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
// implements contactsync.PasswordStore. Set-password links are kept the same
// way, under "link:" + the contact id (contactsync.LinkKeyPrefix).
type Passwords struct {
	c conn
	s *sealer // SetSecretKey: values are stored sealed (seal.go); nil: plaintext
}

// SetSecretKey makes the store keep every pending password and link sealed
// under a key derived from secret (SECRET_KEY): on PostgreSQL, where deleted
// rows live on. Call it once, before use. Sealed values then open only with
// the same key: another key's read fails with ErrSecretKey.
func (p *Passwords) SetSecretKey(secret string) error {
	s, err := newSealer(secret)
	if err != nil {
		return err
	}
	p.s = s
	return nil
}

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
	if pw, err = p.s.open(contactID, pw); err != nil {
		return "", false, fmt.Errorf("read pending password of contact %s: %w", contactID, err)
	}
	return pw, true, nil
}

// SavePendingPassword stores a generated password until it reaches AC.
func (p *Passwords) SavePendingPassword(ctx context.Context, contactID, pw string) error {
	if p.s != nil {
		sealed, err := p.s.seal(contactID, pw)
		if err != nil {
			return fmt.Errorf("store pending password of contact %s: seal: %w", contactID, err)
		}
		pw = sealed
	}
	_, err := p.c.exec(ctx, p.c.db, `INSERT INTO wpbridge_pending_password (contact_id, password, created_at) VALUES (?, ?, ?)
		ON CONFLICT (contact_id) DO UPDATE SET password = excluded.password, created_at = excluded.created_at`,
		contactID, pw, timeText(time.Now()))
	if err != nil {
		return fmt.Errorf("store pending password of contact %s: %w", contactID, err)
	}
	return nil
}

// DeletePendingPassword forgets the password once it reached AC, and erases
// it from the database files.
func (p *Passwords) DeletePendingPassword(ctx context.Context, contactID string) error {
	res, err := p.c.exec(ctx, p.c.db, `DELETE FROM wpbridge_pending_password WHERE contact_id = ?`, contactID)
	if err != nil {
		return fmt.Errorf("delete pending password of contact %s: %w", contactID, err)
	}
	return p.eraseIfDeleted(res)
}

// DeleteUnneeded deletes the passwords no round of work will need: those of
// contacts without a pending webhook. A password is needed from the round
// that generates it until it reaches AC; once its contact's webhooks are all
// finished it either reached AC (and was deleted then), or was for a user
// found not to be ours, or the add failed for good.
func (p *Passwords) DeleteUnneeded(ctx context.Context) error {
	res, err := deleteUnneededPasswords(ctx, p.c, p.c.db)
	if err != nil {
		return err
	}
	return p.eraseIfDeleted(res)
}

// deleteUnneededPasswords is DeleteUnneeded's statement, run in e.
func deleteUnneededPasswords(ctx context.Context, c conn, e execer) (sql.Result, error) {
	res, err := c.exec(ctx, e, `DELETE FROM wpbridge_pending_password WHERE NOT EXISTS (SELECT 1 FROM wpbridge_webhook w
		WHERE (w.contact_id = wpbridge_pending_password.contact_id OR 'link:' || w.contact_id = wpbridge_pending_password.contact_id)
		AND w.state IN ('pending', 'claimed'))`)
	if err != nil {
		return nil, fmt.Errorf("delete pending passwords no longer needed: %w", err)
	}
	return res, nil
}

// eraseIfDeleted erases deleted passwords from the files if res deleted any.
func (p *Passwords) eraseIfDeleted(res sql.Result) error {
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	p.c.eraseFreed()
	return nil
}
