package smh

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waiting is the number of parts waiting in s.
func (s *Slots) waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, q := range s.turns {
		n += len(q.waiters)
	}
	return n
}

// A freed slot goes to the waiting tasks in turn, one part each, not in the
// order the parts asked: a task with three parts waiting does not go
// three times before a task with one. A part that gives up leaves its turn.
func TestSlotsServeTasksInTurn(t *testing.T) {
	s := NewSlots(1)
	require.NoError(t, s.acquire(context.Background(), "held"))
	got := make(chan string, 8)
	ask := func(owner string, ctx context.Context) {
		n := s.waiting()
		go func() {
			if s.acquire(ctx, owner) == nil {
				got <- owner
			} else {
				got <- owner + " gave up"
			}
		}()
		for s.waiting() == n { // queued in this order
			runtime.Gosched()
		}
	}
	gone, giveUp := context.WithCancel(context.Background())
	for _, o := range []string{"big", "big", "big", "small-1", "small-2"} {
		ask(o, context.Background())
	}
	ask("quitter", gone)
	giveUp()
	assert.Equal(t, "quitter gave up", <-got)
	var order []string
	for range 5 {
		s.release()
		order = append(order, <-got)
	}
	assert.Equal(t, []string{"big", "small-1", "small-2", "big", "big"}, order)
	s.release()
	assert.Equal(t, 1, s.free, "the pool is whole again")
	assert.Empty(t, s.queue)
}
