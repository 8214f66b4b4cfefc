package smh

// The watchdog that retries a part attempt that sends nothing for StallTimeout.

import (
	"sync"
	"sync/atomic"
	"time"
)

// watchdog calls fire when kick has not been called for d.
type watchdog struct {
	clock  Clock
	d      time.Duration
	fire   func()
	last   atomic.Int64 // clock time of the last kick, in ns
	mu     sync.Mutex
	cancel func() bool
	done   bool
}

func newWatchdog(clock Clock, d time.Duration, fire func()) *watchdog {
	w := &watchdog{clock: clock, d: d, fire: fire}
	w.kick()
	w.arm(d)
	return w
}

func (w *watchdog) kick() { w.last.Store(w.clock.Now().UnixNano()) }

func (w *watchdog) arm(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.cancel = w.clock.AfterFunc(d, w.check)
	}
}

// check re-arms for the rest of the window while kicks keep coming, so a
// part costs one timer per window instead of one per progress callback.
func (w *watchdog) check() {
	idle := time.Duration(w.clock.Now().UnixNano() - w.last.Load())
	if idle >= w.d {
		w.fire()
		return
	}
	w.arm(w.d - idle)
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	if w.cancel != nil {
		w.cancel()
	}
}
