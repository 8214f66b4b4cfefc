package smh_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh"
	"github.com/smhupload/smh-upload/smh/emulator"
)

// A tree with nested, empty and refused entries: the deepest folders are
// created once each before any file (which creates the ones above them),
// the empty folder exists, every file is stored under the target, a 0-byte
// file too, and the name SMH refuses fails alone with a typed error.
func TestUploadDir(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	tree := fstest.MapFS{
		"photos/2026/a.jpg":     {Data: randomBytes(16<<10, 1)},
		"photos/2026/b.jpg":     {Data: randomBytes(2*MiB+5, 2)},
		"photos/empty":          {Mode: fs.ModeDir | 0o755},
		"docs/readme.txt":       {Data: []byte("hello")},
		"docs/back\\slash.txt":  {Data: []byte("refused")},
		"zero.bin":              {Data: nil},
		"photos/2026/deep/c.gz": {Data: randomBytes(3000, 3)},
	}
	q, err := smh.NewQueue(e.client, e.put, smh.QueueOptions{Concurrency: 3})
	require.NoError(t, err)
	require.NoError(t, smh.UploadDir(context.Background(), q, tree, "up", smh.Options{PartSize: MiB}))
	assert.Equal(t, 3, e.emu.Count("directory.create"), "docs, photos/2026/deep and photos/empty: the rest come with them")
	assert.Zero(t, e.emu.Count("begin.simple")+e.emu.Count("begin.multipart"), "no file before its folder")

	q.Start()
	files, err := q.Wait(context.Background())
	require.NoError(t, err)
	require.Len(t, files, 6)
	for _, f := range files {
		if f.Path == "up/docs/back\\slash.txt" {
			require.Equal(t, smh.FileFailed, f.State)
			var se *smh.Error
			require.ErrorAs(t, f.Err, &se)
			assert.Equal(t, smh.CodeIllegalPath, se.Code)
			continue
		}
		require.Equal(t, smh.FileDone, f.State, "%s: %v", f.Path, f.Err)
		e.assertStored(f.Path, tree[f.Path[len("up/"):]].Data)
	}
	assert.Equal(t, 3, e.emu.Count("directory.create"), "no file asked for a folder again")
	for _, dir := range []string{"up/photos/empty", "up/photos", "up/photos/2026/deep"} {
		assert.True(t, e.dirExists(dir), dir)
	}
	q.RetryFailed() // the refused file cannot run: nothing to retry
	files, err = q.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, smh.FileFailed, files[0].State, files[0].Path)
}

