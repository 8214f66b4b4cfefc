package emulator

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file and coswrite.go hold the plain COS calls that a COS SDK makes on its own, without SMH: the multipart API
// (ListMultipartUploads, InitiateMultipartUpload, ListParts, UploadPart, CompleteMultipartUpload,
// AbortMultipartUpload) and PutObject, authenticated with the permanent key pair of Config.COSSecretID and
// Config.COSSecretKey. Shapes follow the COS API docs and what tencentyun/cos-js-sdk-v5 1.10.1 sends and
// parses (src/base.js, src/advance.js); an SMH client never needs them, a benchmark of that SDK does.
//
// Not emulated: GET and HEAD of the objects stored this way (ObjectInfo and ReadObject inspect them),
// delimiter and encoding-type in listings, copies, ACLs, tagging and the other bucket calls.

// emulatedBucket names the bucket in the XML answers (COS bucket names end in -<appid>).
const emulatedBucket = "smhemulator-1250000000"

// cosOwner is the account id in Initiator and Owner elements (guess: any uin-shaped id does).
const cosOwner = "qcs::cam::uin/100000000001:uin/100000000001"

// maxCompleteBody bounds the CompleteMultipartUpload XML: 10,000 parts take about 850 KB.
const maxCompleteBody = 4 << 20

// cosUpload is one plain COS multipart upload.
type cosUpload struct {
	id          string
	key         string
	storeID     string // directory of its parts in Dir mode
	contentType string
	initiated   time.Time
	parts       map[int]*part
}

// cosObject is an object stored through the plain COS calls.
type cosObject struct {
	rec      *fileRec
	modified time.Time
}

// ---- inspection ----

// ObjectInfo describes the object stored at key ("dir/a.bin", a leading "/" is ignored) through the plain
// COS calls (CompleteMultipartUpload or PutObject). A missing object gives an error that wraps
// fs.ErrNotExist. Path is the key; with Config.Discard, MD5 and the instant-upload hashes are empty.
func (e *Emulator) ObjectInfo(key string) (FileInfo, error) {
	key = strings.TrimPrefix(key, "/")
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.cosObjects[key]
	if o == nil {
		return FileInfo{}, fmt.Errorf("emulator: object %s: %w", key, fs.ErrNotExist)
	}
	return fileInfoFor(key, key[strings.LastIndexByte(key, '/')+1:], o.rec, o.modified, o.modified), nil
}

// ReadObject returns the bytes of the object stored at key through the plain COS calls: an error that
// wraps fs.ErrNotExist when there is none, ErrDiscarded when its bytes were not kept.
func (e *Emulator) ReadObject(key string) ([]byte, error) {
	key = strings.TrimPrefix(key, "/")
	e.mu.Lock()
	o := e.cosObjects[key]
	if o == nil {
		e.mu.Unlock()
		return nil, fmt.Errorf("emulator: object %s: %w", key, fs.ErrNotExist)
	}
	if o.rec.discarded {
		e.mu.Unlock()
		return nil, fmt.Errorf("emulator: object %s: %w", key, ErrDiscarded)
	}
	rc, err := o.rec.blob.open()
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// OpenMultipartUploads returns the number of plain COS multipart uploads initiated and neither completed
// nor aborted.
func (e *Emulator) OpenMultipartUploads() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.cosUploads)
}

// ---- authentication ----

// keyPairLocked reports whether r is signed with the configured COS key pair (it may still be invalid).
func (e *Emulator) keyPairLocked(r *http.Request) bool {
	return e.cfg.COSSecretID != "" && e.cfg.COSSecretKey != "" &&
		parseAuth(r.Header.Get("Authorization"))["q-ak"] == e.cfg.COSSecretID
}

// plainAuthLocked checks a plain COS call: an Authorization made with the key pair (smh-api.md §6.2; what
// the SDK signs: the method, the path, the query parameters and headers it lists, in particular host),
// within its time window on the server clock. ExpireSignatures does not touch it: a permanent key signs
// afresh for every request.
func (e *Emulator) plainAuthLocked(r *http.Request) *cosError {
	if e.cfg.COSSecretID == "" || e.cfg.COSSecretKey == "" || r.Header.Get("Authorization") == "" {
		return errNoAuth
	}
	f := parseAuth(r.Header.Get("Authorization"))
	if f["q-ak"] != e.cfg.COSSecretID {
		return &cosError{status: 403, code: "InvalidAccessKeyId", msg: "The access key Id format you provided is invalid."}
	}
	is := &issue{secret: []byte(e.cfg.COSSecretKey), gen: e.expiredGen}
	return e.checkSignatureLocked(r, f, is, r.Header.Get("x-cos-security-token"))
}

