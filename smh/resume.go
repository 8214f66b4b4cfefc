package smh

import (
	"context"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/smhupload/smh-upload/internal/purehash"
)

// ResumeStore keeps resume records between runs of a program: a browser's
// localStorage, a file, a map in tests. Records are hints; the server's part
// list stays the truth, so a lost or stale record costs a restart, never a
// corrupt file.
type ResumeStore interface {
	Get(key string) (value string, ok bool)
	Set(key, value string) error
	Delete(key string)
}

// ResumeRecord is what a ResumableTask saves for an unfinished upload, or
// a Queue for a stored file (Done, with its File).
type ResumeRecord struct {
	ConfirmKey string    `json:"confirmKey,omitempty"`
	Done       bool      `json:"done,omitempty"`
	File       *FileInfo `json:"file,omitempty"`
	PartSize   int64     `json:"partSize"`
	Size       int64     `json:"size"`
	Path       string    `json:"path"`
	Saved      time.Time `json:"saved"`
}

// FileID identifies a local file and where it goes, for resume: the same
// file (name, size, modification time) to the same target continues the
// same task.
type FileID struct {
	Name         string
	Size         int64
	LastModified int64 // milliseconds since the epoch, as File.lastModified
	Endpoint     string
	LibraryID    string
	SpaceID      string
	UserID       string
	Path         string
}

// ResumeKeyPrefix starts every key ResumeKey returns, so a store shared with
// other data (localStorage) can tell the records apart.
const ResumeKeyPrefix = "smh-upload:resume:"

// ResumeKey returns the store key of id: ResumeKeyPrefix and an MD5 of
// its fields. The key reveals neither the file name nor the target.
func ResumeKey(id FileID) string {
	p, _ := CleanPath(id.Path)
	space := id.SpaceID
	if space == "" {
		space = "-"
	}
	h := purehash.NewMD5()
	for _, f := range []string{id.Name, strconv.FormatInt(id.Size, 10), strconv.FormatInt(id.LastModified, 10),
		id.Endpoint, id.LibraryID, space, id.UserID, p} {
		// Length-prefixed, so field boundaries cannot shift between files.
		h.Write([]byte(strconv.Itoa(len(f)) + ":" + f + ";"))
	}
	return ResumeKeyPrefix + hex.EncodeToString(h.Sum(nil))
}

// ResumableTask is a Task whose confirm key is saved in a ResumeStore, so
// that a later process (a reloaded page) uploading the same file to the
// same place continues the same task: it lists the parts the server holds
// and sends only the rest. The record is saved as soon as the task has a
// confirm key, removed when the upload finishes or is cancelled, and kept
// when it is paused or fails. A record whose task the server no longer has
// (cancelled elsewhere, expired, already confirmed) is dropped and the
// upload begins anew. Small files, which take one simple upload, are never
// saved: simple uploads restart rather than resume.
//
// Run it like a Task; pause it by cancelling Run's context with the cause
// ErrPaused, as Job does.
type ResumableTask struct {
	c     *Client
	put   PartPutter
	body  Body
	o     Options // as given: without a saved confirm key
	path  string
	store ResumeStore // nil: nothing is saved
	key   string

	mu       sync.Mutex
	task     *Task
	resumed  bool   // task continues a saved record
	saved    string // the confirm key in the store
	stop     context.CancelCauseFunc
	canceled bool
}

// NewResumableTask checks its arguments like NewTask and looks for a record
// under key in store. A nil store or an empty key saves nothing, which makes
// it a plain Task.
// Options.ConfirmKey, when set, wins over a saved record.
func NewResumableTask(c *Client, put PartPutter, body Body, o Options, store ResumeStore, key string) (*ResumableTask, error) {
	r := &ResumableTask{c: c, put: put, body: body, o: o, store: store, key: key}
	if store == nil || key == "" {
		r.store, r.key = nil, ""
	}
	t, err := NewTask(c, r.recorder(), body, o)
	if err != nil {
		return nil, err
	}
	r.task = t
	r.path, _ = CleanPath(o.Path) // NewTask checked it
	if rec, ok := r.load(); ok {
		ro := o
		ro.ConfirmKey, ro.PartSize = rec.ConfirmKey, rec.PartSize
		if rt, err := NewTask(c, r.recorder(), body, ro); err == nil {
			r.task, r.resumed, r.saved = rt, true, rec.ConfirmKey
		} else {
			r.forget()
		}
	}
	return r, nil
}

// Resumed reports whether the task continues a saved record.
func (r *ResumableTask) Resumed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resumed
}

// ConfirmKey is the current task's confirm key, once it has one.
func (r *ResumableTask) ConfirmKey() string { return r.current().ConfirmKey() }

func (r *ResumableTask) current() *Task {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.task
}

