package smh

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
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

// runSimple sends a small file in one PUT. Simple-upload parameters cannot
// be renewed, so an expiry begins a new task and drops the old one.
func (t *Task) runSimple(ctx context.Context) (*FileInfo, error) {
	if old := t.ConfirmKey(); old != "" {
		_ = t.c.CancelUpload(ctx, old) // a paused simple task is restarted, not resumed
		t.setKey("", true)
	}
	res, err := t.begin(ctx, t.c.BeginSimple)
	if err != nil || res.File != nil {
		return fileOf(res), err
	}
	t.setKey(res.Upload.ConfirmKey, true)
	s := t.newSigner(res.Upload, func(ctx context.Context) (*UploadInfo, error) {
		res, err := t.begin(ctx, t.c.BeginSimple)
		if err != nil {
			return nil, err
		}
		if res.File != nil || res.Upload == nil {
			return nil, &Error{Op: "begin", Code: CodeBadResponse, Message: "restart answered without upload info"}
		}
		old := t.ConfirmKey()
		t.setKey(res.Upload.ConfirmKey, true)
		_ = t.c.CancelUpload(ctx, old)
		return res.Upload, nil
	})
	size := t.body.Size()
	prog := newProgress(t.o.OnProgress, t.clock, t.o.ProgressInterval, size, 1)
	crc, err := t.sendSlotted(ctx, s, prog, 0, 0, size)
	if err != nil {
		return nil, err
	}
	return t.confirm(ctx, []uint64{crc}, []int64{size})
}

func fileOf(r *BeginResult) *FileInfo {
	if r == nil {
		return nil
	}
	return r.File
}

func (t *Task) runMultipart(ctx context.Context) (*FileInfo, error) {
	size := t.body.Size()
	key := t.ConfirmKey()
	var info *UploadInfo
	var kept map[int]uint64
	if key != "" {
		st, err := t.c.UploadStatus(ctx, key)
		if err != nil {
			return nil, err
		}
		if st.Confirmed {
			return nil, &Error{Op: "resume", Code: "UploadComplete", Message: "the task was already confirmed", ConfirmKey: key}
		}
		if st.UploadID == "" || st.UploadPartInfo == nil {
			return nil, &Error{Op: "resume", Code: CodeBadResponse, Message: "the task is not a multipart upload", ConfirmKey: key}
		}
		info = st.UploadPartInfo
		if info.UploadID == "" {
			info.UploadID = st.UploadID
		}
		t.adoptPartSize(st.Parts, size)
		if kept, err = t.verifyParts(ctx, st.Parts); err != nil {
			return nil, err
		}
		emit(ctx, Event{Type: EventResume, PartsDone: len(kept), ConfirmKey: key})
	} else {
		res, err := t.begin(ctx, t.c.BeginMultipart)
		if err != nil || res.File != nil {
			return fileOf(res), err
		}
		info = res.Upload
		key = info.ConfirmKey
		t.setKey(key, false)
	}
	s := t.newSigner(info, func(ctx context.Context) (*UploadInfo, error) {
		ni, err := t.c.Renew(ctx, key, t.o.TrafficLimit)
		if err == nil && ni.UploadID == "" {
			ni.UploadID = info.UploadID
		}
		return ni, err
	})

	ps := t.PartSize()
	n := partCount(size, ps)
	crcs := make([]uint64, n)
	lens := make([]int64, n)
	var keptBytes int64
	for i := range n {
		_, lens[i] = partRange(size, ps, i+1)
		if c, ok := kept[i+1]; ok {
			crcs[i] = c
			keptBytes += lens[i]
		}
	}
	prog := newProgress(t.o.OnProgress, t.clock, t.o.ProgressInterval, size, n)
	prog.keep(len(kept), keptBytes)

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.o.Slots.limit(t.o.Concurrency))
	for i := range n {
		if _, ok := kept[i+1]; ok {
			continue
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if gctx.Err() != nil {
				return nil // g.Go waited for a slot while another part failed: the group's error stands
			}
			off, length := partRange(size, ps, i+1)
			crc, err := t.sendSlotted(gctx, s, prog, i+1, off, length)
			crcs[i] = crc // each goroutine owns its slot
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		// Paused or cancelled between parts: some were never started.
		return nil, &Error{Op: "upload", Code: CodeCanceled, Err: cause(ctx)}
	}
	return t.confirm(ctx, crcs, lens)
}

