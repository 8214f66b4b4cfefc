package emulator

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// apiError is an SMH JSON error answer.
type apiError struct {
	status     int
	code       string
	msg        string
	retryAfter time.Duration
}

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// Permission sets (smh-api.md §2.1, §2.4).
var (
	uploadGrants  = []string{"admin", "space_admin", "upload_file", "upload_file_force", "begin_upload", "begin_upload_force"}
	confirmGrants = []string{"admin", "space_admin", "upload_file", "upload_file_force", "confirm_upload"}
	// Lenient: the directory call documents create_directory; any upload grant is accepted too, so a client
	// holding an upload token can create the parent folders it uploads into.
	dirGrants = append([]string{"create_directory"}, uploadGrants...)
	// The library has no recycle bin, so every delete is permanent and either grant allows it (guess:
	// the *_permanent grants are a superset of the plain ones).
	deleteFileGrants = []string{"admin", "space_admin", "delete_file", "delete_file_permanent"}
	deleteDirGrants  = []string{"admin", "space_admin", "delete_directory", "delete_directory_permanent"}
	// Reads (info, download, listing, HEAD) need a valid token and no grant: an empty grant is read-only.
)

type token struct {
	value   string
	userID  string
	grants  map[string]bool
	spaces  map[string]bool // nil: every space
	period  time.Duration
	expires time.Time
}

type taskState int

const (
	taskOpen taskState = iota
	taskConfirmed
)

// task is one upload task (a confirm key).
type task struct {
	confirmKey    string
	uploadID      string // multipart only
	storeID       string // directory name of its parts in Dir mode
	objectKey     string // COS key, without the leading "/"
	securityToken string
	space         string
	segs          []string // target path as begun
	final         []string // final path after confirm
	multipart     bool
	strategy      string
	trafficLimit  int64 // B/s; 0 none
	userID        string
	created       time.Time
	state         taskState
	parts         map[int]*part
	object        *part // simple upload
	meta          map[string]string
	labels        []string
	category      string
	aks           []string // issued access key ids, pruned with the task
	confirming    chan struct{}
}

type part struct {
	n        int
	size     int64
	md5      [16]byte
	crc      uint64
	modified time.Time
	blob     blob
}

// issue is one set of COS credentials: for part uploads (task, handed out by begin, renew or status) or
// for downloading one file (file, handed out by file info and the download redirect).
type issue struct {
	task   *task
	file   *fileRec
	secret []byte
	token  string // the x-cos-security-token that must come with the signature
	gen    int64
	end    time.Time // end of the signature window (used to prune download credentials)
}

// apiCall is one request on the API host.
type apiCall struct {
	e     *Emulator
	w     http.ResponseWriter
	r     *http.Request
	q     url.Values
	rid   string
	lib   string
	space string
	// inSpace marks file and directory routes, which name a space.
	inSpace bool
	segs    []string // path elements after the space (a file path, or one confirm key)
	body    []byte
}

const maxAPIBody = 1 << 20

func (e *Emulator) serveAPI(w http.ResponseWriter, r *http.Request) {
	c := &apiCall{e: e, w: w, r: r, q: r.URL.Query(), rid: randHex(12)}
	w.Header().Set("x-smh-request-id", c.rid)
	e.setCORS(w, r, false)
	if r.Method == http.MethodOptions {
		e.count("api.preflight")
		e.preflight(w, r)
		return
	}
	if !e.delay(r) {
		abort()
	}
	op, handler, rerr := c.route()
	if op != "" {
		e.count(op)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBody+1))
	if err != nil {
		abort() // the client is gone
	}
	if len(body) > maxAPIBody {
		c.fail(errf(413, "RequestEntityTooLarge", "the request body is too large"))
		return
	}
	c.body = body
	if op != "" {
		if f := e.takeAPIFault(op); f != nil {
			c.fail(&apiError{status: f.status, code: f.code, msg: "injected fault", retryAfter: f.retryAfter})
			return
		}
	}
	if rerr != nil {
		c.fail(rerr)
		return
	}
	handler(c)
}

// flag reports a valueless query flag; it is accepted bare (?multipart) or with a value (?multipart=1).
func flag(q url.Values, name string) bool {
	if !q.Has(name) {
		return false
	}
	v := strings.ToLower(q.Get(name))
	return v != "0" && v != "false"
}

