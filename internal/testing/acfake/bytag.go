package acfake

// hasTagLocked reports whether contact c holds tag tagID, as AC's
// GET /contacts?tagid=ID filter selects; callers hold s.mu.
func (s *Server) hasTagLocked(c *contact, tagID string) bool {
	for _, l := range c.links {
		if l.tag == tagID {
			return true
		}
	}
	return false
}