// plainCall counts op, waits the latency and checks the authentication of a plain COS call; false means
// it answered.
func (c *cosCall) plainCall(op string) bool {
	e := c.e
	e.count(op)
	if !e.delay(c.r) {
		abort()
	}
	e.mu.Lock()
	ce := e.plainAuthLocked(c.r)
	e.mu.Unlock()
	if ce != nil {
		c.failDrained(ce)
		return false
	}
	return true
}

// ---- XML answers ----

type cosParty struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

var owner = cosParty{ID: cosOwner, DisplayName: "100000000001"}

func (c *cosCall) replyXML(status int, v any) {
	b, err := xml.MarshalIndent(v, "", "\t")
	if err != nil {
		panic(err)
	}
	b = append([]byte("<?xml version='1.0' encoding='utf-8' ?>\n"), b...)
	h := c.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	c.e.stamp(c.w)
	c.w.WriteHeader(status)
	c.w.Write(b)
}

// cosTime formats t as COS does in listings (ISO 8601 with milliseconds, UTC).
func cosTime(t time.Time) string { return timeMillis(t) }

// queryLimit reads a max-uploads or max-parts parameter: default and ceiling 1000.
func queryLimit(c *cosCall, name string) (int, bool) {
	v := c.r.URL.Query().Get(name)
	if v == "" {
		return 1000, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		c.failDrained(&cosError{status: 400, code: "InvalidArgument", msg: "invalid " + name})
		return 0, false
	}
	return min(n, 1000), true
}

// ---- ListMultipartUploads ----

type listUploadsXML struct {
	XMLName            xml.Name        `xml:"ListMultipartUploadsResult"`
	Bucket             string          `xml:"Bucket"`
	KeyMarker          string          `xml:"KeyMarker"`
	UploadIDMarker     string          `xml:"UploadIdMarker"`
	NextKeyMarker      string          `xml:"NextKeyMarker"`
	NextUploadIDMarker string          `xml:"NextUploadIdMarker"`
	MaxUploads         int             `xml:"MaxUploads"`
	IsTruncated        bool            `xml:"IsTruncated"`
	Prefix             string          `xml:"Prefix"`
	Uploads            []uploadItemXML `xml:"Upload"`
}

type uploadItemXML struct {
	Key          string   `xml:"Key"`
	UploadID     string   `xml:"UploadId"`
	StorageClass string   `xml:"StorageClass"`
	Initiator    cosParty `xml:"Initiator"`
	Owner        cosParty `xml:"Owner"`
	Initiated    string   `xml:"Initiated"`
}

// listUploads answers GET /?uploads: the open multipart uploads whose key starts with prefix, by key and
// then by initiation time, paged with key-marker, upload-id-marker and max-uploads.
func (c *cosCall) listUploads() {
	e := c.e
	if !c.plainCall("cos.list") {
		return
	}
	q := c.r.URL.Query()
	limit, ok := queryLimit(c, "max-uploads")
	if !ok {
		return
	}
	prefix, keyMarker, idMarker := q.Get("prefix"), q.Get("key-marker"), q.Get("upload-id-marker")
	e.mu.Lock()
	var all []*cosUpload
	for _, u := range e.cosUploads {
		if strings.HasPrefix(u.key, prefix) {
			all = append(all, u)
		}
	}
	e.mu.Unlock()
	slices.SortFunc(all, func(a, b *cosUpload) int {
		return cmp.Or(strings.Compare(a.key, b.key), a.initiated.Compare(b.initiated), strings.Compare(a.id, b.id))
	})
	if keyMarker != "" {
		// After the marker: a later key, or (with upload-id-marker) a later upload of the marker's key.
		i := 0
		for i < len(all) && all[i].key < keyMarker {
			i++
		}
		if idMarker == "" {
			for i < len(all) && all[i].key == keyMarker {
				i++
			}
		} else if j := slices.IndexFunc(all, func(u *cosUpload) bool { return u.key == keyMarker && u.id == idMarker }); j >= 0 {
			i = j + 1
		}
		all = all[i:]
	}
	out := listUploadsXML{Bucket: emulatedBucket, KeyMarker: keyMarker, UploadIDMarker: idMarker, MaxUploads: limit,
		Prefix: prefix, Uploads: []uploadItemXML{}}
	if len(all) > limit {
		all = all[:limit]
		out.IsTruncated = true
		out.NextKeyMarker, out.NextUploadIDMarker = all[limit-1].key, all[limit-1].id
	}
	for _, u := range all {
		out.Uploads = append(out.Uploads, uploadItemXML{Key: u.key, UploadID: u.id, StorageClass: "STANDARD",
			Initiator: owner, Owner: owner, Initiated: cosTime(u.initiated)})
	}
	c.replyXML(200, out)
}

