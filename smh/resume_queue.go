package smh

// A Queue's resume records: done records of stored files, their expiry, and
// the identity of a queued file.

import (
	"strings"
)

// ResumeLister is a ResumeStore that can list its keys. A Queue whose Store
// is one deletes the expired records when it is made; with a plain
// ResumeStore an expired record goes only when its file is offered again.
type ResumeLister interface {
	ResumeStore
	Keys() []string
}

// fileID completes id for a file of this queue: the size and target are
// the upload's own, the library the Client's unless id names one.
func (q *Queue) fileID(id FileID, body Body, o Options) FileID {
	id.Size, id.Path = body.Size(), o.Path
	cfg := q.c.cfg
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&id.Endpoint, cfg.Endpoint}, {&id.LibraryID, cfg.LibraryID}, {&id.SpaceID, cfg.SpaceID}, {&id.UserID, cfg.UserID},
	} {
		if *f.dst == "" {
			*f.dst = f.v
		}
	}
	return id
}

// record returns the live record under key for a file of size bytes going
// to path. A record that has expired or does not fit is deleted, so that a
// ResumableTask made next does not resume it either.
func (q *Queue) record(key string, size int64, path string) (ResumeRecord, bool) {
	v, ok := q.o.Store.Get(key)
	if !ok {
		return ResumeRecord{}, false
	}
	rec, ok := q.live(v)
	p, _ := CleanPath(path)
	if !ok || rec.Size != size || rec.Path != p {
		q.o.Store.Delete(key)
		return ResumeRecord{}, false
	}
	return rec, true
}

// live parses a stored record and reports whether it is still honoured.
// A record without a time cannot expire and is not honoured.
func (q *Queue) live(v string) (ResumeRecord, bool) {
	var rec ResumeRecord
	if decodeJSON([]byte(v), &rec) != nil || rec.Saved.IsZero() {
		return rec, false
	}
	return rec, q.clock.Now().Before(rec.Saved.Add(q.ttl))
}

// sweep deletes the expired records of a listing store. It runs once, when
// the queue is made: a page's records are then bounded by what it stored
// within one TTL, whether or not it ever comes back to them.
func (q *Queue) sweep() {
	l, ok := q.o.Store.(ResumeLister)
	if !ok {
		return
	}
	for _, k := range l.Keys() {
		if !strings.HasPrefix(k, ResumeKeyPrefix) {
			continue // not ours: the store may be shared
		}
		if v, ok := l.Get(k); ok {
			if _, live := q.live(v); !live {
				l.Delete(k)
			}
		}
	}
}

// saveDone leaves f's done record once it is stored, so that a later queue
// offered the same file skips it. The ResumableTask has just removed its
// multipart record under the same key.
func (q *Queue) saveDone(f *queued, fi *FileInfo) {
	if f.key == "" {
		return
	}
	p, _ := CleanPath(f.file.Path)
	b := ResumeRecord{Done: true, File: fi, Size: f.body.Size(), Path: p, Saved: q.clock.Now().UTC()}.encodeJSON()
	_ = q.o.Store.Set(f.key, string(b)) // a record is a hint: failing to save one costs a re-upload, not the file
}

// dropRecords deletes the records of every file of the queue: after a
// cancel, none of them is to be resumed or skipped.
func (q *Queue) dropRecords() {
	if q.o.Store == nil {
		return
	}
	q.mu.Lock()
	var keys []string
	for _, f := range q.files {
		if f.key != "" {
			keys = append(keys, f.key)
		}
	}
	q.mu.Unlock()
	for _, k := range keys {
		q.o.Store.Delete(k)
	}
}