// route maps the request to an operation. Paths are split on the escaped form and each element unescaped,
// so a file path may come encoded whole (%2F) or per element, with or without a leading "/".
func (c *apiCall) route() (string, func(*apiCall), *apiError) {
	notFound := errf(404, "RouteNotFound", "no route for %s %s", c.r.Method, c.r.URL.Path)
	rest, ok := strings.CutPrefix(c.r.URL.EscapedPath(), "/api/v1/")
	if !ok {
		return "", nil, notFound
	}
	raw := strings.Split(rest, "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			return "", nil, errf(400, "BadRequest", "bad path encoding")
		}
		segs[i] = u
	}
	m := c.r.Method
	switch segs[0] {
	case "token":
		switch {
		case len(segs) == 1 && (m == http.MethodGet || m == http.MethodPost):
			return "token.create", (*apiCall).tokenCreate, nil
		case len(segs) == 3 && m == http.MethodPost:
			c.lib, c.segs = segs[1], segs[2:]
			return "token.renew", (*apiCall).tokenRenew, nil
		case len(segs) == 3 && m == http.MethodDelete:
			c.lib, c.segs = segs[1], segs[2:]
			return "token.delete", (*apiCall).tokenDelete, nil
		case len(segs) == 2 && m == http.MethodDelete:
			c.lib = segs[1]
			return "token.delete.user", (*apiCall).tokenDeleteUser, nil
		}
		return "", nil, notFound
	case "file", "directory":
		if len(segs) < 3 {
			return "", nil, notFound
		}
		c.lib, c.space, c.segs = segs[1], segs[2], splitPath(segs[3:])
		c.inSpace = true
	default:
		return "", nil, notFound
	}
	if segs[0] == "directory" {
		switch {
		case m == http.MethodPut:
			return "directory.create", (*apiCall).mkdir, nil
		case m == http.MethodGet && flag(c.q, "info"):
			return "directory.info", (*apiCall).dirInfo, nil
		case m == http.MethodGet:
			return "directory.list", (*apiCall).list, nil
		case m == http.MethodHead:
			return "directory.head", (*apiCall).dirHead, nil
		case m == http.MethodDelete:
			return "directory.delete", (*apiCall).rmdir, nil
		}
		return "", nil, notFound
	}
	switch {
	case m == http.MethodPost && flag(c.q, "renew"):
		return "renew", (*apiCall).renew, nil
	case m == http.MethodPost && flag(c.q, "confirm"):
		return "confirm", (*apiCall).confirm, nil
	case m == http.MethodPost && flag(c.q, "multipart"):
		return "begin.multipart", func(c *apiCall) { c.begin(true) }, nil
	case m == http.MethodPut:
		return "begin.simple", func(c *apiCall) { c.begin(false) }, nil
	case m == http.MethodGet && flag(c.q, "upload"):
		return "status", (*apiCall).status, nil
	case m == http.MethodGet && flag(c.q, "info"):
		return "file.info", func(c *apiCall) { c.fileInfo(false) }, nil
	case m == http.MethodGet:
		return "file.download", func(c *apiCall) { c.fileInfo(true) }, nil
	case m == http.MethodDelete && flag(c.q, "upload"):
		return "cancel", (*apiCall).cancel, nil
	case m == http.MethodDelete:
		return "file.delete", (*apiCall).deleteFile, nil
	case m == http.MethodHead:
		return "file.head", (*apiCall).head, nil
	}
	// Not emulated: form upload (POST without a flag), previews, labels, history.
	return "", nil, notFound
}

// ---- answers ----

func (c *apiCall) reply(status int, v any) {
	h := c.w.Header()
	var b []byte
	if v != nil {
		var err error
		if b, err = json.Marshal(v); err != nil {
			panic(err)
		}
		h.Set("Content-Type", "application/json")
	}
	if status != http.StatusNoContent {
		h.Set("Content-Length", strconv.Itoa(len(b)))
	}
	c.e.stamp(c.w)
	c.w.WriteHeader(status)
	c.w.Write(b)
}

