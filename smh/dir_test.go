package smh_test

import (
	"context"
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
		resp, err := http.Get(e.emu.Endpoint + "/api/v1/directory/" + e.emu.LibraryID() + "/-/" + dir + "?access_token=test-token-0001")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, dir)
	}
	q.RetryFailed() // the refused file cannot run: nothing to retry
	files, err = q.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, smh.FileFailed, files[0].State, files[0].Path)
}
