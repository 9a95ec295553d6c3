package acfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

const timeLayout = "2006-01-02T15:04:05-07:00"

type obj = map[string]any

func msg(m string) obj { return obj{"message": m} }

func writeJSON(w http.ResponseWriter, status int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"encode error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}

func notFound(w http.ResponseWriter, kind, id string) int {
	return writeJSON(w, http.StatusNotFound, msg(fmt.Sprintf("No Result found for %s with id %s", kind, id)))
}

func unprocessable(w http.ResponseWriter, title, pointer string) int {
	return writeJSON(w, http.StatusUnprocessableEntity, obj{"errors": []obj{{
		"title": title, "detail": "", "code": "field_invalid", "source": obj{"pointer": pointer},
	}}})
}

func trimPercent(s string) string { return strings.Trim(strings.TrimSpace(s), "%") }

// route dispatches /api/3/... requests; the caller holds no lock.
func (s *Server) route(w http.ResponseWriter, r *http.Request) int {
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/3/")
	if !ok {
		return writeJSON(w, http.StatusNotFound, msg("Not Found"))
	}
	seg := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	get, put := r.Method == http.MethodGet, r.Method == http.MethodPut
	switch {
	case len(seg) == 1 && seg[0] == "contacts" && get:
		return s.listContacts(w, r)
	case len(seg) == 2 && seg[0] == "contacts" && get:
		return s.getContact(w, seg[1])
	case len(seg) == 2 && seg[0] == "contacts" && put:
		return s.putContact(w, r, seg[1])
	case len(seg) == 3 && seg[0] == "contacts" && seg[2] == "contactTags" && get:
		return s.contactTags(w, seg[1])
	case len(seg) == 1 && seg[0] == "tags" && get:
		return s.listTags(w, r)
	case len(seg) == 2 && seg[0] == "tags" && get:
		return s.getTag(w, seg[1])
	case len(seg) == 1 && seg[0] == "fields" && get:
		return s.listFields(w, r)
	case len(seg) == 2 && seg[0] == "users" && seg[1] == "me" && get:
		return writeJSON(w, http.StatusOK, obj{"user": obj{
			"username": "admin", "firstName": "Admin", "lastName": "User", "email": "admin@example.com",
			"phone": "", "signature": nil, "links": obj{}, "id": "1",
		}})
	}
	if status, ok := s.routeWrites(w, r, seg); ok {
		return status
	}
	return writeJSON(w, http.StatusNotFound, msg("Not Found"))
}

// page applies limit (default 20, max 100) and offset to n items.
func page(r *http.Request, n int) (from, to int) {
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 {
		limit = 20
	}
	limit = min(limit, 100)
	off, err := strconv.Atoi(r.URL.Query().Get("offset"))
	if err != nil || off < 0 {
		off = 0
	}
	from = min(off, n)
	return from, min(from+limit, n)
}

// sortIDs orders decimal ids numerically.
func sortIDs(ids []string) {
	sort.Slice(ids, func(i, j int) bool {
		a, b := ids[i], ids[j]
		return len(a) < len(b) || (len(a) == len(b) && a < b)
	})
}

func (s *Server) contactJSONLocked(c *contact) obj {
	rowIDs := []string{}
	for _, rw := range c.rows {
		rowIDs = append(rowIDs, rw.id)
	}
	sortIDs(rowIDs)
	base := s.ts.URL + "/api/3/contacts/" + c.ID
	ts := s.createdTime.Format(timeLayout)
	return obj{
		"cdate": ts, "udate": ts, "email": c.Email, "phone": c.Phone, "firstName": c.FirstName,
		"lastName": c.LastName, "orgid": "0", "orgname": c.Orgname, "segmentio_id": "", "bounced_hard": "0",
		"bounced_soft": "0", "ip": "0", "hash": "", "deleted": "0", "anonymized": "0", "adate": nil,
		"edate": nil, "email_empty": c.Email == "", "fieldValues": rowIDs,
		"organization": nil, "id": c.ID,
		"links": obj{"contactTags": base + "/contactTags", "fieldValues": base + "/fieldValues"},
	}
}

func (s *Server) fieldValuesJSONLocked(c *contact) []obj {
	fids := make([]string, 0, len(c.rows))
	for fid := range c.rows {
		fids = append(fids, fid)
	}
	sortIDs(fids)
	out := []obj{}
	ts := s.createdTime.Format(timeLayout)
	for _, fid := range fids {
		rw := c.rows[fid]
		var v any = rw.value
		if rw.value == "" {
			v = nil // AC sends null for empty values
		}
		out = append(out, obj{"contact": c.ID, "field": fid, "value": v, "cdate": ts, "udate": ts,
			"created_by": nil, "updated_by": nil, "links": obj{}, "id": rw.id, "owner": c.ID})
	}
	return out
}

func (s *Server) getContact(w http.ResponseWriter, id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.contacts[id]
	if !ok {
		return notFound(w, "Subscriber", id)
	}
	return writeJSON(w, http.StatusOK, obj{
		"contactAutomations": []obj{}, "contactData": []obj{}, "contactGoals": []obj{},
		"contactLists": []obj{}, "contactLogs": []obj{}, "deals": []obj{}, "geoAddresses": []obj{},
		"geoIps": []obj{}, "fieldValues": s.fieldValuesJSONLocked(c), "contact": s.contactJSONLocked(c),
	})
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := []string{}
	for id, c := range s.contacts {
		switch {
		case q.Has("email") && !strings.EqualFold(c.Email, q.Get("email")):
		case q.Has("email_like") && !strings.Contains(strings.ToLower(c.Email), strings.ToLower(q.Get("email_like"))):
		case q.Has("tagid") && !s.hasTagLocked(c, q.Get("tagid")):
		default:
			ids = append(ids, id)
		}
	}
	sortIDs(ids)
	from, to := page(r, len(ids))
	list := []obj{}
	for _, id := range ids[from:to] {
		list = append(list, s.contactJSONLocked(s.contacts[id]))
	}
	return writeJSON(w, http.StatusOK, obj{"scoreValues": []obj{}, "contacts": list,
		"meta": obj{"total": strconv.Itoa(len(ids)), "page_input": obj{"limit": to - from, "offset": from}}})
}

type putBody struct {
	Contact *struct {
		Email       *string `json:"email"`
		FirstName   *string `json:"firstName"`
		LastName    *string `json:"lastName"`
		Phone       *string `json:"phone"`
		FieldValues []struct {
			Field json.RawMessage `json:"field"`
			Value json.RawMessage `json:"value"`
		} `json:"fieldValues"`
	} `json:"contact"`
}

// scalar decodes a JSON string, number or null into text.
func scalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	return "", false
}

