package smh

import (
	"context"
	"sync"
)

// Slots is a pool of part slots that several tasks share, so that the number
// of parts in flight is counted across all of them rather than per file: ten
// files with a shared pool of 4 send 4 parts at a time, not 40. A simple
// upload (a small file in one PUT) takes one slot like a part.
//
// A freed slot goes to the tasks waiting in turn, one part per task per
// round, each task's parts in the order asked. Serving parts in plain
// arrival order was not fair to files: a big task keeps up to Size parts
// waiting and a small file one, so two big files took about 60% of the
// slots from twenty small ones, and a small file waited behind eight big
// parts. In turns, every file under way gets an equal share of the slots
// whatever its size (small files are not starved by big ones, nor big
// ones by a stream of small ones), and a task alone still fills the pool.
type Slots struct {
	size int

	mu    sync.Mutex
	free  int
	turns []*slotQueue // tasks with parts waiting, in turn order
	queue map[any]*slotQueue
}

// slotQueue is one task's parts waiting for a slot.
type slotQueue struct {
	owner   any
	waiters []chan struct{} // closed when granted
}

// NewSlots returns a pool of n part slots; n below 1 means DefaultParallel.
func NewSlots(n int) *Slots {
	if n < 1 {
		n = DefaultParallel
	}
	return &Slots{size: n, free: n, queue: map[any]*slotQueue{}}
}

// Size is the number of slots.
func (s *Slots) Size() int { return s.size }

// acquire waits for a slot for one part of owner's (its task); the error
// is ctx's when it ends first.
func (s *Slots) acquire(ctx context.Context, owner any) error {
	if s == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.free > 0 && len(s.turns) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	q := s.queue[owner]
	if q == nil {
		q = &slotQueue{owner: owner}
		s.queue[owner] = q
		s.turns = append(s.turns, q)
	}
	ch := make(chan struct{})
	q.waiters = append(q.waiters, ch)
	s.mu.Unlock()

	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-ch: // granted meanwhile: pass it on
		s.releaseLocked()
	default:
		for i, w := range q.waiters {
			if w == ch {
				q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
				break
			}
		}
		if len(q.waiters) == 0 {
			s.dropLocked(q)
		}
	}
	return ctx.Err()
}

// release gives back a slot taken by acquire.
func (s *Slots) release() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

// releaseLocked grants the slot to the first part of the task whose turn
// it is, which then goes to the back of the turns if it has more waiting.
func (s *Slots) releaseLocked() {
	if len(s.turns) == 0 {
		s.free++
		return
	}
	q := s.turns[0]
	close(q.waiters[0])
	q.waiters = q.waiters[1:]
	s.turns = s.turns[1:]
	if len(q.waiters) > 0 {
		s.turns = append(s.turns, q)
	} else {
		delete(s.queue, q.owner)
	}
}

// dropLocked removes q, whose last waiter gave up, from the turns.
func (s *Slots) dropLocked(q *slotQueue) {
	for i, t := range s.turns {
		if t == q {
			s.turns = append(s.turns[:i], s.turns[i+1:]...)
			break
		}
	}
	delete(s.queue, q.owner)
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
