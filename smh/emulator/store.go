package emulator

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc64"
	"io"
	"mime"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

var ecmaTable = crc64.MakeTable(crc64.ECMA)

// hashBlock is the block size of the chained fullHash and the span of beginningHash (smh-api.md §3).
const hashBlock = 1 << 20

// digest is everything the emulator derives from a blob's bytes in one pass.
type digest struct {
	size      int64
	md5       [16]byte
	crc       uint64
	beginHash string // hex SHA-256 of the first min(1 MiB, size) bytes
	fullHash  string // hex of the chained SHA-256 over 1 MiB blocks
}

// hasher computes a digest while bytes stream through it.
type hasher struct {
	md5     hash.Hash
	crc     uint64
	n       int64
	block   hash.Hash // current block, seeded with prev; nil between blocks
	inBlock int
	prev    []byte // hash of the last finished block
	first   []byte // hash of the first block
	// lite skips the chained SHA-256 (beginHash and fullHash stay empty): parts and objects that are
	// discarded (Config.Discard) only need the CRC-64 and MD5 that COS answers with.
	lite bool
}

func newHasher() *hasher { return &hasher{md5: md5.New()} }

func (h *hasher) Write(p []byte) (int, error) {
	h.md5.Write(p)
	h.crc = crc64.Update(h.crc, ecmaTable, p)
	h.n += int64(len(p))
	n := len(p)
	if h.lite {
		return n, nil
	}
	for len(p) > 0 {
		if h.block == nil {
			h.block = sha256.New()
			h.block.Write(h.prev) // Hi = SHA-256(Hi-1 ‖ block i); nothing for the first block
			h.inBlock = 0
		}
		k := min(len(p), hashBlock-h.inBlock)
		h.block.Write(p[:k])
		h.inBlock += k
		p = p[k:]
		if h.inBlock == hashBlock {
			h.endBlock()
		}
	}
	return n, nil
}

func (h *hasher) endBlock() {
	h.prev = h.block.Sum(nil)
	if h.first == nil {
		h.first = h.prev
	}
	h.block = nil
}

// sum finishes the digest; the hasher must not be written afterwards.
func (h *hasher) sum() digest {
	if h.lite {
		d := digest{size: h.n, crc: h.crc}
		copy(d.md5[:], h.md5.Sum(nil))
		return d
	}
	if h.block != nil {
		h.endBlock()
	}
	if h.prev == nil { // empty input
		s := sha256.Sum256(nil)
		h.prev, h.first = s[:], s[:]
	}
	d := digest{size: h.n, crc: h.crc, beginHash: hex.EncodeToString(h.first), fullHash: hex.EncodeToString(h.prev)}
	copy(d.md5[:], h.md5.Sum(nil))
	return d
}

// blob is stored bytes: in memory (data) or a file (path). In-memory blobs are never mutated, so a reader
// opened under the lock stays valid after the lock is released; so does an open file after a rename.
type blob struct {
	data []byte
	path string
}

func (b blob) open() (io.ReadCloser, error) {
	if b.path != "" {
		return os.Open(b.path)
	}
	return io.NopCloser(bytes.NewReader(b.data)), nil
}

// staged is bytes written but not yet at their final place.
type staged struct {
	mem []byte
	tmp string
}

// sink receives bytes into memory or a temporary file, hashing them on the way.
type sink struct {
	f       *os.File
	buf     *bytes.Buffer
	h       *hasher
	corrupt bool // flip the first byte (CorruptParts)
	discard bool // hash only, keep nothing (Config.Discard)
}

// newSink starts a sink; dir is where the temporary file goes in Dir mode and is ignored in memory.
// sizeHint preallocates memory: a client's Content-Length is trusted up to 64 MiB, a size the emulator
// computed itself (trusted) is passed negated, so assembling a large file does not regrow its buffer.
func (e *Emulator) newSink(dir string, sizeHint int64) (*sink, error) {
	s := &sink{h: newHasher()}
	if e.cfg.Dir == "" {
		capacity := min(max(sizeHint, 0), 64<<20)
		if sizeHint < 0 {
			capacity = -sizeHint
		}
		s.buf = bytes.NewBuffer(make([]byte, 0, capacity))
		return s, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return nil, err
	}
	s.f = f
	return s, nil
}

