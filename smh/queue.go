package smh

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// QueueOptions configure a Queue. Zero values mean the documented defaults.
type QueueOptions struct {
	// Concurrency is the number of parts in flight across the whole queue
	// (a small file's single PUT counts as one); default 4.
	Concurrency int
	// Files is the number of files under way at once, each with its begin,
	// parts and confirm: several small files overlap their API round trips
	// while the parts of big ones share Concurrency; default 8.
	Files int
	// OnProgress is called after every change of a file's bytes or state.
	OnProgress func(QueueProgress)
	// OnFile is called when a file starts, finishes, fails or is cancelled.
	OnFile func(QueueFile)
	Clock  Clock // default: the Client's clock
}

// QueueProgress totals a queue.
type QueueProgress struct {
	Loaded, Total        int64 // bytes stored or in flight, of all files added
	Done, Failed, Left   int   // files stored, failed (kept for RetryFailed), not finished
	BytesPerSecond       float64
	ETA                  time.Duration // at BytesPerSecond; 0 when unknown
	FilesAdded, Canceled int
}

// File states in a QueueFile.
const (
	FilePending   = "pending"
	FileUploading = "uploading"
	FileDone      = "done"
	FileFailed    = "failed"
	FileCanceled  = "canceled"
)

// QueueFile is one file of a queue, as Add numbered it.
type QueueFile struct {
	Index int
	Path  string
	Size  int64
	State string
	Info  *FileInfo // when done
	Err   error     // when failed or cancelled: the file's own *Error
}

// Queue uploads many files through one pool of part slots: Concurrency
// counts parts across every file, files start in the order added, a
// failing file fails alone (its error is kept and RetryFailed resumes it
// from the parts the server holds), and files may be added while it runs.
// Its methods are safe to call from any goroutine.
type Queue struct {
	c     *Client
	put   PartPutter
	o     QueueOptions
	slots *Slots
	clock Clock

	mu       sync.Mutex
	files    []*queued
	pending  []int // indexes waiting to start, in order
	running  int
	started  bool
	paused   bool
	canceled bool
	began    time.Time
	loaded   int64 // bytes of finished files plus the progress of running ones
	total    int64
	states   map[string]int // files by state, so that Progress does not walk them all
	changed  chan struct{}  // closed and replaced on every change, for Wait
}

type queued struct {
	body   Body
	task   *Task // made by Add; a retry runs it again
	job    *Job
	loaded int64
	file   QueueFile
}

// NewQueue returns an empty queue that has not started.
func NewQueue(c *Client, put PartPutter, o QueueOptions) (*Queue, error) {
	switch {
	case c == nil:
		return nil, invalid(CodeInvalidInput, "no client")
	case put == nil:
		return nil, invalid(CodeInvalidInput, "no part transport")
	case o.Concurrency < 0:
		return nil, invalid(CodeInvalidConcurrency, "concurrency %d is below 1", o.Concurrency)
	case o.Files < 0:
		return nil, invalid(CodeInvalidConcurrency, "files %d is below 1", o.Files)
	}
	if o.Files == 0 {
		o.Files = 8
	}
	clock := o.Clock
	if clock == nil {
		clock = c.clock
	}
	return &Queue{c: c, put: put, o: o, slots: NewSlots(o.Concurrency), clock: clock,
		states: map[string]int{}, changed: make(chan struct{})}, nil
}

// setLocked moves f to state.
func (q *Queue) setLocked(f *queued, state string) {
	if f.file.State != "" {
		q.states[f.file.State]--
	}
	q.states[state]++
	f.file.State = state
}

