package wordpress

import (
	"context"
	"net/http"
)

// MetaIndex is the state of the index the companion plugin's find by contact
// id needs on the usermeta table (GET /wpbridge/v1/meta-index). WordPress
// indexes usermeta's meta_key only; without an index on the value, each find
// reads every member's row of the key (BENCHMARKS.md, issue 21). The plugin
// creates one by itself, once; this says whether it is there.
type MetaIndex struct {
	Table   string `json:"table"`   // the usermeta table, with the site's prefix
	Present bool   `json:"present"` // an index serving meta_key = K AND meta_value = V exists
	Name    string `json:"name"`    // that index's name, when present
	Own     bool   `json:"own"`     // it is the plugin's own (MetaIndexName)
	// State is the plugin's recorded attempt: "created", "present" (found one,
	// added none), "failed" (Error says why), "disabled" (WPBRIDGE_META_INDEX
	// is false in wp-config.php) or "" (not tried yet).
	State string `json:"state"`
	Error string `json:"error"` // the database's error, when State is "failed"
	SQL   string `json:"sql"`   // the statement that creates it, for a database administrator
}

// MetaIndexName is the name of the index the companion plugin creates.
const MetaIndexName = "wpbridge_meta_value"

// MetaIndex reports the usermeta index. A plugin older than the route
// answers an error matching ErrPluginMissing.
func (s *SiteService) MetaIndex(ctx context.Context) (*MetaIndex, error) {
	return s.metaIndex(ctx, http.MethodGet)
}

// CreateMetaIndex asks the plugin to create the usermeta index now when it is
// missing (online: writes go on while it builds) and reports the outcome. A
// failure to create it is no error: State is "failed" and Error says why.
func (s *SiteService) CreateMetaIndex(ctx context.Context) (*MetaIndex, error) {
	return s.metaIndex(ctx, http.MethodPost)
}

func (s *SiteService) metaIndex(ctx context.Context, method string) (*MetaIndex, error) {
	var out MetaIndex
	r := request{method: method, route: "/wpbridge/v1/meta-index"}
	if _, err := s.c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	if out.Table == "" {
		return nil, &Error{Code: CodeInvalidResponse, Message: "meta-index answer has no table", Method: r.method, Path: r.route}
	}
	return &out, nil
}