// ---- InitiateMultipartUpload ----

type initXML struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

// initUpload answers POST /{key}?uploads: a new upload id for key.
func (c *cosCall) initUpload() {
	e, r := c.e, c.r
	if !c.plainCall("cos.init") {
		return
	}
	io.Copy(io.Discard, io.LimitReader(r.Body, maxAPIBody))
	key := strings.TrimPrefix(r.URL.Path, "/")
	if key == "" {
		c.fail(&cosError{status: 400, code: "InvalidArgument", msg: "the object key is empty"})
		return
	}
	now := e.now()
	u := &cosUpload{
		// Shaped like a COS upload id: the Unix time in seconds, then hex.
		id:          strconv.FormatInt(now.Unix(), 10) + randHex(32),
		key:         key,
		contentType: r.Header.Get("Content-Type"),
		initiated:   now,
		parts:       map[int]*part{},
	}
	u.storeID = "c" + u.id
	if u.contentType == "" {
		u.contentType = contentTypeOf(key)
	}
	e.mu.Lock()
	e.cosUploads[u.id] = u
	e.mu.Unlock()
	c.replyXML(200, initXML{Bucket: emulatedBucket, Key: key, UploadID: u.id})
}

// uploadOf returns the open upload of the request's uploadId query parameter and path, or answers
// 404 NoSuchUpload and returns nil.
func (c *cosCall) uploadOf() *cosUpload {
	e := c.e
	id, _ := queryGet(c.r.URL.Query(), "uploadId")
	key := strings.TrimPrefix(c.r.URL.Path, "/")
	e.mu.Lock()
	u := e.cosUploads[id]
	e.mu.Unlock()
	if u == nil || u.key != key {
		c.failDrained(&cosError{status: 404, code: "NoSuchUpload", msg: "The specified upload does not exist."})
		return nil
	}
	return u
}

// ---- ListParts ----

type listPartsXML struct {
	XMLName              xml.Name      `xml:"ListPartsResult"`
	Bucket               string        `xml:"Bucket"`
	Key                  string        `xml:"Key"`
	UploadID             string        `xml:"UploadId"`
	Initiator            cosParty      `xml:"Initiator"`
	Owner                cosParty      `xml:"Owner"`
	StorageClass         string        `xml:"StorageClass"`
	PartNumberMarker     int           `xml:"PartNumberMarker"`
	NextPartNumberMarker int           `xml:"NextPartNumberMarker"`
	MaxParts             int           `xml:"MaxParts"`
	IsTruncated          bool          `xml:"IsTruncated"`
	Parts                []partItemXML `xml:"Part"`
}

type partItemXML struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
}

// listParts answers GET /{key}?uploadId=: the parts stored so far, paged with part-number-marker and
// max-parts.
func (c *cosCall) listParts() {
	e := c.e
	if !c.plainCall("cos.parts") {
		return
	}
	limit, ok := queryLimit(c, "max-parts")
	if !ok {
		return
	}
	marker := 0
	if v := c.r.URL.Query().Get("part-number-marker"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.fail(&cosError{status: 400, code: "InvalidArgument", msg: "invalid part-number-marker"})
			return
		}
		marker = n
	}
	u := c.uploadOf()
	if u == nil {
		return
	}
	out := listPartsXML{Bucket: emulatedBucket, Key: u.key, UploadID: u.id, Initiator: owner, Owner: owner,
		StorageClass: "STANDARD", PartNumberMarker: marker, MaxParts: limit, Parts: []partItemXML{}}
	e.mu.Lock()
	var parts []*part
	for n, p := range u.parts {
		if n > marker {
			parts = append(parts, p)
		}
	}
	e.mu.Unlock()
	slices.SortFunc(parts, func(a, b *part) int { return a.n - b.n })
	if len(parts) > limit {
		parts = parts[:limit]
		out.IsTruncated = true
	}
	for _, p := range parts {
		out.Parts = append(out.Parts, partItemXML{PartNumber: p.n, LastModified: cosTime(p.modified), ETag: quotedMD5(p.md5), Size: p.size})
		out.NextPartNumberMarker = p.n
	}
	c.replyXML(200, out)
}
