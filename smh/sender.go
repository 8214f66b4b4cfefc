package smh

// The part sender: each part PUT, its retries, its slot of a shared pool and its CRC-64 check.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// objectURL is where a part (n ≥ 1) or a simple upload (n = 0) goes; a
// form upload goes to the storage host's root.
func (t *Task) objectURL(info *UploadInfo, n int) string {
	u := info.Domain + info.Path
	if info.Form != nil {
		u = info.Domain + "/"
	}
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
	if err := t.o.Slots.acquire(ctx, t); err != nil {
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
		NoHash: t.o.DisableIntegrityCheck, Form: info.Form,
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
