package adapters

import (
	"context"
	"errors"
	"fmt"

	"github.com/wpbridge/wpbridge/internal/contactsync"
	"github.com/wpbridge/wpbridge/wordpress"
)

// Users implements contactsync.UserStore over the WordPress client.
type Users struct {
	WP *wordpress.Client
}

var _ contactsync.UserStore = (*Users)(nil)

// FindByMeta finds the user whose meta key holds value.
func (s *Users) FindByMeta(ctx context.Context, key, value string) (*contactsync.User, error) {
	u, err := s.WP.Users.FindByMeta(ctx, key, value)
	if err != nil {
		return nil, notFound(err, wordpress.ErrNotFound, contactsync.ErrUserNotFound)
	}
	return toUser(u), nil
}

// FindByEmail finds the user with exactly this email.
func (s *Users) FindByEmail(ctx context.Context, email string) (*contactsync.User, error) {
	u, err := s.WP.Users.FindByEmail(ctx, email)
	if err != nil {
		return nil, notFound(err, wordpress.ErrNotFound, contactsync.ErrUserNotFound)
	}
	return toUser(u), nil
}

// Create creates a user in one request.
func (s *Users) Create(ctx context.Context, nu contactsync.NewUser) (*contactsync.User, error) {
	req := toRequest(nu.Change)
	req.Username = nu.Login
	u, err := s.WP.Users.Create(ctx, req)
	switch {
	case errors.Is(err, wordpress.ErrExistingLogin):
		return nil, fmt.Errorf("%w: %w", contactsync.ErrLoginTaken, err)
	case errors.Is(err, wordpress.ErrExistingEmail):
		return nil, fmt.Errorf("%w: %w", contactsync.ErrEmailTaken, err)
	case err != nil:
		return nil, err
	}
	return toUser(u), nil
}

// Update writes fields, roles and meta of a user in one request.
func (s *Users) Update(ctx context.Context, id int64, ch contactsync.Change) (*contactsync.User, error) {
	u, err := s.WP.Users.Update(ctx, id, toRequest(ch))
	if errors.Is(err, wordpress.ErrExistingEmail) {
		return nil, fmt.Errorf("%w: %w", contactsync.ErrEmailTaken, err)
	}
	if err != nil {
		return nil, err
	}
	return toUser(u), nil
}

func toUser(u *wordpress.User) *contactsync.User {
	return &contactsync.User{
		ID: u.ID, Login: u.Username, Email: u.Email, Roles: u.Roles, Meta: u.Meta,
		Fields: map[string]string{
			"user_email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
			"display_name": u.Name, "nickname": u.Nickname, "description": u.Description, "user_url": u.URL,
		},
	}
}

func toRequest(ch contactsync.Change) wordpress.UserRequest {
	f := ch.Fields
	return wordpress.UserRequest{
		Email: f["user_email"], Password: f["user_pass"], FirstName: f["first_name"], LastName: f["last_name"],
		Name: f["display_name"], Nickname: f["nickname"], Description: f["description"], URL: f["user_url"],
		Roles: ch.Roles, Meta: ch.Meta, SendNotification: ch.SendNotification,
	}
}
