package emulator

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file holds the calls around confirmed files and directories: listing, info, download, delete.
// Shapes follow the models of Tencent's smh-js-sdk (ListDirectory200Response, InfoFile200Response,
// InfoFileOrDirectory200Response) and its docs; choices the sources leave open are marked "guess".

// entryJSON is one file or directory as a listing describes it; the file fields are empty for a directory.
type entryJSON struct {
	Name             string            `json:"name"`
	Type             string            `json:"type"`
	CreationTime     string            `json:"creationTime"`
	ModificationTime string            `json:"modificationTime"`
	ContentType      string            `json:"contentType,omitempty"`
	Size             string            `json:"size,omitempty"`
	ETag             string            `json:"eTag,omitempty"`
	CRC64            string            `json:"crc64,omitempty"`
	MetaData         map[string]string `json:"metaData,omitempty"`
	Labels           []string          `json:"labels,omitempty"`
	Category         string            `json:"category,omitempty"`
}

func entryOf(name string, n *node) entryJSON {
	out := entryJSON{
		Name:             name,
		Type:             "dir",
		CreationTime:     timeMillis(n.created),
		ModificationTime: timeMillis(n.modified),
	}
	if f := n.file; f != nil {
		out.Type = "file" // guess, as in fileInfoOf: media libraries report image or video
		out.ContentType = f.contentType
		out.Size = strconv.FormatInt(f.size, 10)
		out.ETag = f.etag
		out.CRC64 = strconv.FormatUint(f.crc, 10)
		out.MetaData = cloneMap(f.meta)
		out.Labels = slices.Clone(f.labels)
		out.Category = f.category
	}
	return out
}

// ---- listing ----

type listJSON struct {
	Path        []string    `json:"path"` // [] for the root
	FileCount   int         `json:"fileCount"`
	SubDirCount int         `json:"subDirCount"`
	TotalNum    int         `json:"totalNum"`
	NextMarker  string      `json:"nextMarker,omitempty"` // marker paging only, while more remain
	Contents    []entryJSON `json:"contents"`
}

const (
	defaultPageSize = 20
	maxMarkerLimit  = 100   // "limit … 最大返回100"
	maxPageDepth    = 10000 // "page*page_size … 最大 1 万"
)

func queryInt(q url.Values, name string, def int) (int, *apiError) {
	if !q.Has(name) || q.Get(name) == "" {
		return def, nil
	}
	v, err := strconv.Atoi(q.Get(name))
	if err != nil || v < 0 {
		return 0, errf(400, "ParamInvalid", "invalid %s", name)
	}
	return v, nil
}