// dirExists asks the emulator whether dir is a folder.
func (e *env) dirExists(dir string) bool {
	e.t.Helper()
	resp, err := http.Get(e.emu.Endpoint + "/api/v1/directory/" + e.emu.LibraryID() + "/-/" + dir + "?access_token=test-token-0001")
	require.NoError(e.t, err)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func bodyOf(b []byte) smh.Body { return smh.NewReaderAtBody(bytes.NewReader(b), int64(len(b))) }

// Entries as a browser gives them, not an fs.FS: files with paths in any
// order, an empty folder listed alone (twice), files at the target's top
// (so the target is the one folder requested for them), names that sort
// between a folder and its subfolders, names refused before any request
// and an entry that could not be read. Each folder is requested once, only
// the deepest, before any file; every good file is stored; each bad entry
// fails alone, in its place, with its typed error.
func TestAddTree(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	data := map[string][]byte{
		"top.txt":     []byte("top"),
		"a/b/x/1.bin": randomBytes(2*MiB+3, 7),
		"a/b c/2.bin": randomBytes(5000, 8),
		"a/b/3.bin":   randomBytes(100, 9),
		"z.bin":       nil,
	}
	unreadable := &smh.Error{Op: "upload", Code: smh.CodeSourceRead, Message: "reading gone.txt", Err: smh.ErrSourceRead}
	entries := []smh.TreeEntry{
		{Path: "top.txt", Body: bodyOf(data["top.txt"])},
		{Path: "a/b/x/1.bin", Body: bodyOf(data["a/b/x/1.bin"])},
		{Path: "empty/"},
		{Path: "a/../evil.txt", Body: bodyOf([]byte("no"))},
		{Path: "a/b c/2.bin", Body: bodyOf(data["a/b c/2.bin"])},
		{Path: "gone.txt", Err: unreadable},
		{Path: "/a/b/3.bin", Body: bodyOf(data["a/b/3.bin"])},
		{Path: "empty"},
		{Path: "x//y"},
		{Path: "z.bin", Body: bodyOf(nil)},
	}
	q, err := smh.NewQueue(e.client, e.put, smh.QueueOptions{Concurrency: 2})
	require.NoError(t, err)
	n, err := smh.AddTree(context.Background(), q, "/in/", entries, smh.Options{PartSize: MiB})
	require.NoError(t, err)
	assert.Equal(t, 7, n, "files, refused ones included")
	assert.Equal(t, 3, e.emu.Count("directory.create"), "in/a/b/x, in/a/b c and in/empty: in and in/a/b come with them")
	assert.True(t, e.dirExists("in/empty"))

	q.Start()
	files, err := q.Wait(context.Background())
	require.NoError(t, err)
	var states []string
	for _, f := range files {
		states = append(states, f.State)
		if f.State == smh.FileDone {
			e.assertStored(f.Path, data[f.Path[len("in/"):]])
			assert.Equal(t, int64(len(data[f.Path[len("in/"):]])), f.Size)
		}
	}
	assert.Equal(t, []string{"done", "done", "failed", "done", "failed", "done", "failed", "done"}, states,
		"in the order given; the empty folder is no file: %v", files)
	var se *smh.Error
	require.ErrorAs(t, files[2].Err, &se)
	assert.Equal(t, smh.CodeIllegalPath, se.Code, "a/../evil.txt")
	assert.Equal(t, int64(2), files[2].Size)
	assert.Same(t, unreadable, files[4].Err)
	require.ErrorAs(t, files[6].Err, &se)
	assert.Equal(t, smh.CodeIllegalPath, se.Code, "x//y")
	assert.Equal(t, 3, e.emu.Count("directory.create"), "no file asked for a folder")
}

// A folder SMH refuses with a 400 fails the entries under it alone, with
// SMH's code; the folders above it are then requested, once; a folder
// request that fails otherwise stops AddTree before anything is queued.
func TestAddTreeFolderRefused(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	e.emu.FailAPI("directory.create", 1, 400, "IllegalFileName", 0)
	q, err := smh.NewQueue(e.client, e.put, smh.QueueOptions{})
	require.NoError(t, err)
	entries := []smh.TreeEntry{
		{Path: "r/sub/g.txt", Body: bodyOf([]byte("g"))},
		{Path: "ok.txt", Body: bodyOf([]byte("ok"))},
		{Path: "r/f.txt", Body: bodyOf([]byte("f"))},
	}
	n, err := smh.AddTree(context.Background(), q, "t", entries, smh.Options{})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, 2, e.emu.Count("directory.create"), "t/r/sub (refused), then t/r: %v", e.emu.Counts())
	q.Start()
	files, err := q.Wait(context.Background())
	require.NoError(t, err)
	require.Len(t, files, 3)
	require.Equal(t, smh.FileFailed, files[0].State)
	var se *smh.Error
	require.ErrorAs(t, files[0].Err, &se)
	assert.Equal(t, "IllegalFileName", se.Code)
	for _, i := range []int{1, 2} {
		assert.Equal(t, smh.FileDone, files[i].State, "%v", files[i].Err)
	}
	e.assertStored("t/ok.txt", []byte("ok"))
	e.assertStored("t/r/f.txt", []byte("f"))

	e.emu.FailAPI("directory.create", 1, 403, "NoPermission", 0) // a token without create_directory
	q, err = smh.NewQueue(e.client, e.put, smh.QueueOptions{})
	require.NoError(t, err)
	_, err = smh.AddTree(context.Background(), q, "u", entries[:1], smh.Options{})
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 403, se.Status)
	assert.Empty(t, q.Files(), "nothing is half-added")
	assert.False(t, errors.Is(err, smh.ErrCanceled))
}