func (c *apiCall) fail(err *apiError) {
	if err.retryAfter > 0 {
		c.w.Header().Set("Retry-After", retryAfterSeconds(err.retryAfter))
	}
	c.reply(err.status, map[string]string{"code": err.code, "message": err.msg, "requestId": c.rid})
}

// abort ends a request without an answer (net/http would otherwise send an empty 200) and drops the
// connection; used when the client is gone or the server closes.
func abort() { panic(http.ErrAbortHandler) }

func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

// stamp sets the Date header from the emulator's clock (net/http keeps an explicit Date).
func (e *Emulator) stamp(w http.ResponseWriter) {
	w.Header().Set("Date", e.now().UTC().Format(http.TimeFormat))
}

// ---- authentication ----

// auth checks the access_token query parameter against the library and space of the call, slides the
// token's expiry and checks that it holds one of grants (none: any valid token).
func (c *apiCall) auth(grants []string) (*token, *apiError) {
	e := c.e
	value := c.q.Get("access_token")
	if value == "" {
		return nil, errf(400, "EmptyAccessToken", "access_token is missing")
	}
	// The emulator hosts one library, so another id is a library that does not exist: 404 LibraryNotFound
	// rather than 403 AccessTokenNotMatchLibrary (which would also leak that the token is valid elsewhere).
	if c.lib != e.cfg.LibraryID {
		return nil, errf(404, "LibraryNotFound", "library %q does not exist", c.lib)
	}
	if c.inSpace && c.space == "" {
		return nil, errf(400, "EmptySpaceId", "the space id is empty")
	}
	if c.inSpace && checkName(c.space) != nil {
		return nil, errf(400, "SpaceIdInvalid", "invalid space id")
	}
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tokens[value]
	if t == nil || !now.Before(t.expires) {
		return nil, errf(403, "InvalidAccessToken", "the access token is invalid or expired")
	}
	if c.inSpace && t.spaces != nil && !t.spaces[c.space] {
		return nil, errf(403, "AccessTokenNotMatchSpace", "the access token is not valid for this space")
	}
	t.expires = now.Add(t.period)
	if len(grants) > 0 && !slices.ContainsFunc(grants, func(g string) bool { return t.grants[g] }) {
		return nil, errf(403, "NoPermission", "the access token lacks permission for this operation")
	}
	cp := *t
	return &cp, nil
}

// ---- tokens ----

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// tokenPeriod applies the documented rules: default when missing or invalid, raised to the floor. The
// default and the floor come from Config.TokenPeriod when it is below 1200 s (test knob).
func (e *Emulator) tokenPeriod(s string) time.Duration {
	def := e.cfg.TokenPeriod
	floor := min(MinTokenPeriod, def)
	secs, err := strconv.ParseInt(s, 10, 64)
	if err != nil || secs <= 0 || secs > 1<<31 {
		return def
	}
	return max(time.Duration(secs)*time.Second, floor)
}

type tokenJSON struct {
	AccessToken string `json:"accessToken"`
	ExpiresIn   int64  `json:"expiresIn"`
}

func expiresIn(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) }

func (c *apiCall) tokenCreate() {
	e := c.e
	lib, secret := c.q.Get("library_id"), c.q.Get("library_secret")
	switch {
	case lib == "" && secret == "":
		c.fail(errf(400, "EmptyLibraryIdOrSecret", "library_id and library_secret are missing"))
		return
	case lib == "":
		c.fail(errf(400, "EmptyLibraryId", "library_id is missing"))
		return
	case secret == "":
		c.fail(errf(400, "EmptyLibrarySecret", "library_secret is missing"))
		return
	case lib != e.cfg.LibraryID || secret != e.cfg.LibrarySecret:
		c.fail(errf(404, "WrongLibraryIdOrSecret", "wrong library id or secret"))
		return
	}
	t := &token{
		value:  "acctk" + randHex(24),
		userID: c.q.Get("user_id"),
		grants: map[string]bool{},
		period: e.tokenPeriod(c.q.Get("period")),
	}
	for _, g := range splitList(c.q.Get("grant")) { // unknown grants are kept and never match
		t.grants[g] = true
	}
	if sps := splitList(c.q.Get("space_id")); len(sps) > 0 {
		t.spaces = map[string]bool{}
		for _, s := range sps {
			t.spaces[s] = true
		}
	}
	t.expires = e.now().Add(t.period)
	e.mu.Lock()
	e.tokens[t.value] = t
	e.mu.Unlock()
	c.reply(200, tokenJSON{AccessToken: t.value, ExpiresIn: expiresIn(t.period)})
}

