package smh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
)

// UploadDir queues the tree fsys under target (a folder in the library, ""
// for its root) on q: every folder is created first, once, empty ones
// included, and then every regular file is added with o (its Path set to
// its place under target), in the tree's lexical order. Only the deepest
// folders are requested, since SMH creates the folders above one with it.
// A file that cannot go (a name SMH or this package refuses, a file that
// cannot be read at offsets) fails alone: it is in q.Files() as failed with
// its typed error. A folder that cannot be created stops UploadDir before
// any file is queued, with that error. Files are opened when first read and
// closed when they are stored or cancelled.
func UploadDir(ctx context.Context, q *Queue, fsys fs.FS, target string, o Options) error {
	target = strings.Trim(target, "/")
	var dirs, files []string
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir():
			if name != "." {
				dirs = append(dirs, name)
			}
		case d.Type().IsRegular():
			files = append(files, name)
		}
		return nil
	})
	if err != nil {
		return &Error{Op: "upload", Code: CodeSourceRead, Message: "reading the folder", Err: err}
	}
	for _, d := range leaves(dirs) {
		if err := q.c.CreateDirectory(ctx, path.Join(target, d)); err != nil {
			return fmt.Errorf("smh: creating folder %s: %w", path.Join(target, d), err)
		}
	}
	o.DisableCreateParents = true // every folder exists now
	for _, name := range files {
		fo := o
		fo.Path = path.Join(target, name)
		info, err := fs.Stat(fsys, name)
		if err != nil {
			q.reject(fo.Path, &Error{Op: "upload", Code: CodeSourceRead, Message: "reading " + name, Err: err})
			continue
		}
		if _, err := q.Add(&fsBody{fsys: fsys, name: name, size: info.Size()}, fo); err != nil {
			q.reject(fo.Path, err)
		}
	}
	return nil
}

// leaves are the folders that hold no other folder of dirs: creating them
// creates the rest.
func leaves(dirs []string) []string {
	sort.Strings(dirs)
	var out []string
	for i, d := range dirs {
		if i+1 < len(dirs) && strings.HasPrefix(dirs[i+1], d+"/") {
			continue // sorted: a subfolder of d comes right after it
		}
		out = append(out, d)
	}
	return out
}

// fsBody is a file of an fs.FS, opened when first read: a queue of
// thousands of files holds open only those under way.
type fsBody struct {
	fsys fs.FS
	name string
	size int64

	mu sync.Mutex
	f  fs.File
}

func (b *fsBody) Size() int64 { return b.size }

func (b *fsBody) ReadAt(p []byte, off int64) (int, error) {
	b.mu.Lock()
	if b.f == nil {
		f, err := b.fsys.Open(b.name)
		if err != nil {
			b.mu.Unlock()
			return 0, err
		}
		b.f = f
	}
	f := b.f
	b.mu.Unlock()
	ra, ok := f.(io.ReaderAt)
	if !ok {
		return 0, errors.New("smh: " + b.name + " cannot be read at offsets (its fs.File is no io.ReaderAt)")
	}
	return ra.ReadAt(p, off)
}

func (b *fsBody) Sum(ctx context.Context, off, n int64) (Sum, error) {
	return NewReaderAtBody(b, b.size).Sum(ctx, off, n)
}

// Close closes the file until it is read again.
func (b *fsBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.f == nil {
		return nil
	}
	err := b.f.Close()
	b.f = nil
	return err
}
