package emulator

import (
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
	form          bool // a simple upload whose object comes by a COS form POST
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
		return "begin.multipart", func(c *apiCall) { c.begin(beginMultipart) }, nil
	case m == http.MethodPut:
		return "begin.simple", func(c *apiCall) { c.begin(beginSimple) }, nil
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
	case m == http.MethodPost: // no flag: a form upload (smh-api.md §2.6)
		return "begin.form", func(c *apiCall) { c.begin(beginForm) }, nil
	}
	// Not emulated: previews, labels, history.
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