// list answers GET /api/v1/directory/{lib}/{space}/{path}: the direct children of a directory, directories
// first in name order, then files in name order (the file-library order the docs describe), unless
// order_by, order_by_type or sort_type=union say otherwise. Two paging styles: by-marker=1 with marker and
// limit (default 20, at most 100; nextMarker while more remain), or by-page=1 with page and page_size
// (default 20, page*page_size at most 10000). A request naming neither pages by marker.
func (c *apiCall) list() {
	e, q := c.e, c.q
	if _, aerr := c.auth(nil); aerr != nil {
		c.fail(aerr)
		return
	}
	orderBy := q.Get("order_by")
	if !slices.Contains([]string{"", "name", "modificationTime", "size", "creationTime", "localCreationTime"}, orderBy) {
		c.fail(errf(400, "ParamInvalid", "invalid order_by %q", orderBy))
		return
	}
	desc := false
	switch q.Get("order_by_type") {
	case "", "asc":
	case "desc":
		desc = true
	default:
		c.fail(errf(400, "ParamInvalid", "invalid order_by_type %q", q.Get("order_by_type")))
		return
	}
	filter := q.Get("filter")
	if filter != "" && filter != "onlyDir" && filter != "onlyFile" {
		c.fail(errf(400, "ParamInvalid", "invalid filter %q", filter))
		return
	}
	union := false
	switch q.Get("sort_type") {
	case "":
	case "union":
		union = true
	default:
		c.fail(errf(400, "ParamInvalid", "invalid sort_type %q", q.Get("sort_type")))
		return
	}
	byPage := flag(q, "by-page") || q.Has("page") || q.Has("page_size")
	var offset, size int
	if byPage {
		page, aerr := queryInt(q, "page", 1)
		if aerr == nil {
			size, aerr = queryInt(q, "page_size", defaultPageSize)
		}
		switch {
		case aerr != nil:
		case page < 1 || size < 1:
			aerr = errf(400, "ParamInvalid", "page and page_size must be positive")
		case page*size > maxPageDepth: // guess: the depth limit is an error, not an empty page
			aerr = errf(400, "ParamInvalid", "page*page_size must not exceed %d", maxPageDepth)
		}
		if aerr != nil {
			c.fail(aerr)
			return
		}
		offset = (page - 1) * size
	} else {
		var aerr *apiError
		size, aerr = queryInt(q, "limit", defaultPageSize)
		if aerr == nil && size < 1 {
			aerr = errf(400, "ParamInvalid", "limit must be positive")
		}
		if aerr == nil {
			// Guess: the marker is opaque to clients (the SDK types it number|string); here it is the offset
			// of the next entry in the listing order.
			offset, aerr = queryInt(q, "marker", 0)
		}
		if aerr != nil {
			c.fail(aerr)
			return
		}
		size = min(size, maxMarkerLimit) // guess: a larger limit is clamped rather than refused
	}

	type item struct {
		entry             entryJSON
		dir               bool
		created, modified time.Time
		size              int64
	}
	e.mu.Lock()
	sp := e.space(c.space)
	if !sp.isDir(c.segs) {
		e.mu.Unlock()
		c.fail(errf(404, "DirectoryNotFound", "the directory does not exist"))
		return
	}
	out := listJSON{Path: slices.Clone(c.segs), Contents: []entryJSON{}}
	if out.Path == nil {
		out.Path = []string{}
	}
	var items []item
	for name, n := range sp.children(c.segs) {
		it := item{entry: entryOf(name, n), dir: n.dir, created: n.created, modified: n.modified}
		if n.dir {
			out.SubDirCount++
		} else {
			out.FileCount++
			it.size = n.file.size
		}
		if filter == "onlyDir" && !n.dir || filter == "onlyFile" && n.dir {
			continue
		}
		items = append(items, it)
	}
	e.mu.Unlock()
	out.TotalNum = out.FileCount + out.SubDirCount // "all files and subdirectories", whatever the filter

	slices.SortFunc(items, func(a, b item) int {
		if !union && a.dir != b.dir {
			if a.dir {
				return -1
			}
			return 1
		}
		var r int
		switch orderBy {
		case "modificationTime":
			r = a.modified.Compare(b.modified)
		case "creationTime", "localCreationTime": // guess: no local times are kept, the upload time serves
			r = a.created.Compare(b.created)
		case "size":
			r = cmp.Compare(a.size, b.size)
		}
		if r == 0 {
			r = strings.Compare(a.entry.Name, b.entry.Name)
		}
		if desc {
			r = -r
		}
		return r
	})
	for _, it := range items[min(offset, len(items)):min(offset+size, len(items))] {
		out.Contents = append(out.Contents, it.entry)
	}
	if !byPage && offset+size < len(items) {
		out.NextMarker = strconv.Itoa(offset + size)
	}
	c.reply(200, out)
}

// ---- directory info, HEAD and delete ----

type pathInfoJSON struct {
	Path []string `json:"path"`
	entryJSON
}

