package check

import (
	"context"
	"errors"

	"github.com/wpbridge/wpbridge/internal/config"
	"github.com/wpbridge/wpbridge/wordpress"
)

// metaIndex reports the usermeta index the companion plugin's find by contact
// id needs (issue 21, BENCHMARKS.md): present, or a warning with what the
// plugin's own attempt found and the exact SQL. Its absence slows every
// webhook of a big site but breaks nothing, so it never fails the check.
func (r *results) metaIndex(ctx context.Context, cfg *config.Config, wp *wordpress.Client) {
	const what = "usermeta index"
	mi, err := wp.Site.MetaIndex(ctx)
	switch {
	case errors.Is(err, wordpress.ErrPluginMissing):
		r.warn(what, "the companion plugin on %s is too old to report it: copy wordpress/plugin/wpbridge.php over the one in wp-content/mu-plugins/ (it creates the index by itself)", cfg.WPURL)
		return
	case err != nil:
		r.warn(what, "cannot read it: %v", err)
		return
	case mi.Present && mi.Own:
		r.add(true, what, "%s has %s (meta_key, meta_value): finding a contact's user is one index lookup", mi.Table, mi.Name)
		return
	case mi.Present:
		r.add(true, what, "%s has %s (another plugin's) on the meta value: finding a contact's user is one index lookup", mi.Table, mi.Name)
		return
	}
	var why string
	switch mi.State {
	case "failed":
		why = "the companion plugin could not create it (" + mi.Error + ")"
	case "disabled":
		why = "WPBRIDGE_META_INDEX is false in wp-config.php, so the companion plugin does not create it"
	case "":
		why = "the companion plugin creates it once, at the end of its first request; it has not yet"
	default: // created or found once, dropped since: the plugin never adds it again by itself
		why = "it was dropped after the companion plugin made or found it, and the plugin does not add it again by itself"
	}
	r.warn(what, "%s has no index on the meta value: every webhook's find by contact id reads all members' rows of the key "+
		"(measured: 12-19 ms at 10,000 users, about 400 ms at 100,000; 0.1-0.3 ms with the index). %s. "+
		"Create it (online: the site keeps writing; about 7 s and 62 MiB at 100,000 users): %s "+
		"or POST /wpbridge/v1/meta-index with wpbridge's credentials", mi.Table, why, mi.SQL)
}