func (s *sink) Write(p []byte) (int, error) {
	n := len(p)
	if s.corrupt && len(p) > 0 {
		p = bytes.Clone(p)
		p[0] ^= 0xff
		s.corrupt = false
	}
	s.h.Write(p)
	if s.discard {
		return n, nil
	}
	if s.f != nil {
		if _, err := s.f.Write(p); err != nil {
			return 0, err
		}
		return n, nil
	}
	s.buf.Write(p)
	return n, nil
}

func (s *sink) finish() (staged, digest, error) {
	d := s.h.sum()
	if s.discard {
		return staged{}, d, nil
	}
	if s.f == nil {
		return staged{mem: s.buf.Bytes()}, d, nil
	}
	name := s.f.Name()
	if err := s.f.Close(); err != nil {
		os.Remove(name)
		return staged{}, digest{}, err
	}
	return staged{tmp: name}, d, nil
}

func (s *sink) abort() {
	if s.f != nil {
		name := s.f.Name()
		s.f.Close()
		os.Remove(name)
	}
}

// commit moves st to dest (ignored in memory) and returns the blob.
func (e *Emulator) commit(st staged, dest string) (blob, error) {
	if st.tmp == "" {
		return blob{data: st.mem}, nil
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return blob{}, err
	}
	if err := os.Rename(st.tmp, dest); err != nil {
		return blob{}, err
	}
	return blob{path: dest}, nil
}

func (e *Emulator) discard(st staged) {
	if st.tmp != "" {
		os.Remove(st.tmp)
	}
}

func (e *Emulator) tmpDir() string {
	if e.cfg.Dir == "" {
		return ""
	}
	return filepath.Join(e.cfg.Dir, "tmp")
}

func (e *Emulator) uploadDir(storeID string) string {
	if e.cfg.Dir == "" {
		return ""
	}
	return filepath.Join(e.cfg.Dir, "uploads", storeID)
}

func (e *Emulator) partPath(storeID string, n int) string {
	if e.cfg.Dir == "" {
		return ""
	}
	return filepath.Join(e.cfg.Dir, "uploads", storeID, strconv.Itoa(n))
}

func (e *Emulator) objectPath(storeID string) string {
	if e.cfg.Dir == "" {
		return ""
	}
	return filepath.Join(e.cfg.Dir, "uploads", storeID, "object")
}

func (e *Emulator) filePath(spaceID string, segs []string) string {
	if e.cfg.Dir == "" {
		return ""
	}
	return filepath.Join(append([]string{e.cfg.Dir, "files", e.cfg.LibraryID, spaceID}, segs...)...)
}

// removeUploadDir deletes the stored parts of a task; called without the lock.
func (e *Emulator) removeUploadDir(storeID string) {
	if e.cfg.Dir != "" {
		os.RemoveAll(e.uploadDir(storeID))
	}
}

// ---- the file tree of a space ----

type space struct {
	nodes map[string]*node // key "dir/a.bin"; the root "" is implicit
}

type node struct {
	dir      bool
	created  time.Time
	modified time.Time
	file     *fileRec // nil for directories
}

type fileRec struct {
	digest
	// discarded: the bytes were never kept (Config.Discard); size, CRC-64 and ETag are known, the content,
	// its MD5 and the instant-upload hashes are not.
	discarded   bool
	key         string // COS object key the download URLs name, without the leading "/"
	etag        string
	contentType string
	blob        blob
	meta        map[string]string
	labels      []string
	category    string
}

func newFileRec(d digest, etag, name string, meta map[string]string) *fileRec {
	return &fileRec{digest: d, etag: etag, contentType: contentTypeOf(name), meta: meta}
}

