package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults and limits of the emulated service.
const (
	DefaultLibraryID     = "smhlibrary"
	DefaultLibrarySecret = "smhsecret"
	DefaultSignatureTTL  = time.Hour
	DefaultTokenPeriod   = 24 * time.Hour
	// MinTokenPeriod is the floor the real service applies to the period query parameter of token creation.
	MinTokenPeriod = 1200 * time.Second

	// MinPartSize is the smallest size of every part but the last at confirm time.
	MinPartSize = 1 << 20
	// MaxPartNumber is the highest part number COS accepts.
	MaxPartNumber = 10000
	// MaxPartSize is the largest part (or simple object) COS accepts.
	MaxPartSize = 5 << 30
	// InstantUploadMinSize is the smallest file that instant upload considers.
	InstantUploadMinSize = 1 << 20
)

// Config configures an Emulator. The zero value is usable.
type Config struct {
	// LibraryID is the one library the emulator hosts. Default "smhlibrary".
	LibraryID string
	// LibrarySecret is needed to create access tokens. Default "smhsecret".
	LibrarySecret string
	// AccessToken, if set, is a token valid from the start with grant "admin" on all spaces. It slides and
	// expires like any other token, with period TokenPeriod.
	AccessToken string
	// Dir keeps everything in memory when empty. Otherwise parts are stored under Dir/uploads/<uploadId>/<n>
	// and confirmed files under Dir/files/<library>/<space>/<path>; files already there are served.
	Dir string
	// SignatureTTL is the lifetime of part-upload signatures (the "expiration" field). Default 1h, which is
	// realistic; short values are a test knob (clients renew ahead of expiry and may loop with tiny TTLs).
	SignatureTTL time.Duration
	// TokenPeriod is the default period of created tokens. Default 24h. Test knob: when set, it is honoured
	// even below the service's 1200 s floor, and the floor for the period query parameter drops to it.
	TokenPeriod time.Duration
	// Now is the clock behind every time decision (plus the skew set by SetSkew). Default time.Now.
	Now func() time.Time
	// COSDomain is the host:port (no scheme) returned as "domain" in upload info. Start fills it with the
	// COS listener's address when empty.
	COSDomain string
}

// PartInfo describes a part PUT for the OnPart hook.
type PartInfo struct {
	UploadID   string
	PartNumber int
	ConfirmKey string // empty when the upload id is unknown
}

// FileInfo describes a confirmed file, for tests.
type FileInfo struct {
	Path             string // "dir/a.bin"
	Name             string
	Size             int64
	CRC64            uint64 // CRC-64/ECMA-182 as COS computes it (Go hash/crc64 ECMA table)
	MD5              string // lowercase hex of the whole file
	ETag             string // as answered by confirm, with quotes
	ContentType      string
	BeginningHash    string // SHA-256 of the first MiB, hex
	FullHash         string // chained SHA-256 over 1 MiB blocks, hex
	CreationTime     time.Time
	ModificationTime time.Time
	Meta             map[string]string
}

// Emulator is the state of one emulated SMH library and its COS bucket.
type Emulator struct {
	cfg Config

	skew    atomic.Int64 // time.Duration
	latency atomic.Int64 // time.Duration
	hideExp atomic.Bool  // SetExposeHeaders(false)

	closed    chan struct{}
	closeOnce sync.Once

	mu         sync.Mutex
	cosDomain  string
	tokens     map[string]*token
	tasks      map[string]*task // by confirm key; confirmed tasks stay (409 UploadComplete)
	uploads    map[string]*task // open multipart tasks by upload id
	objects    map[string]*task // open tasks by COS object key
	issues     map[string]*issue
	gen        int64 // signature generation handed to new issues
	expiredGen int64 // issues with gen < expiredGen are expired
	spaces     map[string]*space
	counts     map[string]int
	apiFaults  map[string][]*fault
	cosFaults  []*fault
	resets     int
	stalls     int
	corrupts   int
	onPart     func(PartInfo)
}

