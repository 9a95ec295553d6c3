package queue

import "github.com/wpbridge/wpbridge/internal/webhook"

// Classifier judges the error of a failed round (adapters.Classify).
type Classifier func(err error) webhook.Verdict
