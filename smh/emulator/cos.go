package emulator

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// cosError is a COS XML error answer.
type cosError struct {
	status     int
	code       string
	msg        string
	serverTime bool // add <ServerTime> (expiry and skew answers)
	retryAfter time.Duration
}

var errExpired = &cosError{status: 403, code: "AccessDenied", msg: "Request has expired", serverTime: true}

type cosCall struct {
	e   *Emulator
	w   http.ResponseWriter
	r   *http.Request
	rid string
}

func (c *cosCall) fail(ce *cosError) {
	h := c.w.Header()
	if ce.retryAfter > 0 {
		h.Set("Retry-After", retryAfterSeconds(ce.retryAfter))
	}
	var b strings.Builder
	b.WriteString("<?xml version='1.0' encoding='utf-8' ?>\n<Error>\n")
	elem := func(name, v string) {
		b.WriteString("\t<" + name + ">")
		xml.EscapeText(&b, []byte(v))
		b.WriteString("</" + name + ">\n")
	}
	elem("Code", ce.code)
	elem("Message", ce.msg)
	elem("Resource", c.r.Host+c.r.URL.Path)
	elem("RequestId", c.rid)
	elem("TraceId", c.rid) // guess: an opaque trace id; the request id serves
	if ce.serverTime {
		elem("ServerTime", c.e.now().UTC().Format(time.RFC3339))
	}
	b.WriteString("</Error>")
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	c.e.stamp(c.w)
	c.w.WriteHeader(ce.status)
	io.WriteString(c.w, b.String())
}

// failDrained reads and discards the body first, so the client always gets to read the answer.
func (c *cosCall) failDrained(ce *cosError) {
	io.Copy(io.Discard, c.r.Body)
	c.fail(ce)
}

func (e *Emulator) serveCOS(w http.ResponseWriter, r *http.Request) {
	c := &cosCall{e: e, w: w, r: r, rid: randHex(16)}
	w.Header().Set("x-cos-request-id", c.rid)
	e.setCORS(w, r, true)
	if r.Method == http.MethodOptions {
		e.count("cos.preflight")
		e.preflight(w, r)
		return
	}
	q := r.URL.Query()
	_, hasUploadID := queryGet(q, "uploadId")
	switch {
	case r.Method == http.MethodPut:
		c.put()
	case isFormPost(r):
		c.post()
	case r.Method == http.MethodGet && r.URL.Path == "/" && q.Has("uploads"):
		c.listUploads()
	case r.Method == http.MethodGet && hasUploadID:
		c.listParts()
	case r.Method == http.MethodGet, r.Method == http.MethodHead:
		c.get()
	case r.Method == http.MethodPost && q.Has("uploads"):
		c.initUpload()
	case r.Method == http.MethodPost && hasUploadID:
		c.complete()
	case r.Method == http.MethodDelete && hasUploadID:
		c.abortUpload()
	default:
		c.failDrained(&cosError{status: 405, code: "MethodNotAllowed", msg: "The specified method is not allowed against this resource."})
	}
}

// get serves a confirmed file's bytes to a signed URL (file info's cosUrl): Range requests answer 206
// with Content-Range. The signature covers the method, so a GET URL does not work for HEAD, as on COS.
func (c *cosCall) get() {
	e, r := c.e, c.r
	e.count("object.get")
	if !e.delay(r) {
		abort()
	}
	q := r.URL.Query()
	key := strings.TrimPrefix(r.URL.Path, "/")

	// A presigned URL carries the signature fields as query parameters (or, in the legacy form, all of
	// them URL-encoded in one "sign" parameter); an Authorization header works too.
	var f map[string]string
	token := r.Header.Get("x-cos-security-token")
	switch {
	case q.Has("q-sign-algorithm"):
		f = map[string]string{}
		for k := range q {
			if strings.HasPrefix(k, "q-") {
				f[k] = q.Get(k)
			}
		}
	case q.Has("sign"):
		f = parseAuth(q.Get("sign"))
	case r.Header.Get("Authorization") != "":
		f = parseAuth(r.Header.Get("Authorization"))
	}
	if q.Has("x-cos-security-token") {
		token = q.Get("x-cos-security-token")
	}

	e.mu.Lock()
	n := e.files[key]
	if n == nil {
		e.mu.Unlock()
		c.fail(&cosError{status: 404, code: "NoSuchKey", msg: "The specified key does not exist."})
		return
	}
	if n.file.discarded {
		e.mu.Unlock()
		c.fail(&cosError{status: 404, code: "NoSuchKey", msg: "The emulator kept no bytes of this object (Config.Discard)."})
		return
	}
	if f == nil {
		e.mu.Unlock()
		c.fail(errNoAuth)
		return
	}
	is := e.issues[f["q-ak"]]
	if is == nil || is.file != n.file {
		e.mu.Unlock()
		c.fail(errMismatch)
		return
	}
	if ce := e.checkSignatureLocked(r, f, is, token); ce != nil {
		e.mu.Unlock()
		c.fail(ce)
		return
	}
	rec, modified := n.file, n.modified
	// Opened under the lock: an open file keeps these bytes through a later delete or overwrite.
	var content io.ReadSeeker = bytes.NewReader(rec.blob.data)
	if rec.blob.path != "" {
		fh, err := os.Open(rec.blob.path)
		if err != nil {
			e.mu.Unlock()
			c.fail(&cosError{status: 500, code: "InternalError", msg: err.Error()})
			return
		}
		defer fh.Close()
		content = fh
	}
	e.mu.Unlock()

	h := c.w.Header()
	h.Set("Content-Type", rec.contentType)
	if v := q.Get("response-content-type"); v != "" {
		h.Set("Content-Type", v)
	}
	if v := q.Get("response-content-disposition"); v != "" {
		h.Set("Content-Disposition", v)
	}
	h.Set("ETag", rec.etag)
	if r.Header.Get("Range") == "" {
		// Guess: COS sends the object's CRC64 on whole-object answers; a client cannot check it on a range.
		h.Set("x-cos-hash-crc64ecma", strconv.FormatUint(rec.crc, 10))
	}
	e.stamp(c.w)
	http.ServeContent(c.w, r, "", modified, content)
}

