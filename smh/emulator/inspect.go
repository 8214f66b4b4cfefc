package emulator

import (
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"
)

// What tests and the demo read back from an Emulator: request counts, stored
// files and objects, open uploads, and files written around the API.

// Count returns how many requests operation op received since the last ResetCounts, whatever their answer.
// Operations: token.create, token.renew, token.delete, token.delete.user, begin.multipart, begin.simple,
// renew, status, confirm, cancel, file.head, file.info, file.download, file.delete, directory.create,
// directory.list, directory.info, directory.head, directory.delete, begin.form on the API host; part,
// object.put, object.post (a form upload), object.get on the COS host; part.expired counts the 403 "Request has expired" answers to part and
// object PUTs. The plain COS calls (Config.COSSecretID) count as cos.list (ListMultipartUploads),
// cos.init, cos.parts (ListParts), part (UploadPart), object.put, cos.complete and cos.abort.
// api.preflight and cos.preflight count the CORS preflights (OPTIONS) each host answered, and
// confirm.crc64 the confirms whose body carried a crc64; put.peak is the most uploads (parts, object PUTs
// and form POSTs) that were in flight at once, part.peak and object.peak the most parts and objects.
func (e *Emulator) Count(op string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counts[op]
}

// Counts returns every counter that is not zero, by operation name as in Count.
func (e *Emulator) Counts() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.counts))
	for k, v := range e.counts {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// ResetCounts sets every counter to zero.
func (e *Emulator) ResetCounts() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.counts)
}

// putStarted counts an upload of operation op ("part", "object.put" or "object.post") in flight,
// keeping the peaks as put.peak (of all) and part.peak or object.peak (PUTs and form POSTs), until the
// returned func is called.
func (e *Emulator) putStarted(op string) (done func()) {
	kind := "object.peak"
	if op == "part" {
		kind = "part.peak"
	}
	e.mu.Lock()
	if e.puts == nil {
		e.puts = map[string]int{}
	}
	e.puts[kind]++
	e.counts[kind] = max(e.counts[kind], e.puts[kind])
	e.counts["put.peak"] = max(e.counts["put.peak"], e.puts["part.peak"]+e.puts["object.peak"])
	e.mu.Unlock()
	return func() {
		e.mu.Lock()
		e.puts[kind]--
		e.mu.Unlock()
	}
}

func (e *Emulator) count(op string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts[op]++
}

// ReadFile returns the bytes of the confirmed file at path ("dir/a.bin") in space. A missing file gives an
// error that wraps fs.ErrNotExist, a file whose bytes were discarded (Config.Discard) ErrDiscarded.
func (e *Emulator) ReadFile(space, path string) ([]byte, error) {
	e.mu.Lock()
	n, err := e.lookupLocked(space, path)
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	if n.file.discarded {
		e.mu.Unlock()
		return nil, fmt.Errorf("emulator: %s/%s: %w", space, path, ErrDiscarded)
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
	segs := splitPath([]string{path})
	return fileInfoFor(strings.Join(segs, "/"), segs[len(segs)-1], n.file, n.created, n.modified), nil
}

func fileInfoFor(path, name string, f *fileRec, created, modified time.Time) FileInfo {
	fi := FileInfo{
		Path:             path,
		Name:             name,
		Size:             f.size,
		CRC64:            f.crc,
		MD5:              hex.EncodeToString(f.md5[:]),
		ETag:             f.etag,
		ContentType:      f.contentType,
		BeginningHash:    f.beginHash,
		FullHash:         f.fullHash,
		CreationTime:     created,
		ModificationTime: modified,
		Meta:             cloneMap(f.meta),
	}
	if f.discarded {
		fi.MD5 = "" // never computed: a multipart file's bytes were not seen as a whole
	}
	return fi
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
