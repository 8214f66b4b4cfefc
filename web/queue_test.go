//go:build !js

package web_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The demo's queue page: a folder chosen with <input webkitdirectory> goes
// through one queue; each file is stored under the target with its
// relative path, and the list renders only the rows in view.
func TestDemoQueuePage(t *testing.T) {
	d := startDemo(t)
	d.run(chromedp.Navigate(d.url+"queue.html"), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)))

	root := filepath.Join(t.TempDir(), "trip")
	want := map[string][]byte{}
	put := func(rel string, size int) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		src, data := d.file(filepath.Base(rel), size)
		require.NoError(t, os.Rename(src, p))
		want[rel] = data
	}
	n := 60
	if os.Getenv("SMH_SCREENSHOT_QUEUE") != "" {
		n = 2000 // the README's picture: a long list
	}
	for i := range n {
		put("day"+strconv.Itoa(i%3+1)+"/img_"+strconv.Itoa(i)+".jpg", 1+i*97%4096)
	}
	put("video/clip.mp4", 3<<20+5) // multipart
	put("notes.txt", 0)

	d.run(chromedp.SetUploadFiles(chromedp.CSS(`#folder`), []string{root}),
		waitFor(`document.body.dataset.done === "`+strconv.Itoa(len(want))+`" && document.body.dataset.left === "0"`))
	for rel, data := range want {
		d.assertStored("folders/trip/"+rel, data)
	}
	assert.Equal(t, "0", d.attr("body", "data-failed"))
	assert.LessOrEqual(t, d.emu.Count("directory.create"), 4, "each folder created once at most (day1-3, video)")
	rows, err := chromedp.Run(d.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#list .vrow:not([hidden])").length`))
	require.NoError(t, err)
	assert.Less(t, rows, 40, "only the rows in view are in the DOM")
	assert.Greater(t, rows, 5)
	assert.False(t, d.inPage(), "the module ran in a Worker")
	if out := os.Getenv("SMH_SCREENSHOT_QUEUE"); out != "" {
		png, err := chromedp.Run(d.ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(out, png, 0o644))
	}

	// Reload and offer the folder again: every file is skipped, nothing sent.
	parts, puts := d.emu.Count("part"), d.emu.Count("object.put")
	d.run(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`body[data-ready="true"]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#folder`), []string{root}),
		waitFor(`document.body.dataset.done === "`+strconv.Itoa(len(want))+`" && document.body.dataset.left === "0"`))
	assert.Equal(t, strconv.Itoa(len(want)), d.attr("body", "data-skipped"), "stored before the reload: skipped")
	assert.Equal(t, parts, d.emu.Count("part"))
	assert.Equal(t, puts, d.emu.Count("object.put"))
}

func (d *demo) attr(sel, name string) string {
	d.t.Helper()
	v, err := chromedp.Run(d.ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	require.NoError(d.t, err)
	return v.Value
}
