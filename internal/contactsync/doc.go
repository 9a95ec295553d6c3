// Package contactsync holds wpbridge's rules for keeping one WordPress user in
// step with one ActiveCampaign contact: which user a contact maps to, what a
// new user's login, password and role are, which fields are written, and when
// a generated password goes back to ActiveCampaign.
//
// It knows nothing about HTTP, queues or the API clients: it talks to
// ActiveCampaign through ContactSource, to WordPress through UserStore and to
// durable storage through PasswordStore, all declared here.
package contactsync