// load returns the saved record for this file, if it fits the upload.
func (r *ResumableTask) load() (ResumeRecord, bool) {
	if r.store == nil || r.o.ConfirmKey != "" || r.body.Size() < SimpleThreshold {
		return ResumeRecord{}, false
	}
	v, ok := r.store.Get(r.key)
	if !ok {
		return ResumeRecord{}, false
	}
	var rec ResumeRecord
	if decodeJSON([]byte(v), &rec) != nil || rec.ConfirmKey == "" || rec.Size != r.body.Size() || rec.Path != r.path {
		r.store.Delete(r.key)
		return ResumeRecord{}, false
	}
	return rec, true
}

// save records the current task's confirm key once it has one. Parts are
// only sent after begin, so saving before each part covers every task that
// has bytes on the server.
func (r *ResumableTask) save() {
	if r.store == nil || r.body.Size() < SimpleThreshold {
		return
	}
	t := r.current()
	key, partSize := t.ConfirmKey(), t.PartSize()
	r.mu.Lock()
	defer r.mu.Unlock()
	if key == "" || key == r.saved || r.canceled {
		return
	}
	b := ResumeRecord{ConfirmKey: key, PartSize: partSize, Size: r.body.Size(), Path: r.path, Saved: r.c.ServerNow().UTC()}.encodeJSON()
	if r.store.Set(r.key, string(b)) == nil {
		r.saved = key
	}
}

func (r *ResumableTask) forget() {
	if r.store == nil {
		return
	}
	r.store.Delete(r.key)
	r.mu.Lock()
	r.saved = ""
	r.mu.Unlock()
}

type recordingPutter struct{ r *ResumableTask }

func (p recordingPutter) Put(ctx context.Context, req *PutRequest) (*PutResponse, error) {
	p.r.save()
	return p.r.put.Put(ctx, req)
}

// PutsForms passes on whether the wrapped transport sends forms.
func (p recordingPutter) PutsForms() bool {
	fp, ok := p.r.put.(FormPutter)
	return ok && fp.PutsForms()
}

func (r *ResumableTask) recorder() PartPutter {
	if r.put == nil {
		return nil // let NewTask report it
	}
	return recordingPutter{r}
}

// Run uploads like Task.Run, and begins anew when the saved task turns out
// to be gone.
func (r *ResumableTask) Run(ctx context.Context) (*FileInfo, error) {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r.mu.Lock()
	t, resumed, canceled, running := r.task, r.resumed, r.canceled, r.stop != nil
	if !canceled && !running {
		r.stop = stop
	}
	r.mu.Unlock()
	switch {
	case canceled:
		return nil, &Error{Op: "upload", Code: CodeCanceled, ConfirmKey: t.ConfirmKey(), Err: ErrCanceled}
	case running:
		return nil, invalid(CodeInvalidInput, "task is already running")
	}
	defer func() {
		r.mu.Lock()
		r.stop = nil
		r.mu.Unlock()
	}()

	fi, err := t.Run(ctx)
	if err != nil && resumed && staleRecord(err) && ctx.Err() == nil {
		r.forget()
		nt, nerr := NewTask(r.c, r.recorder(), r.body, r.o)
		if nerr != nil {
			return nil, nerr
		}
		r.mu.Lock()
		r.task, r.resumed = nt, false
		r.mu.Unlock()
		fi, err = nt.Run(ctx)
	}
	if err == nil {
		r.forget()
	}
	return fi, err
}

// Cancel stops the upload, deletes its task on the server (see Task.Cancel)
// and removes the record.
func (r *ResumableTask) Cancel(ctx context.Context) error {
	r.mu.Lock()
	r.canceled = true
	stop := r.stop
	r.mu.Unlock()
	if stop != nil {
		stop(ErrCanceled)
	}
	err := r.current().Cancel(ctx)
	if err == nil {
		r.forget()
	}
	return err
}

// staleRecord reports an error that means the saved task is gone: resuming
// it cannot succeed, beginning anew can.
func staleRecord(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch {
	case e.Code == "UploadComplete":
		return true
	case e.Op == "resume" && e.Code == CodeBadResponse: // not a multipart task
		return true
	case e.Op == "status" && e.Status == 404:
		return true // UploadNotFound, ConfirmKeyNotFound
	}
	return false
}

// MemoryResumeStore is a ResumeStore in memory, for tests and for programs
// that resume within one process. The zero value is ready to use.
type MemoryResumeStore struct {
	mu sync.Mutex
	m  map[string]string
}

// Get returns the value under key.
func (s *MemoryResumeStore) Get(key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok
}

// Set stores value under key.
func (s *MemoryResumeStore) Set(key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[key] = value
	return nil
}

// Delete removes key.
func (s *MemoryResumeStore) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}

// Keys returns the keys of every record, making it a ResumeLister.
func (s *MemoryResumeStore) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	return keys
}

// Len returns the number of records.
func (s *MemoryResumeStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
