package smh

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Conflict strategies for a target path that already exists.
const (
	ConflictRename    = "rename"    // SMH's default: store as "name (1).ext"
	ConflictOverwrite = "overwrite" // replace the existing file
	ConflictAsk       = "ask"       // fail with 409 SameNameDirectoryOrFileExists (ErrConflict)
)

// BeginOptions are the arguments of a begin call.
type BeginOptions struct {
	Path         string // target path in the library, e.g. "photos/a.jpg"
	Size         int64  // file size, sent as filesize for the quota check; < 0 to omit
	Conflict     string // ConflictRename (default), ConflictOverwrite or ConflictAsk
	TrafficLimit int64  // bytes per second for the storage upload; 0 for none
	// BeginningHash and FullHash drive instant upload (smh-api.md §3).
	BeginningHash string
	FullHash      string
}

// UploadInfo is what begin and renew return: where and how to send bytes.
type UploadInfo struct {
	Domain             string            `json:"domain"`             // storage host, without scheme
	Path               string            `json:"path"`               // object key, starting with "/"
	UploadID           string            `json:"uploadId,omitempty"` // multipart only
	Headers            map[string]string `json:"headers"`            // send verbatim with every part
	ConfirmKey         string            `json:"confirmKey"`
	Expiration         time.Time         `json:"expiration"`
	AvailableDomainNum flexInt           `json:"availableDomainNum"`
	// Form holds a form upload's fields (BeginForm), in the answer's order,
	// posted with the file to the storage host's root instead of a PUT to
	// Path with Headers.
	Form []FormField `json:"form,omitempty"`
}

// FileInfo is a stored file as confirm (or an instant upload) returns it.
type FileInfo struct {
	Path             []string          `json:"path"` // final path after any rename
	Name             string            `json:"name"`
	Type             string            `json:"type"`
	CreationTime     string            `json:"creationTime"`
	ModificationTime string            `json:"modificationTime"`
	ContentType      string            `json:"contentType"`
	Size             flexInt           `json:"size"`
	ETag             string            `json:"eTag"`
	CRC64            string            `json:"crc64"`
	MetaData         map[string]string `json:"metaData,omitempty"`
}

// SizeBytes returns Size as an int64.
func (f *FileInfo) SizeBytes() int64 { return int64(f.Size) }

// BeginResult is one of three answers to a begin call.
type BeginResult struct {
	Upload       *UploadInfo // a task was created: send the bytes
	File         *FileInfo   // instant upload finished: nothing to send, no confirm
	NeedFullHash bool        // 202: the server has a candidate; begin again with FullHash
}

// UploadedPart is one part the server holds, as the status call lists it.
type UploadedPart struct {
	PartNumber   int    `json:"PartNumber"`
	LastModified string `json:"LastModified"`
	ETag         string `json:"ETag"`
	Size         int64  `json:"Size"`
}

// UploadStatus is the server's view of a task (GET …?upload).
type UploadStatus struct {
	Confirmed                  bool           `json:"confirmed"`
	Path                       []string       `json:"path"`
	Type                       string         `json:"type"`
	CreationTime               string         `json:"creationTime"`
	ConflictResolutionStrategy string         `json:"conflictResolutionStrategy"`
	Force                      bool           `json:"force"`
	AvailableDomainNum         flexInt        `json:"availableDomainNum"`
	UploadID                   string         `json:"uploadId"`
	Parts                      []UploadedPart `json:"parts"`
	UploadPartInfo             *UploadInfo    `json:"uploadPartInfo"`
}

// BeginMultipart starts a multipart upload (POST …/{path}?multipart).
func (c *Client) BeginMultipart(ctx context.Context, o BeginOptions) (*BeginResult, error) {
	return c.begin(ctx, "POST", "multipart", "begin", o)
}

