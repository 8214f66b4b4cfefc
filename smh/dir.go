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

	"golang.org/x/sync/errgroup"
)

// TreeEntry is one entry of a tree that AddTree queues: a file, a folder
// (Body nil) or an entry that could not be read (Err set), at Path relative
// to the target folder ("a/b.txt"). A folder that holds files need not be
// listed: only empty ones must be.
type TreeEntry struct {
	Path string
	Body Body  // nil for a folder
	Err  error // set: the entry fails with it, as a file (one that could not be read, say)
}

// folderParallel is the number of folder requests AddTree keeps in flight:
// the deepest folders do not depend on each other.
const folderParallel = 4

// AddTree queues entries under target (a folder in the library, "" for its
// root) on q and returns the number of files among them. The folders are
// created first, each once, empty ones included: only the deepest are
// requested (target itself when it holds no folder), since SMH creates the
// folders above one with it. Then the files are added with o (Path set to
// target/Path, parents known to exist), in the order given.
//
// An entry that cannot go fails alone, as a failed file in q.Files() with a
// typed *Error: a name this package refuses (code EmptyPath or IllegalPath,
// before any request), an entry given with Err, a file Add refuses, and
// every entry under a folder SMH refuses with a 400 (its code, such as
// IllegalFileName). Any other failure to create a folder (the network, the
// token, the server) stops AddTree before any entry is queued, with that
// error: nothing is half-added.
func AddTree(ctx context.Context, q *Queue, target string, entries []TreeEntry, o Options) (int, error) {
	return addTree(ctx, q, target, entries, o, &folders{})
}

// folders are the folders known to exist: created by this package, or
// above one it created. A QueueFeed keeps them across its adds, so that
// each folder is requested once however many adds name it.
type folders struct {
	mu    sync.Mutex
	known map[string]bool
}

func (f *folders) has(d string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.known[d]
}

// created records d and the folders above it.
func (f *folders) created(d string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.known == nil {
		f.known = map[string]bool{}
	}
	for ; d != "." && !f.known[d]; d = path.Dir(d) {
		f.known[d] = true
	}
}

func addTree(ctx context.Context, q *Queue, target string, entries []TreeEntry, o Options, known *folders) (int, error) {
	target = strings.Trim(target, "/")
	if target != "" {
		if _, err := CleanPath(target); err != nil {
			return 0, err
		}
	}
	dirs := map[string]bool{}
	if target != "" {
		dirs[target] = true
	}
	full := make([]string, len(entries)) // "" for an entry refused below
	files := 0
	for i, en := range entries {
		if en.Body != nil || en.Err != nil {
			files++
		}
		p, err := CleanPath(join(target, en.Path))
		switch {
		case err != nil || en.Err != nil:
		case en.Body == nil:
			dirs[p] = true
			full[i] = p
		case p == target:
			// a file with no name of its own: refused below
		default:
			if d := path.Dir(p); d != "." {
				dirs[d] = true
			}
			full[i] = p
		}
	}
	for d := range dirs {
		if known.has(d) {
			delete(dirs, d)
		}
	}
	refused, err := createFolders(ctx, q.c, dirs, known)
	if err != nil {
		return 0, err
	}
	o.DisableCreateParents = true // every folder exists now
	for i, en := range entries {
		p, size := full[i], bodySize(en.Body)
		switch {
		case en.Err != nil:
			q.reject(join(target, en.Path), size, en.Err)
		case p == "" && en.Body == nil && strings.Trim(en.Path, "/") == "":
			// the target itself, or the root: nothing to do
		case p == "":
			_, err := CleanPath(join(target, en.Path))
			if err == nil {
				err = invalid(CodeEmptyPath, "the file at %q has no name", en.Path)
			}
			q.reject(join(target, en.Path), size, err)
		case refusedAbove(refused, p) != nil:
			q.reject(p, size, refusedAbove(refused, p))
		case en.Body == nil:
			// a folder, created above
		default:
			fo := o
			fo.Path = p
			if _, err := q.Add(en.Body, fo); err != nil {
				q.reject(p, size, err)
			}
		}
	}
	return files, nil
}

// join puts p under target.
func join(target, p string) string {
	if target == "" {
		return p
	}
	return target + "/" + strings.TrimLeft(p, "/")
}

func bodySize(b Body) int64 {
	if b == nil {
		return 0
	}
	return b.Size()
}

// createFolders creates dirs by their deepest folders, folderParallel at a
// time, records them in known, and returns the ones SMH refused (a 400: the name) with their
// errors. The folders above a refused one are then requested in a later
// round, unless a sibling created them; no folder is requested twice.
func createFolders(ctx context.Context, c *Client, dirs map[string]bool, known *folders) (map[string]error, error) {
	refused := map[string]error{}
	for len(dirs) > 0 {
		all := make([]string, 0, len(dirs))
		for d := range dirs {
			all = append(all, d)
		}
		round := leaves(all)
		errs := make([]error, len(round))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(folderParallel)
		for i, d := range round {
			g.Go(func() error {
				err := c.CreateDirectory(gctx, d)
				var e *Error
				if errors.As(err, &e) && e.Status == 400 {
					errs[i] = fmt.Errorf("smh: folder %s refused: %w", d, err)
					return nil
				}
				if err != nil {
					return fmt.Errorf("smh: creating folder %s: %w", d, err)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		for i, d := range round {
			delete(dirs, d)
			if errs[i] != nil {
				refused[d] = errs[i]
				continue
			}
			known.created(d)
			for a := path.Dir(d); a != "."; a = path.Dir(a) {
				delete(dirs, a) // created with d
			}
		}
	}
	return refused, nil
}

// refusedAbove returns the error of the refused folder that p is or is in.
func refusedAbove(refused map[string]error, p string) error {
	for d := p; d != "."; d = path.Dir(d) {
		if err, ok := refused[d]; ok {
			return err
		}
	}
	return nil
}

// UploadDir queues the tree fsys under target (a folder in the library, ""
// for its root) on q with AddTree: the folders first, each once, empty ones
// included, and then every regular file, in the tree's lexical order. A
// file whose size cannot be read fails alone (code SourceReadError). Files
// are opened when first read and closed when they are stored or cancelled.
func UploadDir(ctx context.Context, q *Queue, fsys fs.FS, target string, o Options) error {
	var entries []TreeEntry
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir():
			if name != "." {
				entries = append(entries, TreeEntry{Path: name})
			}
		case d.Type().IsRegular():
			info, err := fs.Stat(fsys, name)
			if err != nil {
				entries = append(entries, TreeEntry{Path: name,
					Err: &Error{Op: "upload", Code: CodeSourceRead, Message: "reading " + name, Err: err}})
				break
			}
			entries = append(entries, TreeEntry{Path: name, Body: &fsBody{fsys: fsys, name: name, size: info.Size()}})
		}
		return nil
	})
	if err != nil {
		return &Error{Op: "upload", Code: CodeSourceRead, Message: "reading the folder", Err: err}
	}
	_, err = AddTree(ctx, q, target, entries, o)
	return err
}

// leaves are the folders that hold no other folder of dirs, sorted:
// creating them creates the rest.
func leaves(dirs []string) []string {
	above := map[string]bool{}
	for _, d := range dirs {
		for a := path.Dir(d); a != "." && !above[a]; a = path.Dir(a) {
			above[a] = true
		}
	}
	var out []string
	for _, d := range dirs {
		if !above[d] {
			out = append(out, d)
		}
	}
	sort.Strings(out)
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