func (t *Task) confirm(ctx context.Context, crcs []uint64, lens []int64) (*FileInfo, error) {
	emit(ctx, Event{Type: EventState, State: StateConfirming, ConfirmKey: t.ConfirmKey()})
	var o ConfirmOptions
	if !t.o.DisableIntegrityCheck {
		var whole uint64
		for i, c := range crcs {
			whole = CombineCRC64(whole, c, lens[i])
		}
		o.CRC64 = &whole
	}
	key := t.ConfirmKey()
	fi, err := t.c.Confirm(ctx, key, o)
	var e *Error
	if errors.As(err, &e) && e.Status == 409 && e.Code == "UploadComplete" {
		// A confirm whose answer was lost and that was sent again: the
		// file exists. It is ours if its CRC is the one we sent.
		return t.confirmedEarlier(ctx, key, o.CRC64, err)
	}
	return fi, err
}

// confirmedEarlier finds the file an earlier confirm of this task created.
func (t *Task) confirmedEarlier(ctx context.Context, key string, crc *uint64, confirmErr error) (*FileInfo, error) {
	st, err := t.c.UploadStatus(ctx, key)
	if err != nil || !st.Confirmed || len(st.Path) == 0 {
		return nil, confirmErr
	}
	fi, err := t.c.HeadFile(ctx, strings.Join(st.Path, "/"))
	if err != nil {
		return nil, confirmErr
	}
	if crc != nil && fi.CRC64 != FormatCRC64(*crc) {
		return nil, &Error{Op: "confirm", Code: CodeIntegrity, ConfirmKey: key, Err: ErrIntegrity,
			Message: fmt.Sprintf("the task was confirmed earlier, but %s has CRC-64 %s, not %d", strings.Join(st.Path, "/"), fi.CRC64, *crc)}
	}
	return fi, nil
}

// adoptPartSize takes the part size of a task begun earlier, which may
// differ from this run's option: the parts must line up with the old ones.
func (t *Task) adoptPartSize(parts []UploadedPart, size int64) {
	for _, p := range parts {
		if p.PartNumber == 1 && p.Size >= MinPartSize && p.Size < size && p.Size <= MaxPartSize &&
			partCount(size, p.Size) <= MaxParts {
			t.mu.Lock()
			t.partSize = p.Size
			t.mu.Unlock()
		}
	}
}

// verifyParts keeps the listed parts whose size and MD5 match the local
// bytes and returns their CRCs; the others will be sent again.
func (t *Task) verifyParts(ctx context.Context, parts []UploadedPart) (map[int]uint64, error) {
	size, ps := t.body.Size(), t.PartSize()
	n := partCount(size, ps)
	kept := map[int]uint64{}
	for _, p := range parts {
		if p.PartNumber < 1 || p.PartNumber > n {
			continue
		}
		off, length := partRange(size, ps, p.PartNumber)
		if p.Size != length {
			continue
		}
		sum, err := t.body.Sum(ctx, off, length)
		if err != nil {
			return nil, &Error{Op: "resume", PartNumber: p.PartNumber, Code: CodeSourceRead, Message: "reading the file: " + err.Error(), Err: ErrSourceRead}
		}
		if strings.EqualFold(strings.Trim(p.ETag, `"`), hex.EncodeToString(sum.MD5[:])) {
			kept[p.PartNumber] = sum.CRC64
		}
	}
	return kept, nil
}

// uploadParams is one generation of upload parameters.
type uploadParams struct {
	info    *UploadInfo
	gen     int
	issued  time.Time // server time when received
	noAhead bool      // too short-lived to renew ahead of expiration
}

// signer keeps the upload parameters fresh for all parts of a task.
type signer struct {
	t     *Task
	renew func(context.Context) (*UploadInfo, error)
	mu    sync.Mutex // held during a renew, so parts wait for the new parameters
	cur   *uploadParams
}

