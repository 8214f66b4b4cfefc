package smh

import (
	"context"

	"golang.org/x/sync/semaphore"
)

// Slots is a pool of part slots that several tasks share, so that the number
// of parts in flight is counted across all of them rather than per file: ten
// files with a shared pool of 4 send 4 parts at a time, not 40. A simple
// upload (a small file in one PUT) takes one slot like a part.
//
// Waiters are served in arrival order (semaphore.Weighted is FIFO), and a
// task queues at most Size parts at a time, re-queueing behind the others
// after each one: files take turns, so a big file cannot starve small ones,
// nor many small files a big one.
type Slots struct {
	size int
	sem  *semaphore.Weighted
}

// NewSlots returns a pool of n part slots; n below 1 means DefaultParallel.
func NewSlots(n int) *Slots {
	if n < 1 {
		n = DefaultParallel
	}
	return &Slots{size: n, sem: semaphore.NewWeighted(int64(n))}
}

// Size is the number of slots.
func (s *Slots) Size() int { return s.size }

// acquire waits for a slot; the error is ctx's when it ends first.
func (s *Slots) acquire(ctx context.Context) error {
	if s == nil {
		return nil
	}
	return s.sem.Acquire(ctx, 1)
}

// release gives back a slot taken by acquire.
func (s *Slots) release() {
	if s != nil {
		s.sem.Release(1)
	}
}

// limit is how many parts of one task may be started (in flight or waiting
// for a slot) at once: the task's own Concurrency, or with a shared pool the
// pool's size, which then counts across tasks.
func (s *Slots) limit(own int) int {
	if s == nil {
		return own
	}
	return s.size
}
