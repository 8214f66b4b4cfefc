package smh

// The upload itself: a simple one in one PUT, or a multipart one from its plan to the confirm.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"
)

// runSimple sends a small file in one PUT. Simple-upload parameters cannot
// be renewed, so an expiry begins a new task and drops the old one.
func (t *Task) runSimple(ctx context.Context) (*FileInfo, error) {
	if old := t.ConfirmKey(); old != "" {
		if sent := t.sentFor(old); sent != nil {
			st, err := t.c.UploadStatus(ctx, old)
			if err != nil {
				return nil, err
			}
			if st.Confirmed {
				return t.confirmedEarlier(ctx, old, st, sent.crc, errConfirmedEarlier(old))
			}
		}
		_ = t.c.CancelUpload(ctx, old) // a paused simple task is restarted, not resumed
		t.setKey("", true)
	}
	res, err := t.beginOne(ctx)
	if err != nil || res.File != nil {
		return fileOf(res), err
	}
	t.setKey(res.Upload.ConfirmKey, true)
	s := t.newSigner(res.Upload, func(ctx context.Context) (*UploadInfo, error) {
		res, err := t.beginOne(ctx)
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
	prog := newProgress(t.o.OnProgress, t.clock, t.o.ProgressInterval, size, 1, &t.loaded)
	crc, err := t.sendSlotted(ctx, s, prog, 0, 0, size)
	if err != nil {
		return nil, err
	}
	return t.confirm(ctx, []uint64{crc}, []int64{size})
}

// beginOne begins the upload of a file in one request: a form upload when
// the transport sends forms (fewer requests in a browser: FormPutter) and
// the file is under FormThreshold, else a simple one.
func (t *Task) beginOne(ctx context.Context) (*BeginResult, error) {
	fp, ok := t.put.(FormPutter)
	if !ok || !fp.PutsForms() || t.body.Size() >= FormThreshold {
		return t.begin(ctx, t.c.BeginSimple)
	}
	res, err := t.begin(ctx, t.c.BeginForm)
	if err == nil && res.Upload != nil && res.Upload.Form == nil {
		return nil, &Error{Op: "begin", Status: 201, Code: CodeBadResponse, Message: "a form upload's begin answered without form fields"}
	}
	return res, err
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
			return t.resumeConfirmed(ctx, key, st)
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
	prog := newProgress(t.o.OnProgress, t.clock, t.o.ProgressInterval, size, n, &t.loaded)
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
	// A simple upload's one PUT was checked against the storage's own
	// CRC-64 already (sendPart), so its confirm carries none: without a body
	// it needs no CORS preflight. A multipart file sends the CRC it combined
	// from its parts, which checks that SMH assembled them in order.
	if !t.o.DisableIntegrityCheck && len(crcs) > 1 {
		var whole uint64
		for i, c := range crcs {
			whole = CombineCRC64(whole, c, lens[i])
		}
		o.CRC64 = &whole
	}
	key := t.ConfirmKey()
	t.mu.Lock()
	t.sent = &sentConfirm{key: key, crc: o.CRC64}
	t.mu.Unlock()
	fi, err := t.c.Confirm(ctx, key, o)
	var e *Error
	if errors.As(err, &e) && e.Status == 409 && e.Code == "UploadComplete" {
		// A confirm whose answer was lost and that was sent again: the
		// file exists. It is ours if its CRC is the one we sent.
		st, serr := t.c.UploadStatus(ctx, key)
		if serr != nil {
			return nil, err
		}
		return t.confirmedEarlier(ctx, key, st, o.CRC64, err)
	}
	return fi, err
}

// resumeConfirmed answers a resume of a task that is confirmed already. If
// this task sent the confirm, the file is its own (checked by the CRC it
// sent). After a restart nothing says so: the file counts as this upload's
// only if its CRC-64 is the local file's; otherwise the record is stale and
// the caller begins anew.
func (t *Task) resumeConfirmed(ctx context.Context, key string, st *UploadStatus) (*FileInfo, error) {
	stale := errConfirmedEarlier(key)
	if sent := t.sentFor(key); sent != nil {
		return t.confirmedEarlier(ctx, key, st, sent.crc, stale)
	}
	size, ps := t.body.Size(), t.PartSize()
	var whole uint64
	for i := range partCount(size, ps) {
		off, length := partRange(size, ps, i+1)
		sum, err := t.body.Sum(ctx, off, length)
		if err != nil {
			return nil, &Error{Op: "resume", Code: CodeSourceRead, Message: "reading the file: " + err.Error(), Err: ErrSourceRead}
		}
		whole = CombineCRC64(whole, sum.CRC64, length)
	}
	fi, err := t.confirmedEarlier(ctx, key, st, &whole, stale)
	if err != nil {
		return nil, stale
	}
	return fi, nil
}

// sentFor returns the confirm this task sent for key, if it sent one.
func (t *Task) sentFor(key string) *sentConfirm {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sent != nil && t.sent.key == key {
		return t.sent
	}
	return nil
}

func errConfirmedEarlier(key string) error {
	return &Error{Op: "resume", Code: "UploadComplete", Message: "the task was already confirmed", ConfirmKey: key}
}

// confirmedEarlier finds the file an earlier confirm of this task created,
// given the task's status; confirmErr stands if it cannot be found.
func (t *Task) confirmedEarlier(ctx context.Context, key string, st *UploadStatus, crc *uint64, confirmErr error) (*FileInfo, error) {
	if !st.Confirmed || len(st.Path) == 0 {
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
