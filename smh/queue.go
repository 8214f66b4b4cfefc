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
	// Concurrency is the number of parts in flight across the whole queue's
	// multipart files; default 4.
	Concurrency int
	// Files is the number of multipart files under way at once, each with
	// its begin, parts and confirm, their parts sharing Concurrency;
	// default 8.
	Files int
	// SmallFiles is the number of small files (under SimpleThreshold: one
	// PUT each) under way at once; default 16. They take no part slot: a
	// small file is mostly round trips (begin, the PUT, confirm), so it is
	// overlapping many that makes a folder of them fast, and a lane of
	// their own lets neither kind wait for the other. Their bodies in
	// flight stay below SmallFiles × SimpleThreshold bytes.
	SmallFiles int
	// OnProgress is called after every change of a file's bytes or state.
	OnProgress func(QueueProgress)
	// OnFile is called when a file starts, finishes, fails or is cancelled,
	// and when AddFile skips it.
	OnFile func(QueueFile)
	Clock  Clock // default: the Client's clock
	// Store, if set, keeps a resume record for each file added with an ID
	// (AddFile), so that a later queue offered the same file (a reloaded
	// page) continues where this one stopped: a multipart file's record
	// holds its confirm key while it is under way (as a ResumableTask's),
	// and every stored file, small or not, leaves a done record, so that it
	// is skipped (FileSkipped) with no request. Records are hints: the
	// server's part list stays the truth. Cancel drops the queue's records.
	Store ResumeStore
	// ResumeTTL is how long a record is honoured after it was saved, by the
	// queue's clock; default DefaultResumeTTL. An expired record is
	// ignored and deleted when a file asks for it, and NewQueue deletes
	// every expired one when Store is a ResumeLister, so that records of
	// queues never offered again do not pile up.
	ResumeTTL time.Duration
}

// DefaultResumeTTL is QueueOptions.ResumeTTL's default: long enough to come
// back to an interrupted queue the next day, short enough that the records
// of a busy page stay a few thousand.
const DefaultResumeTTL = 7 * 24 * time.Hour

// QueueProgress totals a queue.
type QueueProgress struct {
	Loaded, Total        int64         // bytes stored or in flight, of all files added
	Done, Failed, Left   int           // files stored (skipped ones included), failed (kept for RetryFailed), not finished
	Skipped              int           // of Done: files a resume record showed to be stored already
	BytesPerSecond       float64       // of the bytes sent by this queue: skipped files do not count
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
	// FileSkipped is a file stored by an earlier queue, as its resume record
	// says: nothing was sent. Progress counts it as done (its bytes as
	// loaded), so that done + failed + left + canceled = files added.
	FileSkipped = "skipped"
)

// QueueFile is one file of a queue, as Add numbered it.
type QueueFile struct {
	Index int
	Path  string
	Size  int64
	State string
	Info  *FileInfo // when done; when skipped, as the earlier queue stored it
	Err   error     // when failed or cancelled: the file's own *Error
}

// Queue uploads many files in two lanes: multipart files share one pool of
// Concurrency part slots, Files of them under way at once, and small files
// (one PUT each) run SmallFiles at once beside them. Files start in the
// order added within their lane, a
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
	pending  [lanes][]int // indexes waiting to start, in order, by lane
	running  [lanes]int
	started  bool
	paused   bool
	canceled bool
	began    time.Time
	loaded   int64 // bytes of finished files plus the progress of running ones
	total    int64
	skipped  int64          // bytes of skipped files, in loaded but not sent
	ttl      time.Duration  // of resume records
	states   map[string]int // files by state, so that Progress does not walk them all
	changed  chan struct{}  // closed and replaced on every change, for Wait
}

// A queue's lanes: files are small (one PUT) or multipart.
const (
	laneMultipart = iota
	laneSmall
	lanes
)

type queued struct {
	body   Body
	lane   int
	task   Runner // made by Add; a retry runs it again
	key    string // in the queue's Store; "" when not resumable
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
	case o.SmallFiles < 0:
		return nil, invalid(CodeInvalidConcurrency, "small files %d is below 1", o.SmallFiles)
	}
	if o.Files == 0 {
		o.Files = 8
	}
	if o.SmallFiles == 0 {
		o.SmallFiles = 16
	}
	clock := o.Clock
	if clock == nil {
		clock = c.clock
	}
	if o.ResumeTTL < 0 {
		return nil, invalid(CodeInvalidInput, "resume TTL %v is negative", o.ResumeTTL)
	}
	q := &Queue{c: c, put: put, o: o, slots: NewSlots(o.Concurrency), clock: clock, ttl: o.ResumeTTL,
		states: map[string]int{}, changed: make(chan struct{})}
	if q.ttl == 0 {
		q.ttl = DefaultResumeTTL
	}
	q.sweep()
	return q, nil
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
// queue's). It checks o as NewTask does, and returns the file's index; a
// file it refuses is not queued. It is AddFile without an ID.
func (q *Queue) Add(body Body, o Options) (int, error) { return q.AddFile(body, o, nil) }

