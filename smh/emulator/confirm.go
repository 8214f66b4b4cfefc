package emulator

import (
	"bytes"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// This file holds confirming a task: checking its parts and assembling the file.

type confirmBody struct {
	CRC64                 json.RawMessage `json:"crc64"`
	Labels                []string        `json:"labels"`
	Category              string          `json:"category"`
	LocalCreationTime     string          `json:"localCreationTime"`
	LocalModificationTime string          `json:"localModificationTime"`
}

// parseCRC accepts "123" or 123 (empty or null: not given).
func parseCRC(raw json.RawMessage) (uint64, bool, *apiError) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" || s == `""` {
		return 0, false, nil
	}
	v, err := strconv.ParseUint(strings.Trim(s, `"`), 10, 64)
	if err != nil {
		return 0, false, errf(400, "ParamInvalid", "crc64 must be a decimal unsigned 64-bit number")
	}
	return v, true, nil
}

func (c *apiCall) confirm() {
	e := c.e
	if _, aerr := c.auth(confirmGrants); aerr != nil {
		c.fail(aerr)
		return
	}
	var body confirmBody
	if len(bytes.TrimSpace(c.body)) > 0 {
		if err := json.Unmarshal(c.body, &body); err != nil {
			c.fail(errf(400, "ParamInvalid", "invalid JSON body: %v", err))
			return
		}
	}
	want, haveCRC, aerr := parseCRC(body.CRC64)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	if haveCRC {
		e.count("confirm.crc64")
	}

	// One confirm at a time per task: a second one waits for the first, then sees its outcome.
	var t *task
	for {
		e.mu.Lock()
		t = c.taskLocked()
		if t == nil || t.confirming == nil {
			break
		}
		ch := t.confirming
		e.mu.Unlock()
		select {
		case <-ch:
		case <-c.r.Context().Done():
			abort()
		}
	}
	switch {
	case t == nil:
		e.mu.Unlock()
		c.fail(errUploadNotFound)
		return
	case t.state == taskConfirmed:
		e.mu.Unlock()
		c.fail(errf(409, "UploadComplete", "the upload task was already confirmed"))
		return
	}
	strategy, aerr := parseStrategy(c.q.Get("conflict_resolution_strategy"), t.strategy)
	if aerr != nil {
		e.mu.Unlock()
		c.fail(aerr)
		return
	}
	parts, etag, aerr := t.partsLocked()
	var readers []io.ReadCloser
	var total int64
	if aerr == nil && !e.cfg.Discard {
		readers, total, aerr = openParts(parts)
	}
	if aerr != nil {
		e.mu.Unlock()
		c.fail(aerr)
		return
	}
	done := make(chan struct{})
	t.confirming = done
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		t.confirming = nil
		e.mu.Unlock()
		close(done)
	}()

	var st staged
	var d digest
	if e.cfg.Discard {
		d = combineParts(parts)
	} else {
		var err error
		if st, d, err = e.assemble(readers, total); err != nil {
			c.fail(errf(500, "InternalServerError", "assemble: %v", err))
			return
		}
	}
	if haveCRC && want != d.crc {
		e.discard(st)
		c.fail(errf(400, "BadCrc64", "crc64 %d does not match the uploaded content", want))
		return
	}
	rec := newFileRec(d, etag, t.segs[len(t.segs)-1], t.meta)
	rec.discarded = e.cfg.Discard
	rec.labels, rec.category = t.labels, t.category
	if body.Labels != nil {
		rec.labels = body.Labels
	}
	if body.Category != "" {
		rec.category = body.Category
	}

	e.mu.Lock()
	if e.tasks[t.confirmKey] != t || t.state != taskOpen { // cancelled meanwhile
		e.mu.Unlock()
		e.discard(st)
		c.fail(errUploadNotFound)
		return
	}
	sp := e.space(t.space)
	_, overwritten, _ := sp.resolveLocked(t.segs, strategy)
	final, aerr := e.placeFileLocked(t.space, t.segs, strategy, st, rec)
	if aerr != nil { // the task stays open, e.g. ask with a file now in the way
		e.mu.Unlock()
		e.discard(st)
		c.fail(aerr)
		return
	}
	e.dropLocked(t)
	t.state = taskConfirmed
	t.final = final
	info := fileInfoOf(final, sp.get(final))
	info.IsOverwritten = overwritten
	e.mu.Unlock()
	e.removeUploadDir(t.storeID)
	c.reply(200, info)
}

// partsLocked checks that the task's bytes are complete and returns its parts in order. It also returns
// the COS-style ETag of the object: the MD5 of a simple object, or the MD5 of the part MD5s with the part
// count for a multipart one (guess: SMH passes on the COS ETag).
func (t *task) partsLocked() ([]*part, string, *apiError) {
	if !t.multipart {
		if t.object == nil {
			return nil, "", errf(404, "UploadIncomplete", "the object was not uploaded")
		}
		return []*part{t.object}, quotedMD5(t.object.md5), nil
	}
	var parts []*part
	for n := 1; n <= len(t.parts); n++ {
		p := t.parts[n]
		if p == nil {
			return nil, "", errf(400, "MultipartUploadIncomplete", "the parts are not contiguous from 1")
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return nil, "", errf(400, "MultipartUploadIncomplete", "no part was uploaded")
	}
	for i, p := range parts {
		if i < len(parts)-1 && p.size < MinPartSize {
			return nil, "", errf(400, "MultipartUploadPartTooSmall", "part %d is smaller than 1 MiB", p.n)
		}
	}
	return parts, multipartETag(parts), nil
}

// multipartETag is the ETag COS gives an object assembled from parts: the MD5 of the part MD5s and the
// part count.
func multipartETag(parts []*part) string {
	h := md5.New()
	for _, p := range parts {
		h.Write(p.md5[:])
	}
	return fmt.Sprintf(`"%x-%d"`, h.Sum(nil), len(parts))
}

// openParts opens readers over the parts' bytes, in order, and returns their total size.
func openParts(parts []*part) ([]io.ReadCloser, int64, *apiError) {
	var total int64
	readers := make([]io.ReadCloser, 0, len(parts))
	for _, p := range parts {
		total += p.size
		rc, err := p.blob.open()
		if err != nil {
			for _, r := range readers {
				r.Close()
			}
			return nil, 0, errf(500, "InternalServerError", "open part: %v", err)
		}
		readers = append(readers, rc)
	}
	return readers, total, nil
}

// assemble concatenates the readers into staged bytes and closes them.
func (e *Emulator) assemble(readers []io.ReadCloser, total int64) (staged, digest, error) {
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()
	if e.cfg.Dir == "" && len(readers) == 1 {
		// A single in-memory part becomes the file as is (blobs are immutable).
		b, err := io.ReadAll(readers[0])
		if err != nil {
			return staged{}, digest{}, err
		}
		h := newHasher()
		h.Write(b)
		return staged{mem: b}, h.sum(), nil
	}
	sk, err := e.newSink(e.tmpDir(), -total)
	if err != nil {
		return staged{}, digest{}, err
	}
	for _, r := range readers {
		if _, err := io.Copy(sk, r); err != nil {
			sk.abort()
			return staged{}, digest{}, err
		}
	}
	return sk.finish()
}
