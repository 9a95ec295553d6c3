package importer

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/wpbridge/wpbridge/internal/webhook"
)

// importStats counts what happened to the contacts of an import.
type importStats struct {
	found, alreadyLinked             int
	created, linked, ignored, failed int
	failures                         []importFailure
}

type importFailure struct {
	webhook int64
	contact string
	reason  string
}

// processed is the number of contacts finished one way or another.
func (s importStats) processed() int {
	return s.alreadyLinked + s.created + s.linked + s.ignored + s.failed
}

// pollEvery is how often the followed webhooks are read.
const pollEvery = 250 * time.Millisecond

// followUntilDone reads the followed webhooks until every contact has been
// looked at and every webhook is finished, or ctx ends (what is enqueued
// stays enqueued).
func (imp *importer) followUntilDone(ctx context.Context, errc <-chan error) error {
	p := newImportProgress(imp.out)
	defer p.finish()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	enqDone := false
	for {
		select {
		case <-ctx.Done():
			imp.interrupted = true
			if !enqDone {
				<-errc // it stops at ctx too; the database stays open until then
			}
			return nil
		case err := <-errc:
			enqDone = true
			if err != nil {
				return fmt.Errorf("enqueue: %w", err)
			}
		case <-tick.C:
		}
		if err := imp.poll(ctx); err != nil && ctx.Err() == nil {
			return err
		}
		imp.mu.Lock()
		st, left := imp.stats, len(imp.follow)
		imp.mu.Unlock()
		p.update(st)
		if enqDone && left == 0 {
			return nil
		}
	}
}

// poll reads each unfinished followed webhook and counts the finished ones.
func (imp *importer) poll(ctx context.Context) error {
	imp.mu.Lock()
	ids := make([]int64, 0, len(imp.follow))
	for id := range imp.follow {
		ids = append(ids, id)
	}
	imp.mu.Unlock()
	for _, id := range ids {
		rec, err := imp.db.Webhooks.Get(ctx, id)
		if err != nil {
			return err
		}
		if rec.State == webhook.StatePending {
			continue
		}
		imp.mu.Lock()
		imp.count(rec)
		delete(imp.follow, id)
		imp.mu.Unlock()
	}
	return nil
}

// count adds a finished webhook to the stats; the caller holds imp.mu.
func (imp *importer) count(rec webhook.Record) {
	s := &imp.stats
	switch {
	case rec.State == webhook.StateFailed:
		s.failed++
		s.failures = append(s.failures, importFailure{webhook: rec.ID, contact: rec.Request.ContactID, reason: rec.Error})
	case rec.State == webhook.StateIgnored:
		s.ignored++
	case strings.Contains(rec.Message, "created user "), strings.HasSuffix(rec.Message, " created"):
		s.created++
	default:
		s.linked++ // linked by email, or an existing link updated
	}
}

// maxFailuresShown bounds the failures listed in the summary.
const maxFailuresShown = 20

// summary prints the outcome of the import.
func (imp *importer) summary() {
	imp.mu.Lock()
	defer imp.mu.Unlock()
	s := imp.stats
	fmt.Fprintf(imp.out, "import of %s: %d %s, %d processed: created %d, linked %d, already linked %d, ignored %d, failed %d\n",
		imp.what, s.found, imp.noun(), s.processed(), s.created, s.linked, s.alreadyLinked, s.ignored, s.failed)
	for i, f := range s.failures {
		if i == maxFailuresShown {
			fmt.Fprintf(imp.out, "  ... and %d more: wpbridge webhooks list --state failed\n", len(s.failures)-i)
			break
		}
		fmt.Fprintf(imp.out, "  failed: contact %s (webhook %d): %s\n", f.contact, f.webhook, f.reason)
	}
	if imp.interrupted {
		fmt.Fprintf(imp.out, "interrupted: %d webhooks stay queued (pending); run the same command again to continue\n", len(imp.follow))
	}
}

// importProgress shows progress: a bar on a terminal, else a line every 10s.
type importProgress interface {
	update(importStats)
	finish()
}

func newImportProgress(w io.Writer) importProgress {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{w: w}
	}
	return &lineProgress{w: w, start: time.Now(), last: time.Now(), every: 10 * time.Second}
}

// barProgress draws a progress bar; it is made once the count is known.
type barProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (b *barProgress) update(s importStats) {
	if b.bar == nil {
		b.bar = progressbar.NewOptions(s.found, progressbar.OptionSetWriter(b.w), progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true), progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetWidth(30), // updated every pollEvery: no throttle
			progressbar.OptionShowDescriptionAtLineEnd())
	}
	b.bar.Describe(fmt.Sprintf("created %d, linked %d, already linked %d, failed %d",
		s.created, s.linked, s.alreadyLinked, s.failed))
	_ = b.bar.Set(s.processed())
}

func (b *barProgress) finish() {
	if b.bar != nil {
		_ = b.bar.Exit()
		fmt.Fprintln(b.w)
	}
}

// lineProgress prints a line every so often.
type lineProgress struct {
	w           io.Writer
	start, last time.Time
	every       time.Duration
	latest      importStats
}

func (l *lineProgress) update(s importStats) {
	l.latest = s
	if time.Since(l.last) < l.every {
		return
	}
	l.last = time.Now()
	eta := "unknown"
	if done := s.processed(); done > 0 {
		left := time.Duration(float64(time.Since(l.start)) / float64(done) * float64(max(s.found-done, 0)))
		eta = left.Round(time.Second).String()
	}
	fmt.Fprintf(l.w, "import: %d of %d contacts processed: created %d, linked %d, already linked %d, failed %d; ETA %s\n",
		s.processed(), s.found, s.created, s.linked, s.alreadyLinked, s.failed, eta)
}

func (l *lineProgress) finish() {}
