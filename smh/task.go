package smh

// The task's life: options, checks, Run, Pause and Cancel, and beginning on the server.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure one upload. Zero values mean the documented defaults.
type Options struct {
	Path         string // target path in the library, e.g. "photos/2026/a.jpg"; required
	Conflict     string // ConflictRename (default), ConflictOverwrite or ConflictAsk
	TrafficLimit int64  // storage upload limit in bytes per second; 0 for none
	// PartSize is the multipart part size, 1 MiB to 5 GiB; default 8 MiB.
	// It grows by whole MiB when the file would need more than 10,000 parts.
	PartSize int64
	// Concurrency is the number of parts in flight; default 4.
	Concurrency int
	// Slots, if set, is a pool of part slots shared with other tasks: every
	// part (and a simple upload's one PUT) holds one while it is sent, and
	// Concurrency is then the pool's size, counted across the tasks.
	Slots *Slots
	// ConfirmKey resumes an existing multipart task instead of beginning one.
	ConfirmKey string
	// DisableCreateParents turns off creating missing parent folders when
	// SMH answers DirectoryNotFound at begin.
	DisableCreateParents bool
	// DisableIntegrityCheck skips comparing each part's CRC-64 with the
	// storage host's x-cos-hash-crc64ecma and sending the file CRC at confirm.
	DisableIntegrityCheck bool
	// InstantUpload offers SMH the file's hashes first (files of 1 MiB or
	// more whose Body is an io.ReaderAt): when the library already holds the
	// same bytes, the file is created with nothing sent. It reads the file
	// once more to hash it, so it is off by default.
	InstantUpload    bool
	Retry            RetryPolicy   // per part
	StallTimeout     time.Duration // a part attempt with no progress for this long is retried; default 60s
	ProgressInterval time.Duration // minimum time between progress callbacks; default 100ms
	OnProgress       func(Progress)
	OnEvent          func(Event)
	Clock            Clock // default: the Client's clock
}

// Task is one upload. Run it; Pause stops it keeping its parts, Run again
// resumes; Cancel stops it and deletes it on the server. Its methods are
// safe to call from any goroutine.
type Task struct {
	c     *Client
	put   PartPutter
	body  Body
	o     Options
	path  string
	clock Clock
	retry RetryPolicy

	mu       sync.Mutex
	key      string
	simple   bool // the current key is a simple-upload task
	partSize int64
	running  chan struct{} // closed when the current run ends; nil when idle
	stop     context.CancelCauseFunc
	canceled bool
	result   *FileInfo
	// sent is the confirm last sent for key: a pause or a lost answer may
	// have cut it off after the server created the file, so the next run
	// asks before it uploads again (and, with conflict rename, makes a copy).
	sent *sentConfirm

	loaded atomic.Int64 // Progress.Loaded's high-water mark over the task's runs
}

type sentConfirm struct {
	key string
	crc *uint64
}

// NewTask checks its arguments and returns a Task that has not started.
func NewTask(c *Client, put PartPutter, body Body, o Options) (*Task, error) {
	switch {
	case c == nil:
		return nil, invalid(CodeInvalidInput, "no client")
	case put == nil:
		return nil, invalid(CodeInvalidInput, "no part transport")
	case body == nil:
		return nil, invalid(CodeInvalidInput, "no file")
	}
	p, err := CleanPath(o.Path)
	if err != nil {
		return nil, err
	}
	switch o.Conflict {
	case "", ConflictRename, ConflictOverwrite, ConflictAsk:
	default:
		return nil, invalid(CodeInvalidInput, "conflict %q is not rename, overwrite or ask", o.Conflict)
	}
	if o.Concurrency < 0 {
		return nil, invalid(CodeInvalidConcurrency, "concurrency %d is below 1", o.Concurrency)
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultParallel
	}
	if o.TrafficLimit < 0 {
		return nil, invalid(CodeInvalidInput, "traffic limit %d is negative", o.TrafficLimit)
	}
	if o.StallTimeout < 0 || o.ProgressInterval < 0 {
		return nil, invalid(CodeInvalidInput, "negative timeout or interval")
	}
	if strings.ContainsAny(o.ConfirmKey, "/?#%& ") {
		return nil, invalid(CodeInvalidInput, "confirm key %q has illegal characters", o.ConfirmKey)
	}
	ps, err := PlanPartSize(body.Size(), o.PartSize)
	if err != nil {
		return nil, err
	}
	if o.StallTimeout == 0 {
		o.StallTimeout = time.Minute
	}
	if o.ProgressInterval == 0 {
		o.ProgressInterval = 100 * time.Millisecond
	}
	clock := o.Clock
	if clock == nil {
		clock = c.clock
	}
	return &Task{c: c, put: put, body: body, o: o, path: p, clock: clock, retry: o.Retry.withDefaults(),
		key: o.ConfirmKey, partSize: ps}, nil
}

// Upload runs a new Task to completion.
func Upload(ctx context.Context, c *Client, put PartPutter, body Body, o Options) (*FileInfo, error) {
	t, err := NewTask(c, put, body, o)
	if err != nil {
		return nil, err
	}
	return t.Run(ctx)
}

