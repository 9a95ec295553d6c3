package activecampaign

import (
	"context"
	"net/http"
)

// User is an ActiveCampaign account user (the owner of an API key).
type User struct {
	ID       string
	Username string
	Email    string
}

// UsersService handles the /users endpoints.
type UsersService struct{ c *Client }

type userEnvelope struct {
	User *struct {
		ID       flexString `json:"id"`
		Username flexString `json:"username"`
		Email    flexString `json:"email"`
	} `json:"user"`
}

// Me returns the user owning the API key (GET /users/me); it verifies URL and key.
func (s *UsersService) Me(ctx context.Context) (*User, error) {
	cl := call{method: http.MethodGet, path: "/users/me"}
	var out userEnvelope
	if err := s.c.do(ctx, cl, &out); err != nil {
		return nil, err
	}
	if out.User == nil || out.User.ID == "" {
		return nil, invalidBody(cl.method, cl.path, http.StatusOK, `no "user" with an id`)
	}
	return &User{ID: string(out.User.ID), Username: string(out.User.Username), Email: string(out.User.Email)}, nil
}
