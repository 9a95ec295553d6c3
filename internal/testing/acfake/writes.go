package acfake

// The endpoints of the WordPress → AC direction (reference/activecampaign.md
// §9): POST /contact/sync, POST /contactTags, DELETE /contactTags/{id},
// POST /tags, GET /lists, POST /contactLists. Same string ids, envelopes,
// 404/422 error shapes and rate limit (ServeHTTP) as the rest of the fake.

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// listState holds the lists and who is on them; guarded by Server.mu.
type listState struct {
	names   map[string]string            // list id -> name
	members map[string]map[string]int    // contact id -> list id -> status (1 active, 2 unsubscribed)
	links   map[string]map[string]string // contact id -> list id -> contactList id
}

// listsLocked returns the list state, made on first use; callers hold s.mu.
func (s *Server) listsLocked() *listState {
	if s.lists == nil {
		s.lists = &listState{names: map[string]string{}, members: map[string]map[string]int{}, links: map[string]map[string]string{}}
	}
	return s.lists
}

// AddList creates a list and returns its id.
func (s *Server) AddList(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID("list")
	s.listsLocked().names[id] = name
	return id
}

// ContactLists returns contact id's list statuses: list id -> 1 (active) or 2 (unsubscribed).
func (s *Server) ContactLists(id string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for l, st := range s.listsLocked().members[id] {
		out[l] = st
	}
	return out
}

// ContactByEmail returns the contact whose email is email (ignoring case), as Contact does.
func (s *Server) ContactByEmail(email string) (Contact, bool) {
	s.mu.Lock()
	var id string
	for cid, c := range s.contacts {
		if strings.EqualFold(c.Email, email) && (id == "" || len(cid) < len(id) || (len(cid) == len(id) && cid < id)) {
			id = cid
		}
	}
	s.mu.Unlock()
	if id == "" {
		return Contact{}, false
	}
	return s.Contact(id)
}

// routeWrites serves the write endpoints; ok is false for any other request.
func (s *Server) routeWrites(w http.ResponseWriter, r *http.Request, seg []string) (status int, ok bool) {
	post := r.Method == http.MethodPost
	switch {
	case len(seg) == 2 && seg[0] == "contact" && seg[1] == "sync" && post:
		return s.syncContact(w, r), true
	case len(seg) == 1 && seg[0] == "contactTags" && post:
		return s.addContactTag(w, r), true
	case len(seg) == 2 && seg[0] == "contactTags" && r.Method == http.MethodDelete:
		return s.deleteContactTag(w, seg[1]), true
	case len(seg) == 1 && seg[0] == "tags" && post:
		return s.createTag(w, r), true
	case len(seg) == 1 && seg[0] == "lists" && r.Method == http.MethodGet:
		return s.listLists(w, r), true
	case len(seg) == 1 && seg[0] == "contactLists" && post:
		return s.setContactList(w, r), true
	}
	return 0, false
}

// readBody decodes a JSON body into v; false on a body that is not JSON.
func readBody(r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	return err == nil && json.Unmarshal(b, v) == nil
}

// validationError is AC's 422 JSON:API error with a code.
func validationError(w http.ResponseWriter, title, code, pointer string) int {
	return writeJSON(w, http.StatusUnprocessableEntity, obj{"errors": []obj{{
		"title": title, "detail": "", "code": code, "source": obj{"pointer": pointer},
	}}})
}

