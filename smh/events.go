package smh

import (
	"context"
	"time"
)

// Event types reported through Options.OnEvent.
const (
	EventState   = "state"   // the task's state changed: see Event.State
	EventRenew   = "renew"   // upload parameters were renewed; Reason says why
	EventRetry   = "retry"   // an attempt failed and will be repeated after Delay
	EventToken   = "token"   // the access token was refreshed
	EventResume  = "resume"  // a task was resumed; PartsDone parts were kept
	EventInstant = "instant" // SMH already had the bytes: the file was created without sending them
)

// Task states reported in Event.State.
const (
	StateUploading  = "uploading"
	StateConfirming = "confirming"
	StatePaused     = "paused"
	StateCanceled   = "canceled"
	StateDone       = "done"
	StateFailed     = "failed"
)

// Event tells what the engine is doing, for logs and UIs. It never carries
// a secret.
type Event struct {
	Type       string
	State      string        // for EventState
	Op         string        // for EventRetry: the operation retried ("part", "begin", …)
	PartNumber int           // the part concerned, when one is
	Attempt    int           // for EventRetry: the attempt that failed
	Delay      time.Duration // for EventRetry: the wait before the next attempt
	Status     int           // HTTP status of the failure, when one arrived
	Code       string        // error code of the failure
	Reason     string        // for EventRenew: "expiring" (ahead of expiration) or "expired" (a part was refused)
	PartsDone  int           // for EventResume: parts found on the server and kept
	ConfirmKey string        // for EventState and EventResume
}

type eventsKey struct{}

// withEvents makes emit(ctx, …) deliver to fn, the way net/http/httptrace
// rides on a context: API calls can report retries and token refreshes to
// the task that caused them without the Client knowing about tasks.
func withEvents(ctx context.Context, fn func(Event)) context.Context {
	if fn == nil {
		return ctx
	}
	return context.WithValue(ctx, eventsKey{}, fn)
}

func emit(ctx context.Context, ev Event) {
	if fn, ok := ctx.Value(eventsKey{}).(func(Event)); ok {
		fn(ev)
	}
}
