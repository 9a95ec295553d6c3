package app_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"
)

// stormRound is one round of work for a contact, as recorded in the database.
type stormRound struct {
	job      int64
	started  time.Time // when the round's job started (before it claimed)
	rank     int       // strongest action: add 3, update 2, update_tags 1
	received []time.Time
}

var actionRank = map[string]int{"add": 3, "update": 2, "update_tags": 1}

// stormRounds reads, per contact, the rounds that finished its webhooks.
func stormRounds(t *testing.T, dbPath string) map[string][]*stormRound {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), `SELECT w.contact_id, w.round, w.action, w.received_at, j.attempted_at
		FROM wpbridge_webhook w JOIN river_job j ON j.id = w.round`)
	if err != nil {
		t.Fatalf("read rounds: %v", err)
	}
	defer rows.Close()
	byJob := map[int64]*stormRound{}
	out := map[string][]*stormRound{}
	for rows.Next() {
		var (
			contact, action, received string
			job                       int64
			started                   any
		)
		if err := rows.Scan(&contact, &job, &action, &received, &started); err != nil {
			t.Fatal(err)
		}
		r := byJob[job]
		if r == nil {
			r = &stormRound{job: job, started: parseDBTime(t, started)}
			byJob[job] = r
			out[contact] = append(out[contact], r)
		}
		r.rank = max(r.rank, actionRank[action])
		r.received = append(r.received, parseDBTime(t, received))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, rs := range out {
		slices.SortFunc(rs, func(a, b *stormRound) int { return a.started.Compare(b.started) })
	}
	return out
}

func parseDBTime(t *testing.T, v any) time.Time {
	t.Helper()
	switch x := v.(type) {
	case time.Time:
		return x
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999-07:00"} {
			if tm, err := time.Parse(layout, x); err == nil {
				return tm
			}
		}
	}
	t.Fatalf("unreadable time %v", v)
	return time.Time{}
}

// roundsCost is the AC requests a contact's rounds need at least: a round
// creating the user 2 (GET contact, PUT password), any other round of add or
// update 1 (GET contact), update_tags with payload tags 0. forced reports
// whether every round after the first only holds webhooks received after
// the previous round started (less slack for a store under load), i.e.
// webhooks that round could not have covered.
func roundsCost(rs []*stormRound, userExists bool, slack time.Duration) (cost int, forced bool, err error) {
	forced = true
	for i, r := range rs {
		switch {
		case r.rank == 3 && !userExists:
			cost += 2
			userExists = true
		case r.rank >= 2:
			cost++
		}
		if i == 0 {
			continue
		}
		for _, at := range r.received {
			if at.Before(rs[i-1].started.Add(-slack)) {
				forced = false
			}
		}
	}
	if len(rs) == 0 {
		err = fmt.Errorf("no rounds")
	}
	return cost, forced, err
}
