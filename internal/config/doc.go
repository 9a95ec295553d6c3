// Package config reads wpbridge's configuration from environment variables.
//
// Every variable, its default and its meaning are listed in the repository's
// .env.example. Unset and empty variables take their default; required
// variables without a value, and every invalid value, are reported together,
// one problem per line, each naming the variable and saying what to fix.
// Secret values (ACCESS_KEY, AC_API_KEY, WP_APP_PASSWORD) are held as
// [Secret], which prints as [redacted] and never appears in an error.
//
// Usage, in main:
//
//	cfg, err := config.Load(ctx, envconfig.OsLookuper())
//	if err != nil {
//		fmt.Fprintf(stderr, "wpbridge: invalid configuration:\n%v\n", err)
//		return 2
//	}
//	wp := wordpress.NewClient(cfg.WPURL, cfg.WPUsername, cfg.WPAppPassword.Reveal())
//
// and in tests:
//
//	cfg, err := config.Load(ctx, envconfig.MapLookuper(map[string]string{
//		"ACCESS_KEY": "k1", "AC_API_URL": "https://acct.api-us1.com", ...
//	}))
//
// The package never reads the process environment itself and never logs.
package config