// tokenRenew extends a token by its original period; it needs no secret, only the token (in the path).
func (c *apiCall) tokenRenew() {
	e := c.e
	if c.lib != e.cfg.LibraryID {
		c.fail(errf(404, "LibraryNotFound", "library %q does not exist", c.lib))
		return
	}
	value := c.segs[0]
	now := e.now()
	e.mu.Lock()
	t := e.tokens[value]
	if t == nil || !now.Before(t.expires) {
		e.mu.Unlock()
		c.fail(errf(403, "InvalidAccessToken", "the access token is invalid or expired"))
		return
	}
	t.expires = now.Add(t.period)
	out := tokenJSON{AccessToken: t.value, ExpiresIn: expiresIn(t.period)}
	e.mu.Unlock()
	c.reply(200, out)
}

// tokenDelete deletes one token. Guess: an unknown or expired token answers 403 InvalidAccessToken rather
// than an idempotent 204.
func (c *apiCall) tokenDelete() {
	e := c.e
	if c.lib != e.cfg.LibraryID {
		c.fail(errf(404, "LibraryNotFound", "library %q does not exist", c.lib))
		return
	}
	value := c.segs[0]
	now := e.now()
	e.mu.Lock()
	t := e.tokens[value]
	ok := t != nil && now.Before(t.expires)
	delete(e.tokens, value)
	e.mu.Unlock()
	if !ok {
		c.fail(errf(403, "InvalidAccessToken", "the access token is invalid or expired"))
		return
	}
	c.reply(204, nil)
}

// tokenDeleteUser deletes every token of the listed user ids (library_secret required).
func (c *apiCall) tokenDeleteUser() {
	e := c.e
	secret := c.q.Get("library_secret")
	if secret == "" {
		c.fail(errf(400, "EmptyLibrarySecret", "library_secret is missing"))
		return
	}
	if c.lib != e.cfg.LibraryID || secret != e.cfg.LibrarySecret {
		c.fail(errf(404, "WrongLibraryIdOrSecret", "wrong library id or secret"))
		return
	}
	users := splitList(c.q.Get("user_id"))
	e.mu.Lock()
	for k, t := range e.tokens {
		if slices.Contains(users, t.userID) {
			delete(e.tokens, k)
		}
	}
	e.mu.Unlock()
	c.reply(204, nil)
}

// ---- upload info ----

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
	now := e.now()
	ttl := max(int64((e.cfg.SignatureTTL+time.Second-1)/time.Second), 1)
	start := now.Unix()
	end := start + ttl
	is := &issue{task: t, secret: []byte(randHex(20)), token: t.securityToken, gen: e.gen, end: time.Unix(end, 0)}
	ak := "AKID" + randHex(16)
	e.issues[ak] = is
	t.aks = append(t.aks, ak)

	keyTime := fmt.Sprintf("%d;%d", start, end)
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