func (s *Server) putContact(w http.ResponseWriter, r *http.Request, id string) int {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return writeJSON(w, http.StatusBadRequest, obj{})
	}
	var in putBody
	if err := json.Unmarshal(b, &in); err != nil || in.Contact == nil {
		return unprocessable(w, "The request body is not a valid contact", "/data/attributes")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.contacts[id]
	if !ok {
		return notFound(w, "Subscriber", id)
	}
	writes, ok := s.fieldWritesLocked(in)
	if !ok {
		return unprocessable(w, "Invalid field value", "/data/attributes/fieldValues")
	}
	if p := in.Contact.Email; p != nil {
		c.Email = *p
	}
	s.applyLocked(c, in, writes)
	return writeJSON(w, http.StatusOK, obj{"fieldValues": s.fieldValuesJSONLocked(c), "contact": s.contactJSONLocked(c)})
}

// fieldWrite is one custom field value of a contact write.
type fieldWrite struct{ field, value string }

// fieldWritesLocked reads the custom field values of a contact write; ok
// is false when one is not a scalar or names an unknown field (AC's 422).
func (s *Server) fieldWritesLocked(in putBody) (writes []fieldWrite, ok bool) {
	for _, fv := range in.Contact.FieldValues {
		fid, ok1 := scalar(fv.Field)
		val, ok2 := scalar(fv.Value)
		if _, known := s.fields[fid]; !ok1 || !ok2 || !known {
			return nil, false
		}
		writes = append(writes, fieldWrite{fid, val})
	}
	return writes, true
}