// AddFile is Add for a file with an identity, which makes it resumable when
// the queue has a Store: id names the local file (Name, LastModified);
// its Size and Path are taken from body and o, and an empty Endpoint,
// LibraryID, SpaceID or UserID from the queue's Client. A file that an
// earlier queue stored (its done record under ResumeKey(id) has not
// expired) is skipped at once, with no request: it is FileSkipped, and
// OnFile hears of it before AddFile returns. Otherwise a multipart file
// resumes the task its record names, sending only the parts the server
// lacks. A nil id, or no Store, makes AddFile Add.
func (q *Queue) AddFile(body Body, o Options, id *FileID) (int, error) {
	f := &queued{body: body, file: QueueFile{Path: o.Path}}
	o.Slots = q.slots
	if body.Size() < SimpleThreshold {
		// Its one PUT is bounded by the lane (Slots nil: no part slot).
		f.lane, o.Slots = laneSmall, nil
	}
	if o.Clock == nil {
		o.Clock = q.clock
	}
	o.OnProgress = func(p Progress) { q.fileProgress(f, p.Loaded) }
	task, err := NewTask(q.c, q.put, body, o)
	if err != nil {
		return -1, err
	}
	f.task, f.file.Size = task, body.Size()
	if q.o.Store != nil && id != nil {
		f.key = ResumeKey(q.fileID(*id, body, o))
		if rec, ok := q.record(f.key, body.Size(), o.Path); ok && rec.Done {
			return q.skip(f, rec), nil
		}
		rt, err := NewResumableTask(q.c, q.put, body, o, q.o.Store, f.key)
		if err != nil {
			return -1, err
		}
		f.task = rt
	}
	q.mu.Lock()
	i := len(q.files)
	f.file.Index = i
	if q.canceled {
		q.setLocked(f, FileCanceled)
		f.file.Err = canceledError(nil, "")
	} else {
		q.setLocked(f, FilePending)
		q.pending[f.lane] = append(q.pending[f.lane], i)
	}
	q.files = append(q.files, f)
	q.total += body.Size()
	events := q.kickLocked()
	q.changedLocked()
	q.mu.Unlock()
	q.emit(events)
	return i, nil
}

// skip records f as stored by an earlier queue.
func (q *Queue) skip(f *queued, rec ResumeRecord) int {
	q.mu.Lock()
	i := len(q.files)
	f.file.Index, f.file.Info = i, rec.File
	q.setLocked(f, FileSkipped)
	f.loaded = f.body.Size()
	q.files = append(q.files, f)
	q.total += f.loaded
	q.loaded += f.loaded
	q.skipped += f.loaded
	q.changedLocked()
	q.mu.Unlock()
	closeBody(f)
	q.emit([]QueueFile{f.file})
	return i
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
	var idle []*queued          // not started: only a resumed one has a server task to delete
	for _, f := range q.files { // the pending files, in the order added
		if f.file.State != FilePending {
			continue
		}
		q.setLocked(f, FileCanceled)
		f.file.Err = canceledError(nil, "")
		events = append(events, f.file)
		idle = append(idle, f)
	}
	q.pending = [lanes][]int{}
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
	for _, f := range idle {
		if err := f.task.Cancel(ctx); err != nil && first == nil {
			first = err
		}
	}
	q.dropRecords()
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
		q.pending[f.lane] = append(q.pending[f.lane], f.file.Index)
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
		idle := len(q.pending[laneMultipart])+len(q.pending[laneSmall]) == 0 && q.running == [lanes]int{} &&
			(q.started || q.canceled)
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

// kickLocked starts pending files while their lane has room, and returns
// the events to emit once the lock is released.
func (q *Queue) kickLocked() []QueueFile {
	var events []QueueFile
	if !q.started || q.paused || q.canceled {
		return nil
	}
	limit := [lanes]int{laneMultipart: q.o.Files, laneSmall: q.o.SmallFiles}
	for lane := range lanes {
		for q.running[lane] < limit[lane] && len(q.pending[lane]) > 0 {
			f := q.files[q.pending[lane][0]]
			q.pending[lane] = q.pending[lane][1:]
			f.job = NewJob(f.task)
			q.setLocked(f, FileUploading)
			q.running[lane]++
			events = append(events, f.file)
			job := f.job
			job.Start()
			go q.await(f, job)
		}
	}
	return events
}

// await records the outcome of f's job.
func (q *Queue) await(f *queued, job *Job) {
	fi, err := job.Result()
	q.mu.Lock()
	q.running[f.lane]--
	switch {
	case err == nil:
		q.setLocked(f, FileDone)
		f.file.Info = fi
		q.loaded += f.body.Size() - f.loaded
		f.loaded = f.body.Size()
		closeBody(f)
		q.saveDone(f, fi)
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
	p := QueueProgress{Loaded: q.loaded, Total: q.total, FilesAdded: len(q.files), Done: q.states[FileDone] + q.states[FileSkipped],
		Skipped: q.states[FileSkipped], Failed: q.states[FileFailed], Canceled: q.states[FileCanceled],
		Left: q.states[FilePending] + q.states[FileUploading]}
	if q.started {
		if s := q.clock.Now().Sub(q.began).Seconds(); s > 0 {
			p.BytesPerSecond = float64(q.loaded-q.skipped) / s // skipped bytes took no time
		}
	}
	if p.BytesPerSecond > 0 {
		p.ETA = time.Duration(float64(q.total-q.loaded) / p.BytesPerSecond * float64(time.Second))
	}
	return p
}