// New returns an Emulator for cfg. With cfg.Dir set it creates the directory, drops stale parts left by an
// earlier run (tasks are not persisted) and loads the confirmed files found there.
func New(cfg Config) (*Emulator, error) {
	if cfg.LibraryID == "" {
		cfg.LibraryID = DefaultLibraryID
	}
	if cfg.LibrarySecret == "" {
		cfg.LibrarySecret = DefaultLibrarySecret
	}
	if cfg.SignatureTTL <= 0 {
		cfg.SignatureTTL = DefaultSignatureTTL
	}
	if cfg.TokenPeriod <= 0 {
		cfg.TokenPeriod = DefaultTokenPeriod
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := checkName(cfg.LibraryID); err != nil {
		return nil, fmt.Errorf("emulator: library id: %w", err)
	}
	e := &Emulator{
		cfg:       cfg,
		closed:    make(chan struct{}),
		cosDomain: cfg.COSDomain,
		tokens:    map[string]*token{},
		tasks:     map[string]*task{},
		uploads:   map[string]*task{},
		objects:   map[string]*task{},
		issues:    map[string]*issue{},
		spaces:    map[string]*space{},
		counts:    map[string]int{},
		apiFaults: map[string][]*fault{},
	}
	if cfg.AccessToken != "" {
		e.tokens[cfg.AccessToken] = &token{
			value:   cfg.AccessToken,
			grants:  map[string]bool{"admin": true},
			period:  cfg.TokenPeriod,
			expires: e.now().Add(cfg.TokenPeriod),
		}
	}
	if cfg.Dir != "" {
		if err := e.initDir(); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// now is the emulator's clock: Config.Now plus the skew.
func (e *Emulator) now() time.Time {
	return e.cfg.Now().Add(time.Duration(e.skew.Load()))
}

// shutdown releases stalled parts and latency waits; Server.Close calls it.
func (e *Emulator) shutdown() {
	e.closeOnce.Do(func() { close(e.closed) })
}

// SetCOSDomain sets the host:port (no scheme) returned as "domain" from now on.
func (e *Emulator) SetCOSDomain(hostport string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cosDomain = hostport
}

// LibraryID returns the id of the emulated library.
func (e *Emulator) LibraryID() string { return e.cfg.LibraryID }

// LibrarySecret returns the secret that creates tokens.
func (e *Emulator) LibrarySecret() string { return e.cfg.LibrarySecret }

// ---- inspection ----

// Count returns how many requests operation op received since the last ResetCounts, whatever their answer.
// Operations: token.create, token.renew, token.delete, token.delete.user, begin.multipart, begin.simple,
// renew, status, confirm, cancel, directory.create, file.head on the API host; part, object.put on the COS
// host; part.expired counts the 403 "Request has expired" answers to part and object PUTs.
func (e *Emulator) Count(op string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counts[op]
}

// ResetCounts sets every counter to zero.
func (e *Emulator) ResetCounts() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.counts)
}

func (e *Emulator) count(op string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts[op]++
}

// ReadFile returns the bytes of the confirmed file at path ("dir/a.bin") in space. A missing file gives an
// error that wraps fs.ErrNotExist.
func (e *Emulator) ReadFile(space, path string) ([]byte, error) {
	e.mu.Lock()
	n, err := e.lookupLocked(space, path)
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	rc, err := n.file.blob.open()
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// FileInfo describes the confirmed file at path in space.
func (e *Emulator) FileInfo(space, path string) (FileInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, err := e.lookupLocked(space, path)
	if err != nil {
		return FileInfo{}, err
	}
	f := n.file
	segs := splitPath([]string{path})
	return FileInfo{
		Path:             strings.Join(segs, "/"),
		Name:             segs[len(segs)-1],
		Size:             f.size,
		CRC64:            f.crc,
		MD5:              hex.EncodeToString(f.md5[:]),
		ETag:             f.etag,
		ContentType:      f.contentType,
		BeginningHash:    f.beginHash,
		FullHash:         f.fullHash,
		CreationTime:     n.created,
		ModificationTime: n.modified,
		Meta:             cloneMap(f.meta),
	}, nil
}

func (e *Emulator) lookupLocked(spaceID, path string) (*node, error) {
	segs := splitPath([]string{path})
	sp := e.spaces[spaceID]
	if sp == nil || len(segs) == 0 {
		return nil, fmt.Errorf("emulator: %s/%s: %w", spaceID, path, fs.ErrNotExist)
	}
	n := sp.nodes[strings.Join(segs, "/")]
	if n == nil || n.dir {
		return nil, fmt.Errorf("emulator: %s/%s: %w", spaceID, path, fs.ErrNotExist)
	}
	return n, nil
}

// OpenUploads returns the number of upload tasks begun and neither confirmed nor cancelled.
func (e *Emulator) OpenUploads() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, t := range e.tasks {
		if t.state == taskOpen {
			n++
		}
	}
	return n
}

// UploadedParts returns the sorted part numbers stored for the open task with confirmKey: nil when the task
// is unknown, confirmed or cancelled. For a simple task it is [1] once the object was PUT.
func (e *Emulator) UploadedParts(confirmKey string) []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.tasks[confirmKey]
	if t == nil || t.state != taskOpen {
		return nil
	}
	if !t.multipart {
		if t.object != nil {
			return []int{1}
		}
		return []int{}
	}
	out := make([]int, 0, len(t.parts))
	for n := range t.parts {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// CreateDirectory creates the directory path in space and its missing parents. An existing file or
// directory at path is an error; existing parent directories are not.
func (e *Emulator) CreateDirectory(space, path string) error {
	if err := checkName(space); err != nil {
		return fmt.Errorf("emulator: space: %w", err)
	}
	segs := splitPath([]string{path})
	if err := checkPath(segs); err != nil {
		return fmt.Errorf("emulator: %s", err.msg)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.mkdirLocked(space, segs, "ask"); err != nil {
		return fmt.Errorf("emulator: create directory %s/%s: %s", space, path, err.code)
	}
	return nil
}

// WriteFile stores data as a confirmed file at path in space, creating missing parent directories and
// replacing an existing file. Tests use it to seed instant-upload candidates and name conflicts.
func (e *Emulator) WriteFile(space, path string, data []byte) error {
	if err := checkName(space); err != nil {
		return fmt.Errorf("emulator: space: %w", err)
	}
	segs := splitPath([]string{path})
	if err := checkPath(segs); err != nil {
		return fmt.Errorf("emulator: %s", err.msg)
	}
	sk, err := e.newSink(e.tmpDir(), int64(len(data)))
	if err != nil {
		return err
	}
	if _, err := sk.Write(data); err != nil {
		sk.abort()
		return err
	}
	st, d, err := sk.finish()
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(segs) > 1 {
		if _, aerr := e.mkdirLocked(space, segs[:len(segs)-1], "parents"); aerr != nil {
			e.discard(st)
			return fmt.Errorf("emulator: write %s/%s: %s", space, path, aerr.code)
		}
	}
	rec := newFileRec(d, `"`+hex.EncodeToString(d.md5[:])+`"`, segs[len(segs)-1], nil)
	if _, aerr := e.placeFileLocked(space, segs, "overwrite", st, rec); aerr != nil {
		e.discard(st)
		return fmt.Errorf("emulator: write %s/%s: %s", space, path, aerr.code)
	}
	return nil
}

// ---- fault knobs ----

type fault struct {
	n          int
	status     int
	code       string
	retryAfter time.Duration
}

// takeFault consumes one use of the first pending fault in list.
func takeFault(list *[]*fault) *fault {
	for len(*list) > 0 {
		f := (*list)[0]
		if f.n <= 0 {
			*list = (*list)[1:]
			continue
		}
		f.n--
		out := *f
		if f.n == 0 {
			*list = (*list)[1:]
		}
		return &out
	}
	return nil
}

// ExpireSignatures makes every part signature issued so far expired from now on: part PUTs carrying one get
// 403 AccessDenied "Request has expired". Signatures issued later (renew, status, begin) are valid.
func (e *Emulator) ExpireSignatures() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.gen++
	e.expiredGen = e.gen
}

// ExpireTokens makes every access token issued so far (including Config.AccessToken) invalid: calls with
// one get 403 InvalidAccessToken, as after expiry.
func (e *Emulator) ExpireTokens() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.tokens)
}

