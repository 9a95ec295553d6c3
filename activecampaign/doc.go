// Package activecampaign is a small client for the ActiveCampaign API v3 and a parser for
// ActiveCampaign webhook bodies.
//
// Every request waits on the injected Limiter first (ActiveCampaign allows 5 requests per
// second per account); on 429/503 the client pauses the limiter when it also has a
// Pause(time.Duration) method, so all workers back off together. The client never
// retries: callers inspect *Error (Temporary, RetryAfter) and errors.Is with ErrNotFound,
// ErrUnauthorized and ErrRateLimited.
//
//	ac, err := activecampaign.NewClient("https://acme.api-us1.com", key,
//		activecampaign.WithLimiter(ratelimit.New(5)))
//	if err != nil {
//		return err
//	}
//	c, err := ac.Contacts.Get(ctx, "42")
//	switch {
//	case errors.Is(err, activecampaign.ErrNotFound):
//		// deleted or merged in ActiveCampaign
//	case err != nil:
//		return err
//	}
//	tags, err := ac.Contacts.TagNames(ctx, c.ID)
//
// Webhook bodies are parsed without any HTTP framework:
//
//	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
//	if err := r.ParseForm(); err != nil { ... }
//	hook, err := activecampaign.ParseWebhook(r.PostForm)
package activecampaign
