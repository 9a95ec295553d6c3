package acfake

import (
	"crypto/subtle"
	"net/http"
	"net/url"
)

// The old API v1 (/admin/api.php?api_action=...&api_output=json) that WP
// Fusion still calls: contact_view, which lists a contact's tags by name (AC's
// v3 only gives tag ids). It answers as v1 does: HTTP 200 with result_code 1,
// or result_code 0 and a result_message for an unknown contact, a bad key or
// an unknown action. The key is the api_key parameter (or the Api-Token
// header); requests go through the same rate limit, delay and faults as v3.

const v1Path = "/admin/api.php"

// SetTags replaces the tags of contact id with names (unknown names create
// tags), as a change in AC's interface would; false when there is no such contact.
func (s *Server) SetTags(id string, names []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.contacts[id]
	if !ok {
		return false
	}
	c.links = nil
	for _, name := range names {
		c.links = append(c.links, tagLink{id: s.nextID("contactTag"), tag: s.tagIDLocked(name)})
	}
	return true
}

// v1Authorized accepts the api_key parameter or the Api-Token header.
func (s *Server) v1Authorized(r *http.Request) bool {
	if s.authorized(r) {
		return true
	}
	k := r.URL.Query().Get("api_key")
	return k != "" && (s.cfg.APIKey == "" || subtle.ConstantTimeCompare([]byte(k), []byte(s.cfg.APIKey)) == 1)
}

func v1Result(w http.ResponseWriter, code int, message string, extra obj) int {
	out := obj{"result_code": code, "result_message": message, "result_output": "json"}
	for k, v := range extra {
		out[k] = v
	}
	return writeJSON(w, http.StatusOK, out)
}

// routeV1 answers /admin/api.php; the caller holds no lock.
func (s *Server) routeV1(w http.ResponseWriter, r *http.Request) int {
	if !s.v1Authorized(r) {
		return v1Result(w, 0, "You are not authorized to access this file", nil)
	}
	q := r.URL.Query()
	if q.Get("api_output") != "json" {
		return v1Result(w, 0, "Only api_output=json is supported by this fake", nil)
	}
	switch q.Get("api_action") {
	case "contact_view":
		id := q.Get("id")
		if id == "" && r.Method == http.MethodPost {
			if err := r.ParseForm(); err == nil {
				id = r.PostForm.Get("id")
			}
		}
		return s.contactView(w, id)
	default:
		return v1Result(w, 0, "Unknown api_action", nil)
	}
}

// contactView is v1's contact_view: the contact with its tag names.
func (s *Server) contactView(w http.ResponseWriter, id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.contacts[id]
	if !ok {
		return v1Result(w, 0, "Failed: Nothing is returned", nil)
	}
	tags := []string{}
	for _, l := range c.links {
		tags = append(tags, s.tags[l.tag])
	}
	ts := s.createdTime.Format("2006-01-02 15:04:05")
	return v1Result(w, 1, "Success: Something is returned", obj{
		"id": c.ID, "subscriberid": c.ID, "email": c.Email, "first_name": c.FirstName,
		"last_name": c.LastName, "phone": c.Phone, "orgname": c.Orgname, "cdate": ts, "udate": ts,
		"tags": tags,
	})
}

// recordedQuery drops the v1 api_key from a recorded query (a secret).
func recordedQuery(q url.Values) url.Values {
	if q.Has("api_key") {
		q = cloneValues(q)
		q.Del("api_key")
	}
	return q
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
