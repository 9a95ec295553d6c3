package importer

import (
	"strings"
	"testing"
	"time"

	"github.com/wpbridge/wpbridge/internal/webhook"
)

func TestImportCount(t *testing.T) {
	tests := []struct {
		rec  webhook.Record
		want importStats
	}{
		{webhook.Record{State: webhook.StateDone, Message: "created user 5 with role customer"}, importStats{created: 1}},
		{webhook.Record{State: webhook.StateDone, Message: "duplicate: covered by webhook 3 (created user 5 with role customer)"}, importStats{created: 1}},
		{webhook.Record{State: webhook.StateDone, Message: "linked existing user 5 by email; updated user 5: tags"}, importStats{linked: 1}},
		{webhook.Record{State: webhook.StateDone, Message: "linked user 5, created earlier for this contact; ..."}, importStats{linked: 1}},
		{webhook.Record{State: webhook.StateIgnored, Message: "protected"}, importStats{ignored: 1}},
	}
	for _, tc := range tests {
		imp := &importer{}
		imp.count(tc.rec)
		if imp.stats.created != tc.want.created || imp.stats.linked != tc.want.linked || imp.stats.ignored != tc.want.ignored {
			t.Errorf("count(%q) = %+v, want %+v", tc.rec.Message, imp.stats, tc.want)
		}
	}
	imp := &importer{}
	imp.count(webhook.Record{ID: 9, State: webhook.StateFailed, Error: "invalid email", Request: webhook.Record{}.Request})
	if imp.stats.failed != 1 || len(imp.stats.failures) != 1 || imp.stats.failures[0].reason != "invalid email" {
		t.Errorf("failed record counted as %+v", imp.stats)
	}
}

func TestImportProgressLines(t *testing.T) {
	var b strings.Builder
	l := &lineProgress{w: &b, start: time.Now().Add(-10 * time.Second), every: 0}
	l.update(importStats{found: 100, alreadyLinked: 10, created: 30, linked: 5, failed: 5})
	want := "import: 50 of 100 contacts processed: created 30, linked 5, already linked 10, failed 5; ETA 10s\n"
	if b.String() != want {
		t.Errorf("line %q, want %q", b.String(), want)
	}
	b.Reset()
	l.every = time.Hour
	l.update(importStats{found: 100, created: 60})
	if b.String() != "" {
		t.Errorf("a line before the interval: %q", b.String())
	}
	if _, ok := newImportProgress(&b).(*lineProgress); !ok {
		t.Error("not a terminal, yet no line progress")
	}
	var bar strings.Builder
	p := &barProgress{w: &bar}
	p.update(importStats{found: 10, created: 3, failed: 1})
	p.finish()
	if !strings.Contains(bar.String(), "4/10") || !strings.Contains(bar.String(), "created 3, linked 0, already linked 0, failed 1") {
		t.Errorf("bar %q", bar.String())
	}
}
