package webhook

import "time"

// Class says how a failed round is handled.
type Class int

// Failure classes.
const (
	Temporary  Class = iota // retry with backoff, an attempt is used
	Permanent               // fail now, keep for inspection
	Throttled               // wait, no attempt used
	AuthFailed              // credentials rejected: pause all work, no attempt used
)

func (c Class) String() string {
	switch c {
	case Temporary:
		return "temporary"
	case Permanent:
		return "permanent"
	case Throttled:
		return "throttled"
	case AuthFailed:
		return "auth failed"
	}
	return "unknown"
}

// Verdict is a classifier's answer for one failed round.
type Verdict struct {
	Class  Class
	Wait   time.Duration // Throttled: how long to wait
	Reason string        // AuthFailed: whose credentials were rejected, e.g. "ActiveCampaign (AC_API_KEY)"
}
