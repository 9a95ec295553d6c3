// Package wordpress is a client for the WordPress REST API users endpoints and
// the wpbridge companion plugin (wordpress/plugin/wpbridge.php), authenticated
// with an application password.
//
// Requests use the ?rest_route= URL form (it works with and without pretty
// permalinks), always the edit context, and require JSON answers: an HTML or
// empty answer is an error, never a silent success. The client does not retry
// or log; errors are *Error values matched with errors.Is against the
// package's sentinels, and Error.Temporary tells retryable failures apart.
//
//	wp, err := wordpress.NewClient("https://example.com", "sync", appPassword,
//		wordpress.WithMaxConcurrent(4))
//	if err != nil {
//		return err
//	}
//	u, err := wp.Users.FindByEmail(ctx, "alice@example.com")
//	if errors.Is(err, wordpress.ErrNotFound) {
//		u, err = wp.Users.Create(ctx, wordpress.UserRequest{
//			Fields: map[string]string{
//				"username": "alice@example.com",
//				"email":    "alice@example.com",
//				"password": password,
//			},
//			Roles: []string{"customer"},
//			Meta: map[string]any{
//				"activecampaign_contact_id": "42",
//				"activecampaign_tags":       []string{"Customer", "VIP"},
//			},
//			SendNotification: true,
//		})
//	}
package wordpress