// BeginSimple starts a simple upload (PUT …/{path}): one storage PUT of the
// whole file. Its parameters cannot be renewed.
func (c *Client) BeginSimple(ctx context.Context, o BeginOptions) (*BeginResult, error) {
	return c.begin(ctx, "PUT", "", "begin", o)
}

// BeginForm starts a form upload (POST …/{path} with no flag): the whole
// file in one multipart/form-data POST of the Upload's Form fields to the
// storage host. A browser sends both as CORS simple requests, with no
// preflight, where a simple upload's begin and PUT each need one. Like a
// simple upload's, its parameters cannot be renewed.
func (c *Client) BeginForm(ctx context.Context, o BeginOptions) (*BeginResult, error) {
	return c.begin(ctx, "POST", "", "begin", o)
}

func (c *Client) begin(ctx context.Context, method, flag, op string, o BeginOptions) (*BeginResult, error) {
	p, err := CleanPath(o.Path)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if o.Conflict != "" {
		q.Set("conflict_resolution_strategy", o.Conflict)
	}
	if o.Size >= 0 {
		q.Set("filesize", strconv.FormatInt(o.Size, 10))
	}
	if o.TrafficLimit > 0 {
		q.Set("traffic_limit", strconv.FormatInt(o.TrafficLimit, 10))
	}
	size := ""
	if o.BeginningHash != "" && o.Size >= 0 {
		size = strconv.FormatInt(o.Size, 10)
	}
	body := jsonObject("beginningHash", o.BeginningHash, "fullHash", o.FullHash, "size", size)
	// The answer is upload info (201, or 200 from older revisions), file
	// info (200 after an instant upload) or nothing (202): "path" is a string
	// in one and a list in the other, so look before decoding.
	var raw anyJSON
	resp, err := c.do(ctx, call{op: op, method: method, path: c.filePath("file", p), flag: flag, query: q, body: body, out: &raw})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == 202 {
		return &BeginResult{NeedFullHash: true}, nil
	}
	bad := func(msg string) error {
		return &Error{Op: op, Status: resp.StatusCode, Code: CodeBadResponse, Message: msg}
	}
	if raw.v == nil {
		return nil, bad("answer has neither upload nor file info")
	}
	if probe := objectOf(raw.v); probe.str("confirmKey") != "" && probe.str("domain") != "" {
		var info UploadInfo
		if err := info.decodeJSON(raw.v); err != nil {
			return nil, bad("undecodable upload info: " + err.Error())
		}
		return &BeginResult{Upload: &info}, nil
	}
	var fi FileInfo
	if resp.StatusCode == 200 && fi.decodeJSON(raw.v) == nil && len(fi.Path) > 0 {
		return &BeginResult{File: &fi}, nil
	}
	return nil, bad("answer has neither upload nor file info")
}

// Renew fetches fresh upload parameters for a multipart task
// (POST …/{confirmKey}?renew). The upload id and confirm key stay; the
// domain, headers and expiration may change.
func (c *Client) Renew(ctx context.Context, confirmKey string, trafficLimit int64) (*UploadInfo, error) {
	q := url.Values{}
	if trafficLimit > 0 {
		q.Set("traffic_limit", strconv.FormatInt(trafficLimit, 10))
	}
	var info UploadInfo
	if _, err := c.do(ctx, call{op: "renew", method: "POST", path: c.keyPath(confirmKey), flag: "renew", query: q, out: &info}); err != nil {
		return nil, withKey(err, confirmKey)
	}
	if info.Domain == "" || len(info.Headers) == 0 {
		return nil, &Error{Op: "renew", Code: CodeBadResponse, Message: "renew answer lacks domain or headers", ConfirmKey: confirmKey}
	}
	if info.ConfirmKey == "" {
		info.ConfirmKey = confirmKey
	}
	return &info, nil
}