// FailParts makes the next n COS part or object PUTs read and discard their body, then answer status with a
// COS XML error of code (and a Retry-After header in whole seconds when retryAfter > 0). Calls queue up;
// n <= 0 drops the pending ones.
func (e *Emulator) FailParts(n int, status int, code string, retryAfter time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n <= 0 {
		e.cosFaults = nil
		return
	}
	e.cosFaults = append(e.cosFaults, &fault{n: n, status: status, code: code, retryAfter: retryAfter})
}

// FailAPI makes the next n calls of the SMH operation op (a name as in Count) answer status with an SMH JSON
// error of code (and Retry-After when retryAfter > 0), before any other check. Calls queue up per op;
// n <= 0 drops the pending ones of op.
func (e *Emulator) FailAPI(op string, n int, status int, code string, retryAfter time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n <= 0 {
		delete(e.apiFaults, op)
		return
	}
	list := e.apiFaults[op]
	e.apiFaults[op] = append(list, &fault{n: n, status: status, code: code, retryAfter: retryAfter})
}

func (e *Emulator) takeAPIFault(op string) *fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	list := e.apiFaults[op]
	f := takeFault(&list)
	if len(list) == 0 {
		delete(e.apiFaults, op)
	} else {
		e.apiFaults[op] = list
	}
	return f
}

