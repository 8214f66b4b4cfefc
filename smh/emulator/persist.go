package emulator

import (
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Config.Dir: the files a persistent Emulator keeps on disk and finds again
// on its next start.

// initDir prepares Config.Dir: stale parts and temporary files from an earlier run are removed (tasks are
// only in memory) and confirmed files are indexed.
func (e *Emulator) initDir() error {
	for _, d := range []string{"uploads", "tmp", "objects"} {
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
		n := &node{created: mod, modified: mod, file: rec}
		sp.nodes[key] = n
		e.indexLocked(n)
		return nil
	})
}
