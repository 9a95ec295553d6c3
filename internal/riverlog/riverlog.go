// Package riverlog passes the slog records of River (and River UI) to
// logrus: warnings and errors only, under a constant message naming the
// component, River's own text in the field "detail". Attributes that may
// carry a job's payload (its args or metadata) are left out, so that
// nothing of a webhook beyond its ids reaches the log through River.
package riverlog

import (
	"context"
	"log/slog"

	"github.com/sirupsen/logrus"
)

// New returns the handler that logs to log under the message component
// (e.g. "river").
func New(log logrus.FieldLogger, component string) slog.Handler {
	return handler{log: log, component: component}
}

// Logger is slog.New(New(log, component)).
func Logger(log logrus.FieldLogger, component string) *slog.Logger {
	return slog.New(New(log, component))
}

// payloadKeys are attributes that may hold a job's payload.
var payloadKeys = map[string]bool{"args": true, "encoded_args": true, "metadata": true, "payload": true}

type handler struct {
	log       logrus.FieldLogger
	component string
	attrs     []slog.Attr
}

func (h handler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h handler) Handle(_ context.Context, r slog.Record) error {
	fields := logrus.Fields{"component": h.component, "detail": r.Message}
	add := func(a slog.Attr) bool {
		if !payloadKeys[a.Key] {
			fields[a.Key] = a.Value.String()
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	entry := h.log.WithFields(fields)
	if r.Level >= slog.LevelError {
		entry.Error(h.component)
	} else {
		entry.Warn(h.component)
	}
	return nil
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler {
	return handler{log: h.log, component: h.component, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h handler) WithGroup(string) slog.Handler { return h }