// ResetParts makes the next n COS part or object PUTs read some of the body, then close the connection
// without an answer (the client sees a reset or an unexpected EOF). Nothing is stored.
func (e *Emulator) ResetParts(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resets = max(n, 0)
}

// StallParts makes the next n COS part or object PUTs read a little of the body, then block until the
// request's context ends or the server closes. Nothing is stored.
func (e *Emulator) StallParts(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stalls = max(n, 0)
}

// CorruptParts makes the next n stored parts (or simple objects) get one byte flipped before they are
// stored. The ETag and x-cos-hash-crc64ecma answered describe the stored, corrupted bytes, as real storage
// would, so only a client that checks the CRC against its own notices.
func (e *Emulator) CorruptParts(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.corrupts = max(n, 0)
}

// SetLatency adds d before answering each request on both hosts (0 turns it off).
func (e *Emulator) SetLatency(d time.Duration) { e.latency.Store(int64(max(d, 0))) }

// SetSkew sets the server clock to Now()+d: it shows in the Date header, in expiration, in signature
// windows, in <ServerTime> and in token expiry.
func (e *Emulator) SetSkew(d time.Duration) { e.skew.Store(int64(d)) }

// SetExposeHeaders sets whether the COS host's answers carry Access-Control-Expose-Headers (default true).
// False mimics a misconfigured bucket: a browser cannot read ETag or x-cos-hash-crc64ecma. The API host
// always keeps it.
func (e *Emulator) SetExposeHeaders(expose bool) { e.hideExp.Store(!expose) }

// OnPart sets a hook called when a part PUT arrives, before faults and the signature check. It runs on the
// request's goroutine and may block, e.g. as a barrier. nil removes it.
func (e *Emulator) OnPart(fn func(PartInfo)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onPart = fn
}

// delay waits for the configured latency; false means the request or the server ended meanwhile.
func (e *Emulator) delay(r *http.Request) bool {
	d := time.Duration(e.latency.Load())
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-e.closed:
		return false
	}
}

// ---- helpers ----

func randHex(nbytes int) string {
	b := make([]byte, nbytes)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// timeMillis formats t like the service: RFC 3339 in UTC with milliseconds ("2021-07-24T10:34:32.000Z").
func timeMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// initDir prepares Config.Dir: stale parts and temporary files from an earlier run are removed (tasks are
// only in memory) and confirmed files are indexed.
func (e *Emulator) initDir() error {
	for _, d := range []string{"uploads", "tmp"} {
		p := filepath.Join(e.cfg.Dir, d)
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("emulator: %w", err)
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("emulator: %w", err)
		}
	}
	root := filepath.Join(e.cfg.Dir, "files", e.cfg.LibraryID)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	spaces, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	for _, sd := range spaces {
		if !sd.IsDir() || checkName(sd.Name()) != nil {
			continue
		}
		if err := e.loadSpace(sd.Name(), filepath.Join(root, sd.Name())); err != nil {
			return err
		}
	}
	return nil
}

func (e *Emulator) loadSpace(spaceID, dir string) error {
	sp := e.space(spaceID)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		key := filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		mod := info.ModTime()
		if d.IsDir() {
			sp.nodes[key] = &node{dir: true, created: mod, modified: mod}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		h := newHasher()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
		dg := h.sum()
		rec := newFileRec(dg, `"`+hex.EncodeToString(dg.md5[:])+`"`, d.Name(), nil)
		rec.blob = blob{path: p}
		sp.nodes[key] = &node{created: mod, modified: mod, file: rec}
		return nil
	})
}

var errBadName = errors.New("invalid name")

// checkName accepts an id usable as one path element on disk.
func checkName(s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") {
		return fmt.Errorf("%w %q", errBadName, s)
	}
	return nil
}