func (c *cosCall) put() {
	e, r := c.e, c.r
	q := r.URL.Query()
	uploadID, multipart := queryGet(q, "uploadId")
	partStr, _ := queryGet(q, "partNumber")
	op := "object.put"
	if multipart {
		op = "part"
	}
	e.count(op)
	defer e.putStarted(op)()
	if !e.delay(r) {
		abort()
	}
	key := strings.TrimPrefix(r.URL.Path, "/")
	partNumber, perr := strconv.Atoi(partStr)

	if multipart {
		e.mu.Lock()
		hook := e.onPart
		info := PartInfo{UploadID: uploadID, PartNumber: partNumber}
		if t := e.uploads[uploadID]; t != nil {
			info.ConfirmKey = t.confirmKey
		}
		e.mu.Unlock()
		if hook != nil {
			hook(info)
		}
	}

	if c.injectedFault() {
		return
	}

	if multipart && (perr != nil || partNumber < 1 || partNumber > MaxPartNumber) {
		c.failDrained(&cosError{status: 400, code: "InvalidArgument", msg: "partNumber must be 1..10000"})
		return
	}
	if c.putPlain(multipart, uploadID, key, partNumber) {
		return
	}
	e.mu.Lock()
	var t *task
	if multipart {
		t = e.uploads[uploadID]
		if t != nil && t.objectKey != key {
			t = nil
		}
	} else {
		t = e.objects[key]
	}
	if t == nil {
		if multipart {
			c.refuseLocked(&cosError{status: 404, code: "NoSuchUpload", msg: "The specified upload does not exist."})
		} else {
			// Guess: the credentials of a cancelled, confirmed or unknown simple task are no longer valid.
			c.refuseLocked(errNoAuth)
		}
		return
	}
	if ce := e.verifyLocked(r, t); ce != nil {
		c.refuseLocked(ce)
		return
	}
	corrupt := e.takeCorruptLocked()
	storeID := t.storeID
	e.mu.Unlock()

	st, d, ok := c.receive(e.uploadDir(storeID), corrupt)
	if !ok {
		return
	}

	e.mu.Lock()
	alive := t.state == taskOpen && e.tasks[t.confirmKey] == t && t.objectKey == key &&
		(!multipart && e.objects[key] == t || multipart && e.uploads[uploadID] == t)
	if !alive { // cancelled or confirmed while the body was read
		e.mu.Unlock()
		e.discard(st)
		if e.cfg.Dir != "" {
			os.Remove(e.uploadDir(storeID)) // only if empty: the sink may have recreated it after cancel
		}
		c.fail(&cosError{status: 404, code: "NoSuchUpload", msg: "The specified upload does not exist."})
		return
	}
	dest := e.partPath(storeID, partNumber)
	if !multipart {
		dest = e.objectPath(storeID)
	}
	b, err := e.commit(st, dest)
	if err != nil {
		e.mu.Unlock()
		e.discard(st)
		c.fail(&cosError{status: 500, code: "InternalError", msg: err.Error()})
		return
	}
	p := &part{n: partNumber, size: d.size, md5: d.md5, crc: d.crc, modified: e.now(), blob: b}
	if multipart {
		t.parts[partNumber] = p
	} else {
		p.n = 1
		t.object = p
	}
	e.mu.Unlock()
	c.stored(d)
}

