package smh

import (
	"context"
	"sync"
	"time"
)

// QueueFeed adds trees to a Queue for callers that must not block, such as
// a browser's add(): AddTree returns at once, and Wait waits for the adds
// under way as well as for the files, so that "nothing left" never comes
// while folders are still being created for files not yet added. Cancel
// stops the adds under way and cancels the queue. Its methods are safe to
// call from any goroutine.
type QueueFeed struct {
	q      *Queue
	ctx    context.Context // ends with Cancel
	cancel context.CancelFunc
	known  folders // across adds: each folder is requested once

	mu      sync.Mutex
	adding  int
	changed chan struct{} // closed and replaced when an add ends
	last    chan struct{} // closed when the latest add has ended; adds run one after another
}

// NewQueueFeed returns a feed for q.
func NewQueueFeed(q *Queue) *QueueFeed {
	ctx, cancel := context.WithCancel(context.Background())
	return &QueueFeed{q: q, ctx: ctx, cancel: cancel, changed: make(chan struct{})}
}

// Queue returns the feed's queue.
func (f *QueueFeed) Queue() *Queue { return f.q }

// AddTree runs AddTree in the background, counting it as under way from
// now on, and returns a function that waits for its outcome. A folder that
// an earlier add of the feed created is not requested again. After Cancel
// it adds nothing and fails with an error wrapping ErrCanceled.
func (f *QueueFeed) AddTree(ctx context.Context, target string, entries []TreeEntry, o Options) func() (int, error) {
	f.mu.Lock()
	f.adding++
	prev, mine := f.last, make(chan struct{})
	f.last = mine
	f.mu.Unlock()
	type result struct {
		n   int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		defer close(mine)
		if prev != nil {
			<-prev // in order: indexes follow the calls, and a folder two adds name is requested once
		}
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		defer context.AfterFunc(f.ctx, stop)()
		var n int
		var err error
		if f.ctx.Err() == nil { // AfterFunc stops ctx in a goroutine of its own: not yet, maybe
			n, err = addTree(ctx, f.q, target, entries, o, &f.known)
		} else {
			err = context.Canceled
		}
		if err != nil && f.ctx.Err() != nil {
			err = canceledError(err, "")
		}
		ch <- result{n, err}
		f.mu.Lock()
		f.adding--
		close(f.changed)
		f.changed = make(chan struct{})
		f.mu.Unlock()
	}()
	return func() (int, error) {
		r := <-ch
		ch <- r // for a second call
		return r.n, r.err
	}
}

// Wait returns every file once no add is under way and no file is pending
// or uploading (failed files are an outcome), or ctx's error.
func (f *QueueFeed) Wait(ctx context.Context) ([]QueueFile, error) {
	for {
		f.mu.Lock()
		adding, ch := f.adding, f.changed
		f.mu.Unlock()
		if adding > 0 {
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return f.q.Files(), ctx.Err()
			}
		}
		files, err := f.q.Wait(ctx)
		if err != nil {
			return files, err
		}
		f.mu.Lock()
		adding = f.adding
		f.mu.Unlock()
		if adding == 0 {
			return files, nil
		}
	}
}

// Cancel stops the adds under way and cancels the queue (see Queue.Cancel).
func (f *QueueFeed) Cancel(ctx context.Context) error {
	f.cancel()
	return f.q.Cancel(ctx)
}

// ProgressThrottle coalesces a queue's progress for a slow consumer (a
// page's onProgress): the first update is delivered at once, later ones at
// most once per interval, always the latest, and the last update is never
// lost. A queue reports every change, many per second per file, and a page
// with thousands of files queued must not run a callback for each. Calls
// to fn never overlap and come in order; fn may call the queue.
type ProgressThrottle struct {
	clock    Clock
	interval time.Duration
	fn       func(QueueProgress)

	mu         sync.Mutex
	latest     QueueProgress
	pending    bool // latest is not delivered yet
	delivering bool // fn is being called, or about to be
	flush      bool // Flush came while delivering
	armed      int  // the timer that may deliver; 0 for none
	gen        int
	last       time.Time // of the last delivery
	delivered  QueueProgress
	any        bool // delivered is set
}

// NewProgressThrottle returns a throttle that calls fn at most once per
// interval (default 100 ms, about 10 calls per second).
func NewProgressThrottle(clock Clock, interval time.Duration, fn func(QueueProgress)) *ProgressThrottle {
	if clock == nil {
		clock = SystemClock{}
	}
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	return &ProgressThrottle{clock: clock, interval: interval, fn: fn}
}

// Update records p; it is delivered now if the interval since the last
// delivery has passed, else when it has.
func (t *ProgressThrottle) Update(p QueueProgress) {
	t.mu.Lock()
	t.latest, t.pending = p, true
	if t.delivering || t.armed != 0 {
		t.mu.Unlock()
		return
	}
	if wait := t.waitLocked(); wait > 0 {
		t.armLocked(wait)
		t.mu.Unlock()
		return
	}
	t.delivering = true
	t.mu.Unlock()
	t.run()
}

// Flush delivers the latest update now, if it is not delivered yet: the
// final totals before the caller reports the end.
func (t *ProgressThrottle) Flush() {
	t.mu.Lock()
	if !t.pending {
		t.mu.Unlock()
		return
	}
	if t.delivering {
		t.flush = true
		t.mu.Unlock()
		return
	}
	t.armed = 0 // the timer, if any, has nothing left to do
	t.delivering = true
	t.mu.Unlock()
	t.run()
}

func (t *ProgressThrottle) waitLocked() time.Duration {
	if t.last.IsZero() {
		return 0
	}
	return t.interval - t.clock.Now().Sub(t.last)
}

func (t *ProgressThrottle) armLocked(wait time.Duration) {
	t.gen++
	g := t.gen
	t.armed = g
	t.clock.AfterFunc(wait, func() {
		t.mu.Lock()
		if t.armed != g || t.delivering {
			t.mu.Unlock()
			return
		}
		t.armed = 0
		t.delivering = true
		t.mu.Unlock()
		t.run()
	})
}

// run delivers until nothing is pending or the next delivery must wait.
func (t *ProgressThrottle) run() {
	for {
		t.mu.Lock()
		p := t.latest
		t.pending, t.flush = false, false
		same := t.any && sameTotals(p, t.delivered)
		if !same {
			t.last, t.delivered, t.any = t.clock.Now(), p, true
		}
		t.mu.Unlock()
		if !same { // the rate alone changing, after the end, is not news
			t.fn(p) // unlocked: fn may call the queue, which updates again
		}
		t.mu.Lock()
		if !t.pending {
			t.delivering = false
			t.mu.Unlock()
			return
		}
		if wait := t.waitLocked(); wait > 0 && !t.flush {
			t.delivering = false
			t.armLocked(wait)
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
	}
}

// sameTotals reports whether a and b differ at most in their rate and ETA.
func sameTotals(a, b QueueProgress) bool {
	a.BytesPerSecond, a.ETA = b.BytesPerSecond, b.ETA
	return a == b
}
