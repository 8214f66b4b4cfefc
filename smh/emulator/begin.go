package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// This file holds beginning an upload: the COS credentials a task hands out, simple and multipart begins, instant upload.

type uploadInfoJSON struct {
	Domain             string            `json:"domain"`
	Path               string            `json:"path"`
	UploadID           string            `json:"uploadId,omitempty"`
	Headers            map[string]string `json:"headers"`
	ConfirmKey         string            `json:"confirmKey"`
	Expiration         string            `json:"expiration"`
	AvailableDomainNum int               `json:"availableDomainNum"`
}

type uploadPartInfoJSON struct {
	Domain     string            `json:"domain"`
	Path       string            `json:"path"`
	UploadID   string            `json:"uploadId"`
	Headers    map[string]string `json:"headers"`
	Expiration string            `json:"expiration"`
}

// issueLocked hands out fresh part-upload credentials for t: a new access key id with its own random
// secret, signed per smh-api.md §6.2 for PUT on the object key (and the uploadid parameter of a multipart
// task), valid for SignatureTTL from now.
func (e *Emulator) issueLocked(t *task) uploadInfoJSON {
	ak, is, keyTime, end := e.credentialsLocked(t)
	paramList, params := "", ""
	if t.multipart {
		paramList, params = "uploadid", "uploadid="+cosEscape(t.uploadID)
	}
	sig := cosSignature(is.secret, keyTime, keyTime, "put", "/"+t.objectKey, params, "")
	headers := map[string]string{
		"Content-Type": "application/octet-stream",
		"Authorization": "q-sign-algorithm=sha1&q-ak=" + ak + "&q-sign-time=" + keyTime + "&q-key-time=" + keyTime +
			"&q-header-list=&q-url-param-list=" + paramList + "&q-signature=" + sig,
		"x-cos-security-token": t.securityToken,
	}
	if !t.multipart {
		// The doc example of a simple upload carries the file's real MIME type.
		headers["Content-Type"] = contentTypeOf(t.segs[len(t.segs)-1])
	}
	if t.trafficLimit > 0 {
		// smh-api.md §6.4: traffic_limit is B/s, COS wants bit/s (guess: SMH multiplies by 8).
		headers["x-cos-traffic-limit"] = strconv.FormatInt(t.trafficLimit*8, 10)
	}
	return uploadInfoJSON{
		Domain:             e.cosDomain,
		Path:               "/" + t.objectKey,
		UploadID:           t.uploadID,
		Headers:            headers,
		ConfirmKey:         t.confirmKey,
		Expiration:         timeMillis(time.Unix(end, 0)),
		AvailableDomainNum: 1,
	}
}

// credentialsLocked makes t a new access key id with its own random secret, valid for SignatureTTL
// from now, and returns it with its key time ("start;end") and end.
func (e *Emulator) credentialsLocked(t *task) (ak string, is *issue, keyTime string, end int64) {
	ttl := max(int64((e.cfg.SignatureTTL+time.Second-1)/time.Second), 1)
	start := e.now().Unix()
	end = start + ttl
	is = &issue{task: t, secret: []byte(randHex(20)), token: t.securityToken, gen: e.gen, end: time.Unix(end, 0)}
	ak = "AKID" + randHex(16)
	e.issues[ak] = is
	t.aks = append(t.aks, ak)
	return ak, is, fmt.Sprintf("%d;%d", start, end), end
}

// ---- begin ----

// flexInt accepts a JSON number or a decimal string (JS sends size as a string, Android as a number).
type flexInt struct {
	set bool
	v   int64
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return fmt.Errorf("bad size %s", b)
	}
	f.set, f.v = true, v
	return nil
}

type beginBody struct {
	BeginningHash         string          `json:"beginningHash"`
	FullHash              string          `json:"fullHash"`
	SampleHash            string          `json:"sampleHash"`
	Size                  flexInt         `json:"size"`
	Labels                []string        `json:"labels"`
	Category              string          `json:"category"`
	LocalCreationTime     string          `json:"localCreationTime"`
	LocalModificationTime string          `json:"localModificationTime"`
	From                  json.RawMessage `json:"from"`
	LinkTo                json.RawMessage `json:"linkTo"`
	CopyFrom              json.RawMessage `json:"copyFrom"`
}

func parseStrategy(s, def string) (string, *apiError) {
	switch s {
	case "":
		return def, nil
	case "ask", "rename", "overwrite":
		return s, nil
	}
	return "", errf(400, "InvalidConflictResolutionStrategy", "invalid conflict_resolution_strategy %q", s)
}

// parseTrafficLimit reads traffic_limit in B/s, valid from 100 KiB/s to 100 MiB/s (smh-api.md §6.4).
func parseTrafficLimit(q url.Values) (int64, *apiError) {
	if !q.Has("traffic_limit") {
		return 0, nil
	}
	v, err := strconv.ParseInt(q.Get("traffic_limit"), 10, 64)
	if err != nil || v < 102400 || v > 104857600 {
		return 0, errf(400, "ParamInvalid", "traffic_limit must be 102400..104857600 B/s")
	}
	return v, nil
}

func metaHeaders(h http.Header) map[string]string {
	var m map[string]string
	for k, v := range h {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-smh-meta-") && len(v) > 0 {
			if m == nil {
				m = map[string]string{}
			}
			m[lk] = v[0]
		}
	}
	return m
}

// How a begin's object or parts will come.
type beginKind int