func (t *Task) newSigner(info *UploadInfo, renew func(context.Context) (*UploadInfo, error)) *signer {
	s := &signer{t: t, renew: renew}
	s.cur = s.params(info, 0)
	return s
}

func (s *signer) params(info *UploadInfo, gen int) *uploadParams {
	p := &uploadParams{info: info, gen: gen, issued: s.t.c.ServerNow()}
	p.noAhead = info.Expiration.IsZero() || info.Expiration.Sub(p.issued) <= renewMargin(p)
	return p
}

// renewMargin is how long before expiration parameters are renewed: five
// minutes, as the SMH SDKs do, but at most a third of the lifetime, or a
// short lifetime would renew in a loop.
func renewMargin(p *uploadParams) time.Duration {
	return min(5*time.Minute, p.info.Expiration.Sub(p.issued)/3)
}

// fresh returns parameters that are not about to expire, renewing ahead.
func (s *signer) fresh(ctx context.Context) (*uploadParams, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.cur
	if p.noAhead || p.info.Expiration.Sub(s.t.c.ServerNow()) > renewMargin(p) {
		return p, nil
	}
	return s.renewLocked(ctx, "expiring")
}

// expired renews after a refusal, once for all parts that used gen: later
// callers with the same stale generation get the parameters already renewed.
func (s *signer) expired(ctx context.Context, gen int) (*uploadParams, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.gen != gen {
		return s.cur, nil
	}
	return s.renewLocked(ctx, "expired")
}

func (s *signer) renewLocked(ctx context.Context, reason string) (*uploadParams, error) {
	info, err := s.renew(ctx)
	if err != nil {
		return nil, err
	}
	s.cur = s.params(info, s.cur.gen+1)
	emit(ctx, Event{Type: EventRenew, Reason: reason, ConfirmKey: info.ConfirmKey})
	return s.cur, nil
}

// objectURL is where a part (n ≥ 1) or a simple upload (n = 0) goes.
func (t *Task) objectURL(info *UploadInfo, n int) string {
	u := info.Domain + info.Path
	if !strings.Contains(info.Domain, "://") {
		u = t.c.base.Scheme + "://" + u
	}
	if n > 0 {
		u += "?partNumber=" + strconv.Itoa(n) + "&uploadId=" + url.QueryEscape(info.UploadID)
	}
	return u
}

// sendSlotted sends part n as sendPart does, holding one of the shared
// pool's slots (Options.Slots) while it does.
func (t *Task) sendSlotted(ctx context.Context, s *signer, prog *progressTracker, n int, off, length int64) (uint64, error) {
	if err := t.o.Slots.acquire(ctx); err != nil {
		// Paused or cancelled while waiting for a slot.
		return 0, &Error{Op: "upload", Code: CodeCanceled, Err: cause(ctx)}
	}
	defer t.o.Slots.release()
	return t.sendPart(ctx, s, prog, n, off, length)
}

// sendPart sends part n (0 for a simple upload) until it is stored and
// verified, renewing and retrying as needed, and returns its CRC-64.
func (t *Task) sendPart(ctx context.Context, s *signer, prog *progressTracker, n int, off, length int64) (uint64, error) {
	attempts, unexplained := 0, 0
	for {
		p, err := s.fresh(ctx)
		if err != nil {
			return 0, err
		}
		crc, err := t.putOnce(ctx, p.info, prog, n, off, length)
		if err == nil {
			prog.done(n, length)
			return crc, nil
		}
		prog.reset(n)
		if ctx.Err() != nil {
			return 0, err
		}
		if isExpiredSignature(err) {
			// Not a retry: the part is fine, its parameters are stale. A
			// refusal of parameters that the server's own clock (learned
			// from this very answer) says are still valid is unexplained;
			// two in a row mean fresh parameters are refused too.
			if p.info.Expiration.After(t.c.ServerNow()) {
				unexplained++
			}
			if unexplained >= 2 {
				e := err.(*Error)
				return 0, &Error{Op: "part", PartNumber: n, Status: e.Status, Code: CodeExpiredSignature, RequestID: e.RequestID,
					Message: "upload signature refused as expired right after a renew; check the device clock", Err: ErrExpiredSignature}
			}
			if _, err := s.expired(ctx, p.gen); err != nil {
				return 0, err
			}
			continue
		}
		unexplained = 0
		attempts++
		var e *Error
		if !errors.As(err, &e) || !e.Retryable || attempts >= t.retry.MaxAttempts {
			if e != nil {
				e.Attempts = attempts
			}
			return 0, err
		}
		d := t.retry.Backoff(attempts, e.RetryAfter)
		emit(ctx, Event{Type: EventRetry, Op: e.Op, PartNumber: n, Attempt: attempts, Delay: d, Status: e.Status, Code: e.Code})
		if err := t.clock.Sleep(ctx, d); err != nil {
			return 0, err
		}
	}
}

