package riverlog

import (
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// Warnings and errors reach logrus under the component's constant message,
// River's text as detail; debug and info do not, nor a job's payload.
func TestHandler(t *testing.T) {
	log, hook := test.NewNullLogger()
	l := Logger(log, "river").With("job_id", 7)
	l.Info("fetched")
	l.Warn("job failed", "args", `{"contact_id":"42"}`, "err", "boom")
	l.Error("stop failed")
	entries := hook.AllEntries()
	if len(entries) != 2 {
		t.Fatalf("entries = %d, want the warning and the error", len(entries))
	}
	w := entries[0]
	if w.Message != "river" || w.Level != logrus.WarnLevel || w.Data["detail"] != "job failed" ||
		w.Data["job_id"] != "7" || w.Data["err"] != "boom" {
		t.Errorf("warning = %q %v %v", w.Message, w.Level, w.Data)
	}
	if _, ok := w.Data["args"]; ok {
		t.Error("the job's args were logged")
	}
	if e := entries[1]; e.Level != logrus.ErrorLevel || e.Data["detail"] != "stop failed" {
		t.Errorf("error = %v %v", e.Level, e.Data)
	}
}