// Add queues body to be uploaded with o (its Slots and OnProgress are the
// queue's). It checks o as NewTask does, and returns the file's index.
func (q *Queue) Add(body Body, o Options) (int, error) {
	f := &queued{body: body, file: QueueFile{Path: o.Path}}
	o.Slots = q.slots
	if o.Clock == nil {
		o.Clock = q.clock
	}
	o.OnProgress = func(p Progress) { q.fileProgress(f, p.Loaded) }
	task, err := NewTask(q.c, q.put, body, o)
	if err != nil {
		return -1, err
	}
	f.task, f.file.Size = task, body.Size()
	q.mu.Lock()
	i := len(q.files)
	f.file.Index = i
	if q.canceled {
		q.setLocked(f, FileCanceled)
		f.file.Err = canceledError(nil, "")
	} else {
		q.setLocked(f, FilePending)
		q.pending = append(q.pending, i)
	}
	q.files = append(q.files, f)
	q.total += body.Size()
	events := q.kickLocked()
	q.changedLocked()
	q.mu.Unlock()
	q.emit(events)
	return i, nil
}

// reject records a file that cannot be queued as failed with err, so that
// it is among the queue's outcomes; RetryFailed leaves it alone.
func (q *Queue) reject(path string, size int64, err error) {
	q.mu.Lock()
	f := &queued{file: QueueFile{Index: len(q.files), Path: path, Size: size, Err: err}}
	q.setLocked(f, FileFailed)
	q.files = append(q.files, f)
	q.changedLocked()
	q.mu.Unlock()
	q.emit([]QueueFile{f.file})
}

// Start starts the queue; files added later start as slots free.
func (q *Queue) Start() {
	q.mu.Lock()
	if !q.started {
		q.started, q.began = true, q.clock.Now()
	}
	events := q.kickLocked()
	q.mu.Unlock()
	q.emit(events)
}

// Pause pauses the files under way, keeping their parts, and starts no more.
func (q *Queue) Pause() {
	q.mu.Lock()
	q.paused = true
	jobs := q.runningJobsLocked()
	q.mu.Unlock()
	for _, j := range jobs {
		j.Pause()
	}
}

// Resume continues the files that Pause stopped, and starts the rest.
func (q *Queue) Resume() {
	q.mu.Lock()
	q.paused = false
	jobs := q.runningJobsLocked()
	events := q.kickLocked()
	q.mu.Unlock()
	for _, j := range jobs {
		j.Resume()
	}
	q.emit(events)
}

// Cancel stops every file for good: those not started are dropped, those
// under way or failed are cancelled and their server tasks deleted. It
// returns the first error that prevented a delete.
func (q *Queue) Cancel(ctx context.Context) error {
	q.mu.Lock()
	q.canceled = true
	var events []QueueFile
	for _, i := range q.pending {
		f := q.files[i]
		q.setLocked(f, FileCanceled)
		f.file.Err = canceledError(nil, "")
		events = append(events, f.file)
	}
	q.pending = nil
	var running, failed []*queued // the failed ones' runs have ended: await will not see their cancel
	for _, f := range q.files {
		switch {
		case f.job == nil:
		case f.file.State == FileUploading:
			running = append(running, f)
		case f.file.State == FileFailed:
			failed = append(failed, f)
		}
	}
	q.changedLocked()
	q.mu.Unlock()
	q.emit(events)
	var first error
	for _, f := range append(running, failed...) {
		if err := f.job.Cancel(ctx); err != nil && first == nil {
			first = err
		}
	}
	q.mu.Lock()
	events = events[:0]
	for _, f := range failed {
		q.setLocked(f, FileCanceled)
		closeBody(f)
		events = append(events, f.file)
	}
	q.changedLocked()
	q.mu.Unlock()
	q.emit(events)
	return first
}

// closeBody closes f's file, if it is one that opens when read: stored or
// cancelled, nothing reads it again (a failed one stays for RetryFailed).
func closeBody(f *queued) {
	if c, ok := f.body.(io.Closer); ok {
		_ = c.Close()
	}
}

// RetryFailed queues the failed files again; each resumes from the parts
// the server kept for it.
func (q *Queue) RetryFailed() {
	q.mu.Lock()
	if q.canceled {
		q.mu.Unlock()
		return
	}
	for _, f := range q.files {
		if f.file.State != FileFailed || f.body == nil { // a rejected file cannot run
			continue
		}
		// The same task runs again: a multipart one resumes from the parts
		// its key holds, a simple one starts over.
		q.setLocked(f, FilePending)
		f.job, f.file.Err = nil, nil
		q.loaded -= f.loaded
		f.loaded = 0
		q.pending = append(q.pending, f.file.Index)
	}
	events := q.kickLocked()
	q.changedLocked()
	q.mu.Unlock()
	q.emit(events)
}