// contentTypeOf guesses the MIME type from the extension, as SMH reports a contentType per file.
func contentTypeOf(name string) string {
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// space returns the space, creating it: the emulator accepts any space id (spaces are not managed here).
func (e *Emulator) space(id string) *space {
	sp := e.spaces[id]
	if sp == nil {
		sp = &space{nodes: map[string]*node{}}
		e.spaces[id] = sp
	}
	return sp
}

func (sp *space) get(segs []string) *node { return sp.nodes[strings.Join(segs, "/")] }

// isDir reports whether segs names a directory (the root always exists).
func (sp *space) isDir(segs []string) bool {
	if len(segs) == 0 {
		return true
	}
	n := sp.get(segs)
	return n != nil && n.dir
}

// splitPath joins URL path segments (each possibly holding encoded "/") and splits them into clean
// elements, dropping empty ones, so "%2Fdir%2Fa.bin", "/dir/a.bin" and "dir/a.bin" all give [dir a.bin].
func splitPath(parts []string) []string {
	var out []string
	for _, s := range strings.Split(strings.Join(parts, "/"), "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// checkPath validates the elements of a file or directory path.
func checkPath(segs []string) *apiError {
	if len(segs) == 0 {
		return errf(400, "EmptyPath", "the path is empty")
	}
	for _, s := range segs {
		switch {
		case s == "." || s == ".." || strings.ContainsAny(s, "\\\x00"):
			return errf(400, "IllegalFileName", "illegal name %q", s)
		case len(s) > 255:
			return errf(400, "FileNameLengthExceed", "a name is longer than 255 bytes")
		}
	}
	return nil
}

// numbered returns "name (k).ext", the way SMH renames on conflict ("a.bin" -> "a (1).bin"). Guess for
// names with several dots: only the last extension is kept apart ("a.tar (1).gz").
func numbered(name string, k int) string {
	ext := path.Ext(name)
	if ext == name { // ".bashrc" has no base name to number
		ext = ""
	}
	return fmt.Sprintf("%s (%d)%s", strings.TrimSuffix(name, ext), k, ext)
}

// resolveLocked applies the conflict strategy to target segs and returns the final path, whether an
// existing file is replaced, or an error.
func (sp *space) resolveLocked(segs []string, strategy string) ([]string, bool, *apiError) {
	parent := segs[:len(segs)-1]
	if !sp.isDir(parent) {
		return nil, false, errf(404, "DirectoryNotFound", "the parent directory does not exist")
	}
	n := sp.get(segs)
	if n == nil {
		return segs, false, nil
	}
	switch strategy {
	case "overwrite":
		if n.dir {
			return nil, false, errf(409, "SameNameDirectoryOrFileExists", "a directory with the same name exists")
		}
		return segs, true, nil
	case "rename":
		name := segs[len(segs)-1]
		for k := 1; ; k++ {
			cand := append(slices.Clone(parent), numbered(name, k))
			if sp.get(cand) == nil {
				return cand, false, nil
			}
		}
	default: // ask
		return nil, false, errf(409, "SameNameDirectoryOrFileExists", "a file or directory with the same name exists")
	}
}

// placeFileLocked puts staged bytes at segs per the strategy and returns the node's final path.
func (e *Emulator) placeFileLocked(spaceID string, segs []string, strategy string, st staged, rec *fileRec) ([]string, *apiError) {
	sp := e.space(spaceID)
	final, _, aerr := sp.resolveLocked(segs, strategy)
	if aerr != nil {
		return nil, aerr
	}
	b, err := e.commit(st, e.filePath(spaceID, final))
	if err != nil {
		return nil, errf(500, "InternalServerError", "store file: %v", err)
	}
	rec.blob = b
	now := e.now()
	created := now
	if old := sp.get(final); old != nil && !old.dir {
		created = old.created         // guess: an overwrite keeps the creation time
		delete(e.files, old.file.key) // its download URLs die with it
	}
	n := &node{created: created, modified: now, file: rec}
	sp.nodes[strings.Join(final, "/")] = n
	e.indexLocked(n)
	sp.touch(final[:len(final)-1], now)
	return final, nil
}

// indexLocked gives a file node a fresh COS object key, so download URLs reach it.
func (e *Emulator) indexLocked(n *node) {
	n.file.key = e.cfg.LibraryID + "/" + randHex(16)
	e.files[n.file.key] = n
}

// touch sets the modification time of directory segs, which SMH reports as the last time a child was
// added or removed (the root has no node).
func (sp *space) touch(segs []string, now time.Time) {
	if n := sp.get(segs); n != nil && n.dir && len(segs) > 0 {
		n.modified = now
	}
}

// removeLocked deletes the file or directory at segs (a directory with everything below it), on disk first
// in Dir mode. The node must exist.
func (e *Emulator) removeLocked(spaceID string, segs []string) *apiError {
	sp := e.space(spaceID)
	key := strings.Join(segs, "/")
	if e.cfg.Dir != "" {
		if err := os.RemoveAll(e.filePath(spaceID, segs)); err != nil {
			return errf(500, "InternalServerError", "delete: %v", err)
		}
	}
	unindex := func(n *node) {
		if n.file != nil {
			delete(e.files, n.file.key)
		}
	}
	if n := sp.nodes[key]; n.dir {
		for k, m := range sp.nodes {
			if strings.HasPrefix(k, key+"/") {
				unindex(m)
				delete(sp.nodes, k)
			}
		}
	}
	unindex(sp.nodes[key])
	delete(sp.nodes, key)
	sp.touch(segs[:len(segs)-1], e.now())
	return nil
}

// children returns the direct children of directory segs by name.
func (sp *space) children(segs []string) map[string]*node {
	prefix := strings.Join(segs, "/") + "/"
	if len(segs) == 0 {
		prefix = ""
	}
	out := map[string]*node{}
	for k, n := range sp.nodes {
		if rest, ok := strings.CutPrefix(k, prefix); ok && rest != "" && !strings.Contains(rest, "/") {
			out[rest] = n
		}
	}
	return out
}

// mkdirLocked creates segs and missing parents. strategy "ask" fails if segs exists, "rename" picks a free
// name for the last element, "parents" accepts an existing directory.
func (e *Emulator) mkdirLocked(spaceID string, segs []string, strategy string) ([]string, *apiError) {
	sp := e.space(spaceID)
	now := e.now()
	for i := 1; i < len(segs); i++ {
		n := sp.get(segs[:i])
		if n == nil {
			if err := e.mkdirDisk(spaceID, segs[:i]); err != nil {
				return nil, err
			}
			sp.nodes[strings.Join(segs[:i], "/")] = &node{dir: true, created: now, modified: now}
			sp.touch(segs[:i-1], now)
		} else if !n.dir {
			return nil, errf(409, "SameNameDirectoryOrFileExists", "a file is in the way of the path")
		}
	}
	final := segs
	if n := sp.get(segs); n != nil {
		switch {
		case strategy == "parents" && n.dir:
			return segs, nil
		case strategy == "rename":
			final, _, _ = sp.resolveLocked(segs, "rename")
		default:
			return nil, errf(409, "SameNameDirectoryOrFileExists", "a file or directory with the same name exists")
		}
	}
	if err := e.mkdirDisk(spaceID, final); err != nil {
		return nil, err
	}
	sp.nodes[strings.Join(final, "/")] = &node{dir: true, created: now, modified: now}
	sp.touch(final[:len(final)-1], now)
	return final, nil
}

func (e *Emulator) mkdirDisk(spaceID string, segs []string) *apiError {
	if e.cfg.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(e.filePath(spaceID, segs), 0o755); err != nil {
		return errf(500, "InternalServerError", "create directory: %v", err)
	}
	return nil
}

// findContentLocked returns a stored file with that size and beginning hash, and with that full hash when
// full is not empty (instant upload candidates are looked up library wide).
func (e *Emulator) findContentLocked(size int64, begin, full string) *fileRec {
	for _, sp := range e.spaces {
		for _, n := range sp.nodes {
			f := n.file
			if f == nil || f.discarded || f.size != size || !strings.EqualFold(f.beginHash, begin) {
				continue
			}
			if full == "" || strings.EqualFold(f.fullHash, full) {
				return f
			}
		}
	}
	return nil
}
