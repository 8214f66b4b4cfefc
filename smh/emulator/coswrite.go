package emulator

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The plain COS calls that write (see cosapi.go): UploadPart and PutObject, then
// CompleteMultipartUpload and AbortMultipartUpload.

// ---- UploadPart and PutObject ----

// putPlain handles a part PUT of a plain COS multipart upload, or an object PUT signed with the key pair
// (when no SMH simple upload owns the key). It reports false for the SMH PUTs, which the caller handles.
func (c *cosCall) putPlain(multipart bool, uploadID, key string, partNumber int) bool {
	e, r := c.e, c.r
	e.mu.Lock()
	var u *cosUpload
	if multipart {
		if u = e.cosUploads[uploadID]; u == nil {
			e.mu.Unlock()
			return false
		}
		if u.key != key {
			e.mu.Unlock()
			c.failDrained(&cosError{status: 404, code: "NoSuchUpload", msg: "The specified upload does not exist."})
			return true
		}
	} else if e.objects[key] != nil || !e.keyPairLocked(r) {
		e.mu.Unlock()
		return false
	}
	if ce := e.plainAuthLocked(r); ce != nil {
		if ce == errExpired {
			e.counts["part.expired"]++
		}
		e.mu.Unlock()
		c.failDrained(ce)
		return true
	}
	corrupt := e.takeCorruptLocked()
	e.mu.Unlock()

	dir := e.tmpDir()
	if u != nil {
		dir = e.uploadDir(u.storeID)
	}
	st, d, ok := c.receive(dir, corrupt)
	if !ok {
		return true
	}
	e.mu.Lock()
	if u != nil {
		if e.cosUploads[uploadID] != u { // completed or aborted while the body was read
			e.mu.Unlock()
			e.discard(st)
			if e.cfg.Dir != "" {
				os.Remove(e.uploadDir(u.storeID)) // only if empty: the sink may have recreated it
			}
			c.fail(&cosError{status: 404, code: "NoSuchUpload", msg: "The specified upload does not exist."})
			return true
		}
		b, err := e.commit(st, e.partPath(u.storeID, partNumber))
		if err != nil {
			e.mu.Unlock()
			e.discard(st)
			c.fail(&cosError{status: 500, code: "InternalError", msg: err.Error()})
			return true
		}
		u.parts[partNumber] = &part{n: partNumber, size: d.size, md5: d.md5, crc: d.crc, modified: e.now(), blob: b}
		e.mu.Unlock()
		c.stored(d)
		return true
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = contentTypeOf(key)
	}
	rec := &fileRec{digest: d, etag: quotedMD5(d.md5), contentType: ct, discarded: e.cfg.Discard}
	if err := e.storeObjectLocked(key, st, rec); err != nil {
		e.mu.Unlock()
		e.discard(st)
		c.fail(&cosError{status: 500, code: "InternalError", msg: err.Error()})
		return true
	}
	e.mu.Unlock()
	c.stored(d)
	return true
}

// storeObjectLocked puts staged bytes in place as the object at key, replacing any earlier one.
func (e *Emulator) storeObjectLocked(key string, st staged, rec *fileRec) error {
	dest := ""
	if e.cfg.Dir != "" {
		dest = filepath.Join(e.cfg.Dir, "objects", randHex(16))
	}
	b, err := e.commit(st, dest)
	if err != nil {
		return err
	}
	rec.blob = b
	if old := e.cosObjects[key]; old != nil && old.rec.blob.path != "" {
		os.Remove(old.rec.blob.path) // readers opened earlier keep their bytes
	}
	e.cosObjects[key] = &cosObject{rec: rec, modified: e.now()}
	return nil
}

// ---- CompleteMultipartUpload ----

type completeXML struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