// Wait returns every file once none is pending or under way (failed files
// are an outcome: Wait does not wait for a RetryFailed), or ctx's error.
func (q *Queue) Wait(ctx context.Context) ([]QueueFile, error) {
	for {
		q.mu.Lock()
		idle := len(q.pending) == 0 && q.running == 0 && (q.started || q.canceled)
		ch := q.changed
		q.mu.Unlock()
		if idle {
			return q.snapshot(), nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return q.snapshot(), ctx.Err()
		}
	}
}

// Files returns every file as it stands.
func (q *Queue) Files() []QueueFile { return q.snapshot() }

func (q *Queue) snapshot() []QueueFile {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]QueueFile, len(q.files))
	for i, f := range q.files {
		out[i] = f.file
	}
	return out
}

func (q *Queue) runningJobsLocked() []*Job {
	var jobs []*Job
	for _, f := range q.files {
		if f.file.State == FileUploading {
			jobs = append(jobs, f.job)
		}
	}
	return jobs
}

// kickLocked starts pending files while file slots are free, and returns
// the events to emit once the lock is released.
func (q *Queue) kickLocked() []QueueFile {
	var events []QueueFile
	for q.started && !q.paused && !q.canceled && q.running < q.o.Files && len(q.pending) > 0 {
		f := q.files[q.pending[0]]
		q.pending = q.pending[1:]
		f.job = NewJob(f.task)
		q.setLocked(f, FileUploading)
		q.running++
		events = append(events, f.file)
		job := f.job
		job.Start()
		go q.await(f, job)
	}
	return events
}

// await records the outcome of f's job.
func (q *Queue) await(f *queued, job *Job) {
	fi, err := job.Result()
	q.mu.Lock()
	q.running--
	switch {
	case err == nil:
		q.setLocked(f, FileDone)
		f.file.Info = fi
		q.loaded += f.body.Size() - f.loaded
		f.loaded = f.body.Size()
		closeBody(f)
	case errors.Is(err, ErrCanceled):
		q.setLocked(f, FileCanceled)
		f.file.Err = err
		closeBody(f)
	default:
		q.setLocked(f, FileFailed)
		f.file.Err = err
	}
	events := append([]QueueFile{f.file}, q.kickLocked()...)
	q.changedLocked()
	q.mu.Unlock()
	q.emit(events)
}

func (q *Queue) fileProgress(f *queued, loaded int64) {
	q.mu.Lock()
	q.loaded += loaded - f.loaded
	f.loaded = loaded
	q.mu.Unlock()
	q.emit(nil)
}

func (q *Queue) changedLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// emit calls the callbacks, outside the lock: they may call the queue.
func (q *Queue) emit(events []QueueFile) {
	if q.o.OnFile != nil {
		for _, e := range events {
			q.o.OnFile(e)
		}
	}
	if q.o.OnProgress != nil {
		q.o.OnProgress(q.Progress())
	}
}

// Progress totals the queue now.
func (q *Queue) Progress() QueueProgress {
	q.mu.Lock()
	defer q.mu.Unlock()
	p := QueueProgress{Loaded: q.loaded, Total: q.total, FilesAdded: len(q.files), Done: q.states[FileDone],
		Failed: q.states[FileFailed], Canceled: q.states[FileCanceled], Left: q.states[FilePending] + q.states[FileUploading]}
	if q.started {
		if s := q.clock.Now().Sub(q.began).Seconds(); s > 0 {
			p.BytesPerSecond = float64(q.loaded) / s
		}
	}
	if p.BytesPerSecond > 0 {
		p.ETA = time.Duration(float64(q.total-q.loaded) / p.BytesPerSecond * float64(time.Second))
	}
	return p
}