// putOnce makes one attempt at storing a part and checks what was stored.
func (t *Task) putOnce(ctx context.Context, info *UploadInfo, prog *progressTracker, n int, off, length int64) (uint64, error) {
	op := "part"
	if n == 0 {
		op = "put"
	}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	wd := newWatchdog(t.clock, t.o.StallTimeout, func() { cancel(ErrStalled) })
	defer wd.stop()

	h := Header{}
	for k, v := range info.Headers {
		h.Set(k, v)
	}
	resp, err := t.put.Put(actx, &PutRequest{URL: t.objectURL(info, n), Header: h, Body: t.body, Offset: off, Length: length,
		NoHash: t.o.DisableIntegrityCheck,
		Progress: func(sent int64) {
			wd.kick()
			prog.update(n, sent)
		}})
	if err != nil {
		if ctx.Err() != nil {
			return 0, err
		}
		if errors.Is(err, ErrSourceRead) {
			// Retrying cannot help a file that is gone; the parts sent stay,
			// so the upload can resume once the file is back.
			return 0, &Error{Op: op, PartNumber: n, Code: CodeSourceRead, Message: t.c.scrub(err.Error()), Err: ErrSourceRead}
		}
		if errors.Is(context.Cause(actx), ErrStalled) {
			return 0, &Error{Op: op, PartNumber: n, Code: CodeStalled, Retryable: true,
				Message: fmt.Sprintf("no progress for %s", t.o.StallTimeout), Err: ErrStalled}
		}
		return 0, &Error{Op: op, PartNumber: n, Code: CodeNetwork, Message: t.c.scrub(err.Error()), Retryable: true, Err: redactErr(err)}
	}
	t.c.ObserveDate(resp.Header)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := t.c.responseError(op, &resp.Response)
		e.PartNumber = n
		return 0, e
	}
	if t.o.DisableIntegrityCheck {
		return 0, nil
	}
	got := resp.Header.Get("x-cos-hash-crc64ecma")
	if got == "" {
		return 0, &Error{Op: op, PartNumber: n, Status: resp.StatusCode, Code: CodeCORSHeadersNotExposed, Err: ErrHeadersNotExposed,
			Message: "the storage host's answer has no x-cos-hash-crc64ecma header: add ETag and x-cos-hash-crc64ecma to the bucket's CORS ExposeHeader setting"}
	}
	stored, perr := ParseCRC64(got)
	sent := resp.CRC64
	if !resp.Hashed {
		sum, err := t.body.Sum(ctx, off, length)
		if err != nil {
			return 0, &Error{Op: op, PartNumber: n, Code: CodeSourceRead, Message: "reading the file: " + err.Error(), Err: ErrSourceRead}
		}
		sent = sum.CRC64
	}
	if perr != nil || stored != sent {
		return 0, &Error{Op: op, PartNumber: n, Status: resp.StatusCode, Code: CodeIntegrity, Retryable: true, Err: ErrIntegrity,
			RequestID: firstNonEmpty(resp.Header.Get("x-cos-request-id")),
			Message:   fmt.Sprintf("storage reports CRC-64 %s for the part, the bytes sent have %d", got, sent)}
	}
	return sent, nil
}

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