// ConfirmKey is the task's handle on the server, once it has one: pass it as
// Options.ConfirmKey to resume after a restart, or to Client.CancelUpload.
func (t *Task) ConfirmKey() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.key
}

// PartSize is the part size in use (after growth, or as found on resume).
func (t *Task) PartSize() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.partSize
}

// Run uploads until the file is confirmed, ctx ends, the task is paused or
// cancelled, or an error is final. After a pause or an error it may be
// called again and continues from the parts the server holds.
func (t *Task) Run(ctx context.Context) (*FileInfo, error) {
	t.mu.Lock()
	switch {
	case t.running != nil:
		t.mu.Unlock()
		return nil, invalid(CodeInvalidInput, "task is already running")
	case t.canceled:
		t.mu.Unlock()
		return nil, &Error{Op: "upload", Code: CodeCanceled, Err: ErrCanceled}
	case t.result != nil:
		fi := t.result
		t.mu.Unlock()
		return fi, nil
	}
	runCtx, stop := context.WithCancelCause(ctx)
	running := make(chan struct{})
	t.running, t.stop = running, stop
	t.mu.Unlock()

	ctx = withEvents(runCtx, t.o.OnEvent)
	fi, err := t.run(ctx)
	if err != nil {
		err = t.finalError(runCtx, err)
	}
	stop(nil)
	t.mu.Lock()
	t.running, t.stop = nil, nil
	if err == nil {
		t.result = fi
	}
	key := t.key
	t.mu.Unlock()
	close(running)

	state := StateDone
	switch {
	case errors.Is(err, ErrPaused):
		state = StatePaused
	case errors.Is(err, ErrCanceled):
		state = StateCanceled
	case err != nil:
		state = StateFailed
	}
	emit(withEvents(context.Background(), t.o.OnEvent), Event{Type: EventState, State: state, ConfirmKey: key})
	return fi, err
}

// finalError makes every failure an *Error that carries the confirm key, and
// reports a pause or cancel as such rather than as the errors it caused.
func (t *Task) finalError(runCtx context.Context, err error) error {
	key := t.ConfirmKey()
	switch c := context.Cause(runCtx); {
	case errors.Is(c, ErrPaused):
		return &Error{Op: "upload", Code: CodePaused, ConfirmKey: key, Err: ErrPaused}
	case errors.Is(c, ErrCanceled):
		return &Error{Op: "upload", Code: CodeCanceled, ConfirmKey: key, Err: ErrCanceled}
	}
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Op: "upload", Code: CodeCanceled, Message: err.Error(), Err: err}
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			e.Code = CodeNetwork
		}
		return e
	}
	if e.ConfirmKey == "" {
		e.ConfirmKey = key
	}
	return err
}

// Pause stops the running upload; uploaded parts stay on the server and Run
// continues from them. It does not wait for the run to end.
func (t *Task) Pause() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stop != nil {
		t.stop(ErrPaused)
	}
}

// Cancel stops the upload, waits for its requests to end, and deletes the
// task and its parts on the server. The task cannot run again.
func (t *Task) Cancel(ctx context.Context) error {
	t.mu.Lock()
	t.canceled = true
	stop, running := t.stop, t.running
	t.mu.Unlock()
	if stop != nil {
		stop(ErrCanceled)
		select {
		case <-running:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	t.mu.Lock()
	key, finished := t.key, t.result != nil
	t.mu.Unlock()
	if key == "" || finished {
		return nil
	}
	return t.c.CancelUpload(withEvents(ctx, t.o.OnEvent), key)
}

func (t *Task) run(ctx context.Context) (*FileInfo, error) {
	t.mu.Lock()
	simple := t.key == "" && t.body.Size() < SimpleThreshold || t.simple
	t.mu.Unlock()
	emit(ctx, Event{Type: EventState, State: StateUploading, ConfirmKey: t.ConfirmKey()})
	if simple {
		return t.runSimple(ctx)
	}
	return t.runMultipart(ctx)
}

func (t *Task) setKey(key string, simple bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.key, t.simple = key, simple
}

func (t *Task) begin(ctx context.Context, fn func(context.Context, BeginOptions) (*BeginResult, error)) (*BeginResult, error) {
	o := BeginOptions{Path: t.path, Size: t.body.Size(), Conflict: t.o.Conflict, TrafficLimit: t.o.TrafficLimit}
	if t.o.InstantUpload {
		inner := fn
		fn = func(ctx context.Context, o BeginOptions) (*BeginResult, error) { return t.beginInstant(ctx, inner, o) }
	}
	res, err := fn(ctx, o)
	var e *Error
	if i := strings.LastIndexByte(t.path, '/'); i > 0 && errors.As(err, &e) && e.Code == "DirectoryNotFound" && !t.o.DisableCreateParents {
		if err := t.c.CreateDirectory(ctx, t.path[:i]); err != nil {
			return nil, err
		}
		res, err = fn(ctx, o)
	}
	if err == nil && res.Upload == nil && res.File == nil {
		// 202 asks for the full hash, which only an instant upload sends.
		return nil, &Error{Op: "begin", Status: 202, Code: CodeBadResponse, Message: "server asked for a full hash that was not offered"}
	}
	return res, err
}