// injectedFault answers a PUT or form POST with the fault injected for it, if any (FailParts,
// ResetParts, StallParts), as a front end in the way would, and reports whether it did.
func (c *cosCall) injectedFault() bool {
	e, r := c.e, c.r
	e.mu.Lock()
	f := takeFault(&e.cosFaults)
	reset, stall := false, false
	if f == nil && e.resets > 0 {
		e.resets--
		reset = true
	} else if f == nil && e.stalls > 0 {
		e.stalls--
		stall = true
	}
	e.mu.Unlock()
	switch {
	case f != nil:
		c.failDrained(&cosError{status: f.status, code: f.code, msg: "injected fault", retryAfter: f.retryAfter})
		return true
	case reset:
		c.reset()
		return true
	case stall:
		io.CopyN(io.Discard, r.Body, 1024)
		select {
		case <-r.Context().Done():
		case <-e.closed:
		}
		abort() // no answer; the connection is dropped
	}
	return false
}

// refuseLocked answers a PUT or form POST refused with ce (counting part.expired for an expiry) and
// releases the lock.
func (c *cosCall) refuseLocked(ce *cosError) {
	if ce == errExpired {
		c.e.counts["part.expired"]++
	}
	c.e.mu.Unlock()
	c.failDrained(ce)
}

// takeCorruptLocked consumes one use of CorruptParts.
func (e *Emulator) takeCorruptLocked() bool {
	if e.corrupts > 0 {
		e.corrupts--
		return true
	}
	return false
}

// receive reads a part or object body into a sink in dir (Config.Discard: into the hashes only), with
// one byte flipped when corrupt. When it returns false it has answered (or dropped) the request, and a
// corrupt that was not used is given back to CorruptParts.
func (c *cosCall) receive(dir string, corrupt bool) (staged, digest, bool) {
	return c.receiveFrom(c.r.Body, c.r.ContentLength, dir, corrupt)
}

// receiveFrom is receive of the body read from body, length bytes long (-1: unknown, as a form's file).
func (c *cosCall) receiveFrom(body io.Reader, length int64, dir string, corrupt bool) (staged, digest, bool) {
	e, r := c.e, c.r
	restore := func() {
		if corrupt {
			e.mu.Lock()
			e.corrupts++
			e.mu.Unlock()
		}
	}
	if v := r.Header.Get("x-cos-traffic-limit"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 819200 || n > 838860800 {
			restore()
			c.failDrained(&cosError{status: 400, code: "InvalidArgument", msg: "x-cos-traffic-limit must be 819200..838860800 bit/s"})
			return staged{}, digest{}, false
		}
	}
	if length > MaxPartSize {
		restore()
		c.fail(&cosError{status: 400, code: "EntityTooLarge", msg: "Your proposed upload exceeds the maximum allowed object size."})
		return staged{}, digest{}, false
	}

	sk, err := e.newPartSink(dir, length)
	if err != nil {
		restore()
		c.failDrained(&cosError{status: 500, code: "InternalError", msg: err.Error()})
		return staged{}, digest{}, false
	}
	sk.corrupt = corrupt
	n, err := io.Copy(sk, io.LimitReader(body, MaxPartSize+1))
	switch {
	case err == nil && n > MaxPartSize:
		sk.abort()
		restore()
		c.fail(&cosError{status: 400, code: "EntityTooLarge", msg: "Your proposed upload exceeds the maximum allowed object size."})
		return staged{}, digest{}, false
	case errors.Is(err, io.ErrUnexpectedEOF) || err == nil && length >= 0 && n < length:
		sk.abort()
		restore()
		c.fail(&cosError{status: 400, code: "IncompleteBody", msg: "The number of bytes provided is less than Content-Length."})
		return staged{}, digest{}, false
	case err != nil:
		sk.abort()
		restore()
		abort() // the client is gone
	}
	st, d, err := sk.finish()
	if err != nil {
		restore()
		c.fail(&cosError{status: 500, code: "InternalError", msg: err.Error()})
		return staged{}, digest{}, false
	}
	return st, d, true
}

// stored answers a part or object PUT that was stored: its ETag and CRC-64.
func (c *cosCall) stored(d digest) { c.answerStored(d, http.StatusOK) }

// answerStored answers with status (200 to a PUT, 204 to a form POST), the ETag and the CRC-64 of d.
func (c *cosCall) answerStored(d digest, status int) {
	h := c.w.Header()
	h.Set("ETag", quotedMD5(d.md5))
	h.Set("x-cos-hash-crc64ecma", strconv.FormatUint(d.crc, 10))
	if status != http.StatusNoContent {
		h.Set("Content-Length", "0")
	}
	c.e.stamp(c.w)
	c.w.WriteHeader(status)
}

// reset reads some of the body, then drops the connection without an answer. With HTTP/1 it hijacks the
// connection and closes it with SO_LINGER 0 (a TCP reset); otherwise it aborts the handler.
func (c *cosCall) reset() {
	io.CopyN(io.Discard, c.r.Body, 16<<10)
	conn, _, err := http.NewResponseController(c.w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}