// plausibleEmail is the fake's email check: one @ with text on both sides, no spaces.
func plausibleEmail(e string) bool {
	local, domain, ok := strings.Cut(e, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(e, " \t\r\n") && !strings.Contains(domain, "@")
}

// syncContact is POST /contact/sync: create (201) or update by email (200).
func (s *Server) syncContact(w http.ResponseWriter, r *http.Request) int {
	var in putBody
	if !readBody(r, &in) || in.Contact == nil {
		return writeJSON(w, http.StatusBadRequest, obj{})
	}
	email := ""
	if in.Contact.Email != nil {
		email = strings.TrimSpace(*in.Contact.Email)
	}
	if email == "" {
		return validationError(w, "Contact Email Address is not valid.", "email_missing", "/data/attributes/email")
	}
	if !plausibleEmail(email) {
		return validationError(w, "Contact Email Address is not valid.", "email_invalid", "/data/attributes/email")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writes, ok := s.fieldWritesLocked(in)
	if !ok {
		return unprocessable(w, "Invalid field value", "/data/attributes/fieldValues")
	}
	var c *contact
	for _, ct := range s.contacts {
		if strings.EqualFold(ct.Email, email) && (c == nil || len(ct.ID) < len(c.ID) || (len(ct.ID) == len(c.ID) && ct.ID < c.ID)) {
			c = ct
		}
	}
	status := http.StatusOK
	if c == nil {
		status = http.StatusCreated
		id := s.newContactID()
		c = &contact{Contact: Contact{ID: id, Email: email}, rows: map[string]*row{}}
		s.contacts[id] = c
	}
	s.applyLocked(c, in, writes)
	return writeJSON(w, status, obj{"fieldValues": s.fieldValuesJSONLocked(c), "contact": s.contactJSONLocked(c)})
}

func (s *Server) contactTagJSONLocked(contactID string, l tagLink) obj {
	ts := s.createdTime.Format(timeLayout)
	return obj{"contact": contactID, "tag": l.tag, "cdate": ts, "created_timestamp": ts, "updated_timestamp": ts,
		"created_by": nil, "updated_by": nil, "links": obj{}, "id": l.id}
}

// addContactTag is POST /contactTags: 201 with the new link, or 200 with the
// link the contact already has.
func (s *Server) addContactTag(w http.ResponseWriter, r *http.Request) int {
	var in struct {
		ContactTag *struct {
			Contact json.RawMessage `json:"contact"`
			Tag     json.RawMessage `json:"tag"`
		} `json:"contactTag"`
	}
	if !readBody(r, &in) || in.ContactTag == nil {
		return writeJSON(w, http.StatusBadRequest, obj{})
	}
	cid, ok1 := scalar(in.ContactTag.Contact)
	tid, ok2 := scalar(in.ContactTag.Tag)
	if !ok1 || !ok2 || cid == "" || tid == "" {
		return validationError(w, "The contact and the tag are required.", "field_missing", "/data/attributes/tag")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.contacts[cid]
	if !ok {
		return notFound(w, "Subscriber", cid)
	}
	if _, ok := s.tags[tid]; !ok {
		return notFound(w, "Tag", tid)
	}
	for _, l := range c.links {
		if l.tag == tid {
			return writeJSON(w, http.StatusOK, obj{"contactTag": s.contactTagJSONLocked(cid, l)})
		}
	}
	l := tagLink{id: s.nextID("contactTag"), tag: tid}
	c.links = append(c.links, l)
	return writeJSON(w, http.StatusCreated, obj{"contactTag": s.contactTagJSONLocked(cid, l)})
}

// deleteContactTag is DELETE /contactTags/{id}: 200 {} or 404.
func (s *Server) deleteContactTag(w http.ResponseWriter, id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.contacts {
		for i, l := range c.links {
			if l.id == id {
				c.links = append(c.links[:i], c.links[i+1:]...)
				return writeJSON(w, http.StatusOK, obj{})
			}
		}
	}
	return notFound(w, "ContactTag", id)
}

// createTag is POST /tags: 201, or 422 for an empty or taken name (AC compares
// tag names without regard to case).
func (s *Server) createTag(w http.ResponseWriter, r *http.Request) int {
	var in struct {
		Tag *struct {
			Tag     string `json:"tag"`
			TagType string `json:"tagType"`
		} `json:"tag"`
	}
	if !readBody(r, &in) || in.Tag == nil {
		return writeJSON(w, http.StatusBadRequest, obj{})
	}
	name := strings.TrimSpace(in.Tag.Tag)
	if name == "" {
		return validationError(w, "Tag name is required.", "field_missing", "/data/attributes/tag")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.tags {
		if strings.EqualFold(n, name) {
			return validationError(w, "Tag name already exists.", "duplicate", "/data/attributes/tag")
		}
	}
	id := s.nextID("tag")
	s.tags[id] = name
	return writeJSON(w, http.StatusCreated, obj{"tag": s.tagJSONLocked(id)})
}

// listLists is GET /lists (filters[name] matches exactly, ignoring case), paged.
func (s *Server) listLists(w http.ResponseWriter, r *http.Request) int {
	name := r.URL.Query().Get("filters[name]")
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := s.listsLocked()
	ids := []string{}
	for id, n := range ls.names {
		if name == "" || strings.EqualFold(n, name) {
			ids = append(ids, id)
		}
	}
	sortIDs(ids)
	from, to := page(r, len(ids))
	list := []obj{}
	ts := s.createdTime.Format(timeLayout)
	for _, id := range ids[from:to] {
		list = append(list, obj{"stringid": strings.ToLower(strings.ReplaceAll(ls.names[id], " ", "-")), "name": ls.names[id],
			"cdate": ts, "udate": ts, "links": obj{}, "id": id})
	}
	return writeJSON(w, http.StatusOK, obj{"lists": list, "meta": obj{"total": strconv.Itoa(len(ids))}})
}

// setContactList is POST /contactLists: status 1 subscribes, 2 unsubscribes.
func (s *Server) setContactList(w http.ResponseWriter, r *http.Request) int {
	var in struct {
		ContactList *struct {
			List    json.RawMessage `json:"list"`
			Contact json.RawMessage `json:"contact"`
			Status  json.RawMessage `json:"status"`
		} `json:"contactList"`
	}
	if !readBody(r, &in) || in.ContactList == nil {
		return writeJSON(w, http.StatusBadRequest, obj{})
	}
	lid, ok1 := scalar(in.ContactList.List)
	cid, ok2 := scalar(in.ContactList.Contact)
	st, ok3 := scalar(in.ContactList.Status)
	status, err := strconv.Atoi(st)
	if !ok1 || !ok2 || !ok3 || err != nil || (status != 1 && status != 2) {
		return validationError(w, "The list, the contact and a status of 1 or 2 are required.", "field_invalid", "/data/attributes/status")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := s.listsLocked()
	c, ok := s.contacts[cid]
	if !ok {
		return notFound(w, "Subscriber", cid)
	}
	if _, ok := ls.names[lid]; !ok {
		return notFound(w, "List", lid)
	}
	if ls.members[cid] == nil {
		ls.members[cid], ls.links[cid] = map[string]int{}, map[string]string{}
	}
	if ls.links[cid][lid] == "" {
		ls.links[cid][lid] = s.nextID("contactList")
	}
	ls.members[cid][lid] = status
	return writeJSON(w, http.StatusOK, obj{"contacts": []obj{s.contactJSONLocked(c)}, "contactList": obj{
		"contact": cid, "list": lid, "status": status, "sourceid": 4, "links": obj{}, "id": ls.links[cid][lid]}})
}