type completeResultXML struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// complete answers POST /{key}?uploadId= with the list of parts to keep: they must be listed in
// ascending order, exist with the ETag given, and all but the last be at least 1 MiB. The object is the
// listed parts' concatenation (Config.Discard: only its size, CRC-64 and ETag); the other parts are
// dropped. The answer carries the object's x-cos-hash-crc64ecma.
func (c *cosCall) complete() {
	e, r := c.e, c.r
	if !c.plainCall("cos.complete") {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCompleteBody+1))
	if err != nil {
		abort() // the client is gone
	}
	if len(body) > maxCompleteBody {
		c.fail(&cosError{status: 400, code: "EntityTooLarge", msg: "the request body is too large"})
		return
	}
	if v := r.Header.Get("Content-MD5"); v != "" {
		sum := md5.Sum(body)
		if v != base64.StdEncoding.EncodeToString(sum[:]) {
			c.fail(&cosError{status: 400, code: "BadDigest", msg: "The Content-MD5 you specified did not match what we received."})
			return
		}
	}
	var list completeXML
	if err := xml.Unmarshal(body, &list); err != nil || len(list.Parts) == 0 {
		c.fail(&cosError{status: 400, code: "MalformedXML", msg: "The XML you provided was not well-formed or did not validate against our published schema."})
		return
	}
	u := c.uploadOf()
	if u == nil {
		return
	}

	e.mu.Lock()
	parts := make([]*part, 0, len(list.Parts))
	for i, lp := range list.Parts {
		p := u.parts[lp.PartNumber]
		var ce *cosError
		switch {
		case i > 0 && lp.PartNumber <= list.Parts[i-1].PartNumber:
			ce = &cosError{status: 400, code: "InvalidPartOrder", msg: "The list of parts was not in ascending order."}
		case p == nil || !strings.EqualFold(strings.Trim(lp.ETag, `"`), strings.Trim(quotedMD5(p.md5), `"`)):
			ce = &cosError{status: 400, code: "InvalidPart", msg: fmt.Sprintf("Part %d was not uploaded or its ETag does not match.", lp.PartNumber)}
		case i < len(list.Parts)-1 && p.size < MinPartSize:
			ce = &cosError{status: 400, code: "EntityTooSmall", msg: fmt.Sprintf("Part %d is smaller than the minimum allowed size.", lp.PartNumber)}
		}
		if ce != nil {
			e.mu.Unlock()
			c.fail(ce)
			return
		}
		parts = append(parts, p)
	}
	if e.cosUploads[u.id] != u {
		e.mu.Unlock()
		c.fail(&cosError{status: 404, code: "NoSuchUpload", msg: "The specified upload does not exist."})
		return
	}
	var readers []io.ReadCloser
	var total int64
	if !e.cfg.Discard {
		var aerr *apiError
		if readers, total, aerr = openParts(parts); aerr != nil {
			e.mu.Unlock()
			c.fail(&cosError{status: 500, code: "InternalError", msg: aerr.msg})
			return
		}
	}
	// The upload ends now: parts arriving later get NoSuchUpload, a second complete too.
	delete(e.cosUploads, u.id)
	e.mu.Unlock()
	defer e.removeUploadDir(u.storeID)

	var st staged
	d := combineParts(parts)
	if !e.cfg.Discard {
		if st, d, err = e.assemble(readers, total); err != nil {
			c.fail(&cosError{status: 500, code: "InternalError", msg: "assemble: " + err.Error()})
			return
		}
	}
	etag := multipartETag(parts)
	rec := &fileRec{digest: d, etag: etag, contentType: u.contentType, discarded: e.cfg.Discard}
	e.mu.Lock()
	err = e.storeObjectLocked(u.key, st, rec)
	e.mu.Unlock()
	if err != nil {
		e.discard(st)
		c.fail(&cosError{status: 500, code: "InternalError", msg: err.Error()})
		return
	}
	c.w.Header().Set("x-cos-hash-crc64ecma", strconv.FormatUint(d.crc, 10))
	c.replyXML(200, completeResultXML{Location: r.Host + "/" + u.key, Bucket: emulatedBucket, Key: u.key, ETag: etag})
}

// ---- AbortMultipartUpload ----

// abortUpload answers DELETE /{key}?uploadId=: 204, the upload and its parts are gone.
func (c *cosCall) abortUpload() {
	e := c.e
	if !c.plainCall("cos.abort") {
		return
	}
	io.Copy(io.Discard, io.LimitReader(c.r.Body, maxAPIBody))
	u := c.uploadOf()
	if u == nil {
		return
	}
	e.mu.Lock()
	gone := e.cosUploads[u.id] != u
	delete(e.cosUploads, u.id)
	e.mu.Unlock()
	if gone {
		c.fail(&cosError{status: 404, code: "NoSuchUpload", msg: "The specified upload does not exist."})
		return
	}
	e.removeUploadDir(u.storeID)
	h := c.w.Header()
	e.stamp(c.w)
	h.Del("Content-Type")
	c.w.WriteHeader(http.StatusNoContent)
}