func (c *apiCall) begin(multipart bool) {
	e := c.e
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

// ---- renew, status, cancel ----

// taskLocked finds the open or confirmed task of the confirm key in the call's path.
func (c *apiCall) taskLocked() *task {
	if len(c.segs) != 1 {
		return nil
	}
	t := c.e.tasks[c.segs[0]]
	if t == nil || t.space != c.space {
		return nil
	}
	return t
}

var errUploadNotFound = errf(404, "UploadNotFound", "the upload task does not exist")

func (c *apiCall) renew() {
	e := c.e
	if _, aerr := c.auth(uploadGrants); aerr != nil {
		c.fail(aerr)
		return
	}
	limit, aerr := parseTrafficLimit(c.q)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	e.mu.Lock()
	t := c.taskLocked()
	switch {
	case t == nil || t.state != taskOpen:
		e.mu.Unlock()
		c.fail(errUploadNotFound)
		return
	case !t.multipart:
		// Simple tasks cannot be renewed (smh-api.md §2.6: "call begin again").
		e.mu.Unlock()
		c.fail(errf(400, "ParamInvalid", "only multipart upload tasks can be renewed"))
		return
	}
	if limit > 0 { // guess: without traffic_limit the renewed headers keep the task's limit
		t.trafficLimit = limit
	}
	info := e.issueLocked(t)
	e.mu.Unlock()
	c.reply(200, info)
}

type partJSON struct {
	PartNumber   int    `json:"PartNumber"`
	LastModified string `json:"LastModified"`
	ETag         string `json:"ETag"`
	Size         int64  `json:"Size"`
}

type statusJSON struct {
	Confirmed                  bool                `json:"confirmed"`
	Path                       []string            `json:"path"`
	Type                       string              `json:"type"`
	CreationTime               string              `json:"creationTime"`
	ConflictResolutionStrategy string              `json:"conflictResolutionStrategy"`
	Force                      bool                `json:"force"`
	AvailableDomainNum         int                 `json:"availableDomainNum"`
	UploadID                   string              `json:"uploadId,omitempty"`
	Parts                      *[]partJSON         `json:"parts,omitempty"`
	UploadPartInfo             *uploadPartInfoJSON `json:"uploadPartInfo,omitempty"`
}

func quotedMD5(sum [16]byte) string { return `"` + hex.EncodeToString(sum[:]) + `"` }

// status answers the task's state; for an open multipart task it lists the stored parts and hands out a
// fresh signature. A confirmed task answers confirmed:true with its final path.
func (c *apiCall) status() {
	e := c.e
	if _, aerr := c.auth(uploadGrants); aerr != nil {
		c.fail(aerr)
		return
	}
	e.mu.Lock()
	t := c.taskLocked()
	if t == nil {
		e.mu.Unlock()
		c.fail(errUploadNotFound)
		return
	}
	out := statusJSON{
		Confirmed:                  t.state == taskConfirmed,
		Path:                       t.segs,
		Type:                       "file",
		CreationTime:               timeMillis(t.created),
		ConflictResolutionStrategy: t.strategy,
		Force:                      false, // guess: force relates to *_force grants in ACL mode, not emulated
		AvailableDomainNum:         1,
	}
	if t.state == taskConfirmed {
		out.Path = t.final
	} else if !e.space(t.space).isDir(t.segs[:len(t.segs)-1]) {
		out.Path = nil // the parent directory is gone
	}
	if t.multipart && t.state == taskOpen {
		out.UploadID = t.uploadID
		parts := make([]partJSON, 0, len(t.parts))
		for _, p := range t.parts {
			parts = append(parts, partJSON{PartNumber: p.n, LastModified: timeMillis(p.modified), ETag: quotedMD5(p.md5), Size: p.size})
		}
		slices.SortFunc(parts, func(a, b partJSON) int { return a.PartNumber - b.PartNumber })
		out.Parts = &parts
		info := e.issueLocked(t)
		out.UploadPartInfo = &uploadPartInfoJSON{Domain: info.Domain, Path: info.Path, UploadID: info.UploadID, Headers: info.Headers, Expiration: info.Expiration}
	}
	e.mu.Unlock()
	c.reply(200, out)
}

// dropLocked forgets an open task's COS side: its upload id, object key, credentials and parts.
func (e *Emulator) dropLocked(t *task) {
	delete(e.uploads, t.uploadID)
	delete(e.objects, t.objectKey)
	for _, ak := range t.aks {
		delete(e.issues, ak)
	}
	t.aks = nil
	t.parts = map[int]*part{}
	t.object = nil
}

// cancel deletes an open task and its parts. Guess: a confirmed task cannot be cancelled and answers 404
// UploadNotFound like an unknown one.
func (c *apiCall) cancel() {
	e := c.e
	if _, aerr := c.auth(uploadGrants); aerr != nil {
		c.fail(aerr)
		return
	}
	e.mu.Lock()
	t := c.taskLocked()
	if t == nil || t.state != taskOpen {
		e.mu.Unlock()
		c.fail(errUploadNotFound)
		return
	}
	e.dropLocked(t)
	delete(e.tasks, t.confirmKey)
	e.mu.Unlock()
	e.removeUploadDir(t.storeID)
	c.reply(204, nil)
}

// ---- confirm ----

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