// UploadStatus reads a task's state and its uploaded parts (GET …?upload).
func (c *Client) UploadStatus(ctx context.Context, confirmKey string) (*UploadStatus, error) {
	var st UploadStatus
	if _, err := c.do(ctx, call{op: "status", method: "GET", path: c.keyPath(confirmKey), flag: "upload", out: &st}); err != nil {
		return nil, withKey(err, confirmKey)
	}
	if st.UploadPartInfo != nil && st.UploadPartInfo.ConfirmKey == "" {
		st.UploadPartInfo.ConfirmKey = confirmKey
	}
	return &st, nil
}

// ConfirmOptions are the arguments of Confirm.
type ConfirmOptions struct {
	CRC64    *uint64 // whole-file CRC-64/ECMA; SMH answers BadCrc64 when it differs
	Conflict string  // overrides the strategy given at begin
}

// Confirm finishes a task (POST …/{confirmKey}?confirm) and returns the file.
func (c *Client) Confirm(ctx context.Context, confirmKey string, o ConfirmOptions) (*FileInfo, error) {
	q := url.Values{}
	if o.Conflict != "" {
		q.Set("conflict_resolution_strategy", o.Conflict)
	}
	crc := ""
	if o.CRC64 != nil {
		crc = FormatCRC64(*o.CRC64)
	}
	body := jsonObject("crc64", crc)
	var fi FileInfo
	if _, err := c.do(ctx, call{op: "confirm", method: "POST", path: c.keyPath(confirmKey), flag: "confirm", query: q, body: body, out: &fi}); err != nil {
		return nil, withKey(err, confirmKey)
	}
	return &fi, nil
}

// CancelUpload deletes a task and its parts (DELETE …?upload). A task the
// server no longer knows counts as cancelled.
func (c *Client) CancelUpload(ctx context.Context, confirmKey string) error {
	_, err := c.do(ctx, call{op: "cancel", method: "DELETE", path: c.keyPath(confirmKey), flag: "upload"})
	if e, ok := err.(*Error); ok && e.Status == 404 && (e.Code == "UploadNotFound" || e.Code == "ConfirmKeyNotFound") {
		return nil
	}
	return withKey(err, confirmKey)
}

// CreateDirectory creates a folder and the missing folders above it
// (PUT /api/v1/directory/…). An existing folder is not an error.
func (c *Client) CreateDirectory(ctx context.Context, dir string) error {
	p, err := CleanPath(dir)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, call{op: "mkdir", method: "PUT", path: c.filePath("directory", p)})
	if e, ok := err.(*Error); ok && e.Status == 409 && e.Code == "SameNameDirectoryOrFileExists" {
		return nil
	}
	return err
}

func (c *Client) keyPath(confirmKey string) string {
	return "file/" + url.PathEscape(c.cfg.LibraryID) + "/" + url.PathEscape(c.cfg.SpaceID) + "/" + url.PathEscape(confirmKey)
}

// withKey records the confirm key on an *Error so a failed call can be resumed.
func withKey(err error, key string) error {
	if e, ok := err.(*Error); ok && e.ConfirmKey == "" {
		e.ConfirmKey = key
	}
	return err
}

// HeadFile reads a stored file's metadata (HEAD …/{path}) from its x-smh-*
// headers.
func (c *Client) HeadFile(ctx context.Context, path string) (*FileInfo, error) {
	p, err := CleanPath(path)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, call{op: "head", method: "HEAD", path: c.filePath("file", p)})
	if err != nil {
		return nil, err
	}
	h := resp.Header
	size, _ := strconv.ParseInt(h.Get("x-smh-size"), 10, 64)
	segs := strings.Split(p, "/")
	return &FileInfo{Path: segs, Name: segs[len(segs)-1], Type: h.Get("x-smh-type"), CreationTime: h.Get("x-smh-creation-time"),
		ContentType: h.Get("x-smh-content-type"), Size: flexInt(size), ETag: h.Get("x-smh-etag"), CRC64: h.Get("x-smh-crc64")}, nil
}
