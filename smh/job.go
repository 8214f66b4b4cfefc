package smh

import (
	"context"
	"errors"
	"sync"
)

// Runner is an upload that a Job drives: *Task and *ResumableTask. Run must
// treat a context cancelled with the cause ErrPaused as a pause (return an
// error wrapping ErrPaused, keep the task resumable).
type Runner interface {
	Run(ctx context.Context) (*FileInfo, error)
	Cancel(ctx context.Context) error
	ConfirmKey() string
}

// Job runs an upload in the background for callers that must not block,
// such as a browser's event loop: Start returns at once, Pause and Resume
// switch it, Cancel stops it for good, and Done and Result deliver its one
// outcome. A pause is not an outcome; a failure, a cancel and a success
// are, and nothing runs after one. Its methods are safe to call from any
// goroutine, in any order, any number of times.
type Job struct {
	r Runner

	mu       sync.Mutex
	stop     context.CancelCauseFunc // of the run in progress
	running  bool                    // a Run has not returned yet
	pausing  bool                    // the run in progress was asked to pause
	again    bool                    // Resume came while a pausing run was ending
	canceled bool
	finished bool
	deleted  chan struct{} // closed when the first Cancel has dealt with the server task
	done     chan struct{}
	fi       *FileInfo
	err      error
}

// NewJob returns a Job for r that has not started.
func NewJob(r Runner) *Job {
	return &Job{r: r, deleted: make(chan struct{}), done: make(chan struct{})}
}

// Start starts the upload; it is Resume under another name.
func (j *Job) Start() { j.Resume() }

// Resume runs the upload if it is not running and has no outcome yet. A
// resumed Task lists the parts the server holds and sends the rest.
func (j *Job) Resume() {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.finished || j.canceled:
	case j.running:
		j.again = j.pausing
	default:
		j.startLocked()
	}
}

func (j *Job) startLocked() {
	ctx, stop := context.WithCancelCause(context.Background())
	j.stop, j.running, j.pausing, j.again = stop, true, false, false
	go j.run(ctx, stop)
}

func (j *Job) run(ctx context.Context, stop context.CancelCauseFunc) {
	fi, err := j.r.Run(ctx)
	stop(nil)
	j.mu.Lock()
	canceled := err != nil && j.canceled
	j.mu.Unlock()
	if canceled {
		// The outcome of a cancel waits for the server task to be deleted,
		// so that it means "nothing left" for callers that cannot wait on
		// Cancel (an aborted signal). The run counts as running until then,
		// so Cancel does not settle the outcome first.
		<-j.deleted
		err = canceledError(err, j.r.ConfirmKey())
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.running, j.stop = false, nil
	if !canceled && errors.Is(err, ErrPaused) {
		if j.again {
			j.startLocked()
		}
		return
	}
	j.finishLocked(fi, err)
}

// Pause stops the running upload, keeping its parts; Resume continues it.
func (j *Job) Pause() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.again = false
	if j.running && !j.pausing {
		j.pausing = true
		j.stop(ErrPaused)
	}
}

// Cancel stops the upload for good and deletes its task on the server, also
// after a failure (a failed upload keeps its parts until cancelled). If the
// upload had no outcome yet, its outcome is an error wrapping ErrCanceled,
// delivered once the server task is deleted (or the delete failed). Cancel
// returns then too, with the error that prevented the delete.
func (j *Job) Cancel(ctx context.Context) error {
	j.mu.Lock()
	first := !j.canceled
	j.canceled = true
	stop := j.stop
	j.mu.Unlock()
	if stop != nil {
		stop(ErrCanceled)
	}
	err := j.r.Cancel(ctx) // waits for the run to end
	if first {
		close(j.deleted)
	}
	j.mu.Lock()
	if !j.running && !j.finished {
		j.finishLocked(nil, canceledError(nil, j.r.ConfirmKey()))
	}
	j.mu.Unlock()
	return err
}

func (j *Job) finishLocked(fi *FileInfo, err error) {
	if j.finished {
		return
	}
	j.finished, j.fi, j.err = true, fi, err
	close(j.done)
}

// Done is closed when the upload has its outcome.
func (j *Job) Done() <-chan struct{} { return j.done }

// Result returns the outcome once Done is closed: the file, or an *Error.
func (j *Job) Result() (*FileInfo, error) {
	<-j.done
	return j.fi, j.err
}

// canceledError reports a cancel, keeping the confirm key an error carried,
// or else the task's.
func canceledError(err error, key string) error {
	if errors.Is(err, ErrCanceled) {
		return err
	}
	if k := ConfirmKeyOf(err); k != "" {
		key = k
	}
	return &Error{Op: "upload", Code: CodeCanceled, ConfirmKey: key, Err: ErrCanceled}
}