// applyLocked writes the names, phone and custom field values of a contact
// write to c, recording each field write.
func (s *Server) applyLocked(c *contact, in putBody, writes []fieldWrite) {
	if p := in.Contact.FirstName; p != nil {
		c.FirstName = *p
	}
	if p := in.Contact.LastName; p != nil {
		c.LastName = *p
	}
	if p := in.Contact.Phone; p != nil {
		c.Phone = *p
	}
	now := time.Now()
	for _, wr := range writes {
		rw, ok := c.rows[wr.field]
		if !ok {
			rw = &row{id: s.nextID("row")}
			c.rows[wr.field] = rw
		}
		rw.value = wr.value
		s.writes[c.ID] = append(s.writes[c.ID], FieldWrite{Field: wr.field, Value: wr.value, At: now})
	}
}

func (s *Server) contactTags(w http.ResponseWriter, id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.contacts[id]
	if !ok {
		return notFound(w, "Subscriber", id)
	}
	ts := s.createdTime.Format(timeLayout)
	list := []obj{}
	for _, l := range c.links {
		list = append(list, obj{"contact": id, "tag": l.tag, "cdate": ts, "created_timestamp": ts,
			"updated_timestamp": ts, "created_by": nil, "updated_by": nil, "links": obj{}, "id": l.id})
	}
	return writeJSON(w, http.StatusOK, obj{"contactTags": list})
}

func (s *Server) tagJSONLocked(id string) obj {
	ts := s.createdTime.Format(timeLayout)
	return obj{"tagType": "contact", "tag": s.tags[id], "description": "", "cdate": ts,
		"subscriber_count": "0", "created_timestamp": ts, "updated_timestamp": ts,
		"created_by": nil, "updated_by": nil, "links": obj{}, "id": id}
}

func (s *Server) getTag(w http.ResponseWriter, id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tags[id]; !ok {
		return notFound(w, "Tag", id)
	}
	return writeJSON(w, http.StatusOK, obj{"tag": s.tagJSONLocked(id)})
}

func (s *Server) listTags(w http.ResponseWriter, r *http.Request) int {
	search := strings.ToLower(r.URL.Query().Get("search"))
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := []string{}
	for id, name := range s.tags {
		if strings.Contains(strings.ToLower(name), search) {
			ids = append(ids, id)
		}
	}
	sortIDs(ids)
	from, to := page(r, len(ids))
	list := []obj{}
	for _, id := range ids[from:to] {
		list = append(list, s.tagJSONLocked(id))
	}
	return writeJSON(w, http.StatusOK, obj{"tags": list, "meta": obj{"total": strconv.Itoa(len(ids))}})
}

func (s *Server) listFields(w http.ResponseWriter, r *http.Request) int {
	perstag := trimPercent(r.URL.Query().Get("filters[perstag]"))
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := []string{}
	for id, f := range s.fields {
		if perstag == "" || strings.EqualFold(f.perstag, perstag) {
			ids = append(ids, id)
		}
	}
	sortIDs(ids)
	from, to := page(r, len(ids))
	ts := s.createdTime.Format(timeLayout)
	list := []obj{}
	for i, id := range ids[from:to] {
		f := s.fields[id]
		list = append(list, obj{"title": f.title, "descript": "", "type": f.typ, "isrequired": "0",
			"perstag": f.perstag, "defval": "", "show_in_list": "0", "rows": "0", "cols": "0",
			"visible": "1", "service": "", "ordernum": strconv.Itoa(from + i + 1), "cdate": ts, "udate": ts,
			"options": []obj{}, "relations": []obj{}, "links": obj{}, "id": id})
	}
	return writeJSON(w, http.StatusOK, obj{"fieldOptions": []obj{}, "fieldRels": []obj{}, "fields": list,
		"meta": obj{"total": strconv.Itoa(len(ids))}})
}
