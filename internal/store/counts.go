package store

import (
	"context"
	"fmt"
)

// CountByState returns how many stored webhooks are in each state (a
// webhook whose round is running counts as pending).
func (s *Webhooks) CountByState(ctx context.Context) (map[string]int, error) {
	rows, err := s.c.db.QueryContext(ctx, `SELECT CASE state WHEN 'claimed' THEN 'pending' ELSE state END, count(*)
		FROM wpbridge_webhook GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("count webhooks: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("count webhooks: %w", err)
		}
		out[state] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count webhooks: %w", err)
	}
	return out, nil
}