const (
	beginSimple    beginKind = iota // one PUT
	beginMultipart                  // parts
	beginForm                       // one form POST
)

func (c *apiCall) begin(kind beginKind) {
	e := c.e
	multipart := kind == beginMultipart
	tok, aerr := c.auth(uploadGrants)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	strategy, aerr := parseStrategy(c.q.Get("conflict_resolution_strategy"), "rename")
	if aerr != nil {
		c.fail(aerr)
		return
	}
	limit, aerr := parseTrafficLimit(c.q)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	var filesize int64 = -1
	if c.q.Has("filesize") {
		v, err := strconv.ParseInt(c.q.Get("filesize"), 10, 64)
		if err != nil || v < 0 {
			c.fail(errf(400, "ParamInvalid", "invalid filesize"))
			return
		}
		filesize = v
	}
	var body beginBody
	if len(bytes.TrimSpace(c.body)) > 0 {
		if err := json.Unmarshal(c.body, &body); err != nil {
			c.fail(errf(400, "ParamInvalid", "invalid JSON body: %v", err))
			return
		}
	}
	if !multipart && (len(body.From) > 0 || len(body.LinkTo) > 0 || len(body.CopyFrom) > 0) {
		// The same PUT route renames/moves ("from"), copies ("copyFrom") or creates a symlink ("linkTo") on
		// the real service (smh-api.md §1). Those are not uploads and are not emulated; treating them as a
		// simple upload would silently do the wrong thing.
		c.fail(errf(400, "ParamInvalid", "move, copy and symlink bodies are not supported by the emulator"))
		return
	}
	if aerr := checkPath(c.segs); aerr != nil {
		c.fail(aerr)
		return
	}
	size := filesize
	if body.Size.set {
		size = body.Size.v
	}

	e.mu.Lock()
	sp := e.space(c.space)
	if !sp.isDir(c.segs[:len(c.segs)-1]) {
		e.mu.Unlock()
		c.fail(errf(404, "DirectoryNotFound", "the parent directory does not exist"))
		return
	}
	if n := sp.get(c.segs); n != nil && (strategy == "ask" || strategy == "overwrite" && n.dir) {
		e.mu.Unlock()
		c.fail(errf(409, "SameNameDirectoryOrFileExists", "a file or directory with the same name exists"))
		return
	}
	if body.BeginningHash != "" && size >= InstantUploadMinSize {
		if e.findContentLocked(size, body.BeginningHash, "") != nil {
			if body.FullHash == "" {
				e.mu.Unlock()
				c.reply(202, struct{}{})
				return
			}
			if src := e.findContentLocked(size, body.BeginningHash, body.FullHash); src != nil {
				c.instantLocked(src, strategy, body) // unlocks
				return
			}
		}
	}
	t := &task{
		confirmKey:    randHex(16),
		securityToken: randHex(40),
		space:         c.space,
		segs:          c.segs,
		multipart:     multipart,
		form:          kind == beginForm,
		strategy:      strategy,
		trafficLimit:  limit,
		userID:        tok.userID,
		created:       e.now(),
		parts:         map[int]*part{},
		meta:          metaHeaders(c.r.Header),
		labels:        body.Labels,
		category:      body.Category,
	}
	if u := c.q.Get("user_id"); u != "" {
		t.userID = u
	}
	t.objectKey = e.cfg.LibraryID + "/" + randHex(16)
	t.storeID = "s" + t.confirmKey
	if multipart {
		t.uploadID = strconv.FormatInt(t.created.UnixMilli(), 10) + randHex(16)
		t.storeID = t.uploadID
	}
	e.tasks[t.confirmKey] = t
	e.objects[t.objectKey] = t
	if multipart {
		e.uploads[t.uploadID] = t
	}
	if t.form {
		info := e.issueFormLocked(t)
		e.mu.Unlock()
		c.reply(201, info)
		return
	}
	info := e.issueLocked(t)
	e.mu.Unlock()
	c.reply(201, info)
}

// instantLocked completes an instant upload: the file is created from src's bytes at the target path, with
// no COS traffic and no confirm. Called with the lock held; it releases it.
func (c *apiCall) instantLocked(src *fileRec, strategy string, body beginBody) {
	e := c.e
	d := src.digest
	etag := src.etag
	var st staged
	if e.cfg.Dir == "" {
		st = staged{mem: src.blob.data} // immutable, shared
		e.mu.Unlock()
	} else {
		rc, err := src.blob.open()
		e.mu.Unlock()
		if err != nil {
			c.fail(errf(500, "InternalServerError", "read source: %v", err))
			return
		}
		sk, err := e.newSink(e.tmpDir(), d.size)
		if err == nil {
			_, err = io.Copy(sk, rc)
			if err != nil {
				sk.abort()
			}
		}
		rc.Close()
		if err == nil {
			st, _, err = sk.finish()
		}
		if err != nil {
			c.fail(errf(500, "InternalServerError", "copy: %v", err))
			return
		}
	}
	rec := newFileRec(d, etag, c.segs[len(c.segs)-1], metaHeaders(c.r.Header))
	rec.labels, rec.category = body.Labels, body.Category
	e.mu.Lock()
	final, aerr := e.placeFileLocked(c.space, c.segs, strategy, st, rec)
	if aerr != nil {
		e.mu.Unlock()
		e.discard(st)
		c.fail(aerr)
		return
	}
	info := fileInfoOf(final, e.space(c.space).get(final))
	e.mu.Unlock()
	c.reply(200, info)
}
