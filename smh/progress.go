package smh

import (
	"sync"
	"sync/atomic"
	"time"
)

// Progress is a snapshot of an upload. Loaded never goes backwards, even
// when a part is sent again or a resumed run finds fewer bytes kept than
// the last run reported.
type Progress struct {
	Loaded         int64   // bytes stored or in flight
	Total          int64   // file size
	PartsDone      int     // parts stored and verified
	PartsTotal     int     // parts in the plan
	BytesPerSecond float64 // average of this run
}

// progressTracker merges per-part progress from concurrent senders into
// ordered, throttled callbacks.
type progressTracker struct {
	fn       func(Progress)
	clock    Clock
	interval time.Duration

	mu          sync.Mutex
	total       int64
	partsTotal  int
	committed   int64
	partsDone   int
	inflight    map[int]int64
	reported    int64
	lastEmit    time.Time
	start       time.Time
	startLoaded int64
	mark        *atomic.Int64 // the task's high-water mark, across its runs
}

// newProgress tracks one run of a task; mark carries Loaded's high-water
// mark from run to run: bytes in flight at a pause are lost, and a bar
// that went back at every resume would look broken.
func newProgress(fn func(Progress), clock Clock, interval time.Duration, total int64, parts int, mark *atomic.Int64) *progressTracker {
	return &progressTracker{fn: fn, clock: clock, interval: interval, total: total, partsTotal: parts,
		inflight: map[int]int64{}, start: clock.Now(), reported: mark.Load(), mark: mark}
}

// keep records parts found on the server at resume.
func (p *progressTracker) keep(parts int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partsDone += parts
	p.committed += bytes
	p.startLoaded = p.committed
	p.emitLocked(true)
}

func (p *progressTracker) update(n int, sent int64) {
	if p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight[n] = sent
	p.emitLocked(false)
}

// reset forgets a failed attempt's bytes; Loaded holds still until the
// retry passes the high-water mark.
func (p *progressTracker) reset(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.inflight, n)
}

func (p *progressTracker) done(n int, length int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.inflight, n)
	p.committed += length
	p.partsDone++
	p.emitLocked(true)
}

func (p *progressTracker) emitLocked(force bool) {
	if p.fn == nil {
		return
	}
	loaded := p.committed
	for _, s := range p.inflight {
		loaded += s
	}
	loaded = min(max(loaded, p.reported), p.total)
	now := p.clock.Now()
	if !force && (loaded == p.reported || now.Sub(p.lastEmit) < p.interval) {
		return
	}
	p.reported = loaded
	p.mark.Store(loaded)
	p.lastEmit = now
	var rate float64
	if el := now.Sub(p.start).Seconds(); el > 0 {
		rate = float64(loaded-p.startLoaded) / el
	}
	// Called under the lock so callbacks arrive one at a time and in order.
	p.fn(Progress{Loaded: loaded, Total: p.total, PartsDone: p.partsDone, PartsTotal: p.partsTotal, BytesPerSecond: rate})
}
