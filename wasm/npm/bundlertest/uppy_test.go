//go:build !js

package bundlertest

import (
	"fmt"
	"hash/crc64"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// uppyApp is a Vite production build of uppy/, the Dashboard with
// smh-upload/uppy, from the packed tarball; Uppy comes from this folder's
// pinned node_modules.
func uppyApp(t *testing.T, tarball string) string {
	dir := newApp(t, tarball, "uppy/index.html", "uppy/main.js")
	linkUppy(t, dir)
	run(t, dir, tool("vite"), "build", "--logLevel", "warn")
	return filepath.Join(dir, "dist")
}

// linkUppy gives the app in dir this folder's pinned @uppy packages.
func linkUppy(t *testing.T, dir string) {
	t.Helper()
	uppy, err := filepath.Abs(filepath.Join("node_modules", "@uppy"))
	require.NoError(t, err)
	require.NoError(t, os.Symlink(uppy, filepath.Join(dir, "node_modules", "@uppy")))
}

// Three files through Uppy's Dashboard: one meets 503s until it fails
// (upload-error with the typed error) and the Dashboard's retry stores it,
// sending only what the server lacks; one is paused and resumed; all three
// are stored with the source's bytes, and upload-success reports their path
// and CRC-64.
func TestUppyDashboard(t *testing.T) {
	tarball, chromium := need(t)
	s := serve(t, uppyApp(t, tarball), chromium, "")
	files := map[string][]byte{}
	// click presses a Dashboard button once it is shown, by the DOM rather than the mouse: a mouse
	// click lands at the button's coordinates when they are read, which Preact's re-renders of a
	// Dashboard that has just taken files can move, and a click that missed would leave the test
	// waiting for an upload that never started.
	click := func(css string) {
		t.Helper()
		s.do(chromedp.WaitVisible(chromedp.CSS(css)))
		s.eval(fmt.Sprintf(`document.querySelector(%q).click(), "clicked"`, css))
	}
	// pick adds files in the Dashboard and starts them with its upload
	// button, or, for a later batch (the Dashboard then shows the first
	// batch's outcome, without its file input), through the page's own
	// input and uppy.upload().
	pick := func(button bool, names ...string) {
		var paths []string
		for _, n := range names {
			size := map[string]int{"failing.bin": 3 << 20, "small.bin": 2<<20 + 1, "paused.bin": 24 << 20}[n]
			path := filepath.Join(t.TempDir(), n)
			files[n] = randomFile(t, path, size)
			paths = append(paths, path)
		}
		if button {
			s.do(chromedp.SetUploadFiles(chromedp.CSS(`input.uppy-Dashboard-input[name="files[]"]`), paths))
			click(`.uppy-StatusBar-actionBtn--upload`)
		} else {
			s.do(chromedp.SetUploadFiles(chromedp.CSS(`#more`), paths))
			s.eval(`uppy.upload(), "started"`)
		}
	}
	event := func(name, file string) string {
		return fmt.Sprintf(`events.some((e) => e.name === %q && e.file === %q)`, name, file)
	}
	// poll waits for expr; when it does not come, the failure says what the page's Uppy saw and what
	// reached the emulator, so that a hang that does not reproduce can still be read.
	poll := func(expr string) {
		t.Helper()
		err := chromedp.Do(s.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(90*time.Second)))
		if err == nil {
			return
		}
		seen, jsErr := chromedp.Run(s.ctx, chromedp.Evaluate[string](`JSON.stringify(events)`))
		if jsErr != nil {
			seen = "(the page: " + jsErr.Error() + ")"
		}
		require.NoError(t, err, "waiting for %s\nUppy's events: %s\nthe emulator's counts: %v", expr, seen, s.emu.Counts())
	}

	// Every part PUT fails with 503 until the fault is lifted: the module
	// retries each part its five times, then the file fails.
	s.emu.FailParts(1000, 503, "ServiceUnavailable", 0)
	pick(true, "failing.bin")
	poll(event("upload-error", "failing.bin"))
	assert.Equal(t, `{"code":"ServiceUnavailable","errorName":"SMHError","retryable":true}`,
		s.eval(`JSON.stringify((({ code, errorName, retryable }) => ({ code, errorName, retryable }))(events.find((e) => e.name === "upload-error")))`))
	s.emu.FailParts(0, 0, "", 0)
	click(`.uppy-StatusBar-actionBtn--retry`)
	poll(event("upload-success", "failing.bin"))

	// Slow enough to pause a 24-part file a little way in.
	s.emu.SetLatency(100 * time.Millisecond)
	pick(false, "small.bin", "paused.bin")
	poll(`events.some((e) => e.name === "upload-progress" && e.file === "paused.bin" && e.bytesUploaded >= 4 << 20)`)
	s.eval(`String(uppy.pauseResume(uppy.getFiles().find((f) => f.name === "paused.bin").id))`)
	poll(`events.some((e) => e.name === "upload-pause" && e.file === "paused.bin" && e.paused === true)`)
	before := s.emu.Count("status")
	s.eval(`String(uppy.pauseResume(uppy.getFiles().find((f) => f.name === "paused.bin").id))`)
	poll(event("upload-success", "paused.bin") + " && " + event("upload-success", "small.bin"))
	assert.Greater(t, s.emu.Count("status"), before, "the resume listed the parts already stored")

	for name, data := range files {
		got := s.eval(fmt.Sprintf(`JSON.stringify(events.find((e) => e.name === "upload-success" && e.file === %q))`, name))
		want := fmt.Sprintf(`{"name":"upload-success","file":%q,"path":"uppy/%s","crc64":%q,"uploadURL":"uppy/%s"}`,
			name, name, strconv.FormatUint(crc64.Checksum(data, crc64.MakeTable(crc64.ECMA)), 10), name)
		assert.JSONEq(t, want, got, name)
		s.assertStored("uppy/"+name, data)
	}
	assert.Equal(t, "3", s.eval(`String(uppy.getFiles().filter((f) => f.progress.uploadComplete).length)`), "Uppy counts three files done")
	assert.Equal(t, 2, s.emu.Count("put.peak"), "the files shared the plugin's two part slots (concurrency: 2)")
}