// dirInfo answers GET /api/v1/directory/…?info: the details of a file or a directory (no cosUrl).
func (c *apiCall) dirInfo() {
	e := c.e
	if _, aerr := c.auth(nil); aerr != nil {
		c.fail(aerr)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(c.segs) == 0 {
		root := &node{dir: true, created: e.started, modified: e.started}
		c.reply(200, pathInfoJSON{Path: []string{}, entryJSON: entryOf("", root)})
		return
	}
	n := e.space(c.space).get(c.segs)
	if n == nil {
		// Guess: PathNotFound (in the SDK's 404 list) since the call describes files and directories alike.
		c.fail(errf(404, "PathNotFound", "the path does not exist"))
		return
	}
	c.reply(200, pathInfoJSON{Path: slices.Clone(c.segs), entryJSON: entryOf(c.segs[len(c.segs)-1], n)})
}

// dirHead answers HEAD /api/v1/directory/…: 200 with x-smh-* headers for a directory, 404 otherwise
// (guess: also for a file, which the file HEAD describes).
func (c *apiCall) dirHead() {
	e := c.e
	if _, aerr := c.auth(nil); aerr != nil {
		c.fail(aerr)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := &node{dir: true, created: e.started, modified: e.started}
	if len(c.segs) > 0 {
		n = e.space(c.space).get(c.segs)
	}
	if n == nil || !n.dir {
		c.fail(errf(404, "DirectoryNotFound", "the directory does not exist"))
		return
	}
	setNodeHeaders(c.w.Header(), n)
	c.reply(200, nil)
}

// rmdir deletes a directory and everything below it: 204. The root cannot be deleted (guess: EmptyPath).
func (c *apiCall) rmdir() {
	c.remove(deleteDirGrants, true, errf(404, "DirectoryNotFound", "the directory does not exist"))
}

// deleteFile deletes a file: 204, as for a library without a recycle bin (with one, SMH answers 200
// {recycledItemId}). A directory at the path is not a file (guess: 404 FileNotFound).
func (c *apiCall) deleteFile() {
	c.remove(deleteFileGrants, false, errf(404, "FileNotFound", "the file does not exist"))
}

// remove deletes the node at the call's path if it is a directory (dir) or a file (!dir), else fails
// with notFound.
func (c *apiCall) remove(grants []string, dir bool, notFound *apiError) {
	e := c.e
	if _, aerr := c.auth(grants); aerr != nil {
		c.fail(aerr)
		return
	}
	if aerr := checkPath(c.segs); aerr != nil {
		c.fail(aerr)
		return
	}
	e.mu.Lock()
	n := e.space(c.space).get(c.segs)
	if n == nil || n.dir != dir {
		e.mu.Unlock()
		c.fail(notFound)
		return
	}
	aerr := e.removeLocked(c.space, c.segs)
	e.mu.Unlock()
	if aerr != nil {
		c.fail(aerr)
		return
	}
	c.reply(204, nil)
}

// setNodeHeaders sets the x-smh-* headers of HEAD and of the download redirect.
func setNodeHeaders(h http.Header, n *node) {
	h.Set("x-smh-creation-time", timeMillis(n.created))
	h.Set("x-smh-modification-time", timeMillis(n.modified))
	if n.dir {
		h.Set("x-smh-type", "dir")
		return
	}
	f := n.file
	h.Set("x-smh-type", "file")
	h.Set("x-smh-size", strconv.FormatInt(f.size, 10))
	h.Set("x-smh-crc64", strconv.FormatUint(f.crc, 10))
	h.Set("x-smh-etag", f.etag)
	h.Set("x-smh-content-type", f.contentType)
	for k, v := range f.meta {
		h.Set(k, v)
	}
}

// ---- file info and download ----

// infoJSON is InfoFile200Response: the file's details and a signed download URL.
type infoJSON struct {
	CosURL string `json:"cosUrl,omitempty"`
	fileMetaJSON
}

// fileInfo answers GET /api/v1/file/…?info (200, the file's details with cosUrl) or, with redirect, the
// plain GET download (302 to the same URL, with the x-smh-* headers). Query parameters: period (60..7200 s,
// the URL's lifetime; default Config.DownloadTTL), content_disposition (inline or attachment),
// traffic_limit (B/s), pre_check (no cosUrl).
func (c *apiCall) fileInfo(redirect bool) {
	e, q := c.e, c.q
	if _, aerr := c.auth(nil); aerr != nil {
		c.fail(aerr)
		return
	}
	limit, aerr := parseTrafficLimit(q)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	disposition := q.Get("content_disposition")
	if disposition != "" && disposition != "inline" && disposition != "attachment" {
		c.fail(errf(400, "ParamInvalid", "content_disposition must be inline or attachment"))
		return
	}
	ttl := e.cfg.DownloadTTL
	if q.Has("period") {
		v, err := strconv.Atoi(q.Get("period"))
		if err != nil || v < 60 || v > 7200 {
			c.fail(errf(400, "ParamInvalid", "period must be 60..7200 seconds"))
			return
		}
		ttl = time.Duration(v) * time.Second
	}
	if aerr := checkPath(c.segs); aerr != nil {
		c.fail(aerr)
		return
	}
	e.mu.Lock()
	n := e.space(c.space).get(c.segs)
	if n == nil || n.dir {
		e.mu.Unlock()
		c.fail(errf(404, "FileNotFound", "the file does not exist"))
		return
	}
	fi := fileInfoOf(c.segs, n)
	out := infoJSON{fileMetaJSON: fi.fileMetaJSON}
	if redirect || !flag(q, "pre_check") {
		out.CosURL = e.downloadURLLocked(n, fi.Name, disposition, limit, ttl)
	}
	if redirect {
		setNodeHeaders(c.w.Header(), n)
		c.w.Header().Set("Location", out.CosURL)
	}
	e.mu.Unlock()
	if redirect {
		c.reply(http.StatusFound, nil)
		return
	}
	c.reply(200, out)
}

// downloadURLLocked signs a GET of the file's COS object, valid for ttl from now (or until
// ExpireSignatures), as a presigned COS URL: the signature fields and x-cos-security-token in the query.
// The response-content-disposition and x-cos-traffic-limit parameters it adds are signed.
func (e *Emulator) downloadURLLocked(n *node, name, disposition string, trafficLimit int64, ttl time.Duration) string {
	now := e.now()
	e.pruneLocked(now)
	start := now.Unix()
	end := start + max(int64((ttl+time.Second-1)/time.Second), 1)
	is := &issue{file: n.file, secret: []byte(randHex(20)), token: randHex(40), gen: e.gen, end: time.Unix(end, 0)}
	ak := "AKID" + randHex(16)
	e.issues[ak] = is

	params := map[string]string{}
	if disposition == "attachment" {
		// Guess: the RFC 5987 form, which carries any file name.
		params["response-content-disposition"] = "attachment; filename*=UTF-8''" + cosEscape(name)
	}
	if trafficLimit > 0 {
		params["x-cos-traffic-limit"] = strconv.FormatInt(trafficLimit*8, 10) // B/s to bit/s, as for uploads
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	paramList := strings.Join(keys, ";")
	keyTime := strconv.FormatInt(start, 10) + ";" + strconv.FormatInt(end, 10)
	path := "/" + n.file.key
	sig := cosSignature(is.secret, keyTime, keyTime, "get", path, signedList(paramList, func(k string) string { return params[k] }), "")

	scheme := "http"
	if e.cfg.TLS {
		scheme = "https"
	}
	var b strings.Builder
	b.WriteString(scheme + "://" + e.cosDomain + path)
	b.WriteString("?q-sign-algorithm=sha1&q-ak=" + ak + "&q-sign-time=" + cosEscape(keyTime) + "&q-key-time=" +
		cosEscape(keyTime) + "&q-header-list=&q-url-param-list=" + cosEscape(paramList) + "&q-signature=" + sig +
		"&x-cos-security-token=" + is.token)
	for _, k := range keys {
		b.WriteString("&" + k + "=" + cosEscape(params[k]))
	}
	return b.String()
}

// pruneLocked drops download credentials that expired or whose file is gone; it runs when the number of
// credentials has doubled since the last prune, so handing out URLs stays amortised O(1).
func (e *Emulator) pruneLocked(now time.Time) {
	if len(e.issues) < e.pruneAt {
		return
	}
	for ak, is := range e.issues {
		if is.file != nil && (!now.Before(is.end) || e.files[is.file.key] == nil) {
			delete(e.issues, ak)
		}
	}
	e.pruneAt = 2*len(e.issues) + 256
}

// ---- file info ----

type fileInfoJSON struct {
	Path          []string `json:"path"`
	Name          string   `json:"name"`
	IsOverwritten bool     `json:"isOverwritten,omitempty"`
	fileMetaJSON
}

// fileMetaJSON is what confirm's file info and the ?info answer share.
type fileMetaJSON struct {
	Type             string            `json:"type"`
	CreationTime     string            `json:"creationTime"`
	ModificationTime string            `json:"modificationTime"`
	ContentType      string            `json:"contentType"`
	Size             string            `json:"size"`
	ETag             string            `json:"eTag"`
	CRC64            string            `json:"crc64"`
	MetaData         map[string]string `json:"metaData,omitempty"`
	Labels           []string          `json:"labels,omitempty"`
	Category         string            `json:"category,omitempty"`
}

func fileInfoOf(segs []string, n *node) fileInfoJSON {
	f := n.file
	return fileInfoJSON{Path: segs, Name: segs[len(segs)-1], fileMetaJSON: fileMetaJSON{
		Type:             "file", // guess: the real service reports a media kind (video, image, …)
		CreationTime:     timeMillis(n.created),
		ModificationTime: timeMillis(n.modified),
		ContentType:      f.contentType,
		Size:             strconv.FormatInt(f.size, 10),
		ETag:             f.etag,
		CRC64:            strconv.FormatUint(f.crc, 10),
		MetaData:         f.meta,
		Labels:           f.labels,
		Category:         f.category,
	}}
}

// ---- directories and HEAD ----

func (c *apiCall) mkdir() {
	e := c.e
	if _, aerr := c.auth(dirGrants); aerr != nil {
		c.fail(aerr)
		return
	}
	// The same PUT moves ({"from"}) or copies ({"copyFrom"}) a directory on the real service; those are not
	// emulated, and creating an empty directory instead would silently do the wrong thing.
	var body struct {
		From     json.RawMessage `json:"from"`
		CopyFrom json.RawMessage `json:"copyFrom"`
	}
	if len(bytes.TrimSpace(c.body)) > 0 && json.Unmarshal(c.body, &body) == nil && (len(body.From) > 0 || len(body.CopyFrom) > 0) {
		c.fail(errf(400, "ParamInvalid", "move and copy bodies are not supported by the emulator"))
		return
	}
	strategy := c.q.Get("conflict_resolution_strategy")
	switch strategy {
	case "":
		strategy = "ask"
	case "ask", "rename":
	default:
		c.fail(errf(400, "InvalidConflictResolutionStrategy", "invalid conflict_resolution_strategy %q", strategy))
		return
	}
	if aerr := checkPath(c.segs); aerr != nil {
		c.fail(aerr)
		return
	}
	e.mu.Lock()
	final, aerr := e.mkdirLocked(c.space, c.segs, strategy)
	e.mu.Unlock()
	if aerr != nil {
		c.fail(aerr)
		return
	}
	if strategy == "rename" { // the doc: a 201 body only with rename (or with_inode)
		c.reply(201, map[string][]string{"path": final})
		return
	}
	c.reply(201, nil)
}

func (c *apiCall) head() {
	e := c.e
	if _, aerr := c.auth(nil); aerr != nil {
		c.fail(aerr)
		return
	}
	e.mu.Lock()
	var n *node
	if len(c.segs) > 0 {
		n = e.space(c.space).get(c.segs)
	}
	if n == nil {
		e.mu.Unlock()
		c.fail(errf(404, "FileNotFound", "the file does not exist"))
		return
	}
	setNodeHeaders(c.w.Header(), n)
	e.mu.Unlock()
	c.reply(200, nil)
}
