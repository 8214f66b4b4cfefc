//go:build js && wasm

package main

import (
	"encoding/json"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh"
)

func TestAPIShape(t *testing.T) {
	assert.Equal(t, js.TypeString, api.Get("version").Type())
	assert.Equal(t, js.TypeFunction, api.Get("upload").Type())
	m := loadedModule(t)
	assert.NotEqual(t, "devel", m.Get("version").String(), "make wasm stamps the version")
	assert.Greater(t, m.Get("memoryBytes").Float(), float64(0))
}

// A 64 MiB File, four parts in flight, and two expiries while parts are in
// flight: once forced, once by the server's clock passing the signature TTL
// (learned by the client from the Date header). Each expiry costs exactly
// one renew for all parts, and the stored file is the source.
func TestUpload64MiBRenewsOncePerExpiry(t *testing.T) {
	e := newEmu(t, emuConfig{SignatureTTL: "10m"})
	e.on(rule{Part: 3, Action: "expire"}, rule{Part: 7, Action: "skew", Skew: "11m"})
	const size = 64 * MiB
	r := start(t, api, generated(size, 1, "big.bin"), e.options(map[string]any{"path": "dir/big.bin", "concurrency": 4}))
	fi := r.done()

	want := expectedCRC(t, size, 1)
	crc, stored := e.storedCRC("dir/big.bin")
	assert.Equal(t, want, crc, "stored bytes are the source")
	assert.Equal(t, int64(size), stored)
	assert.Equal(t, want, fi.CRC64)
	assert.Equal(t, float64(size), fi.Size)
	assert.Equal(t, []string{"dir", "big.bin"}, fi.Path)

	c := e.counts()
	assert.Equal(t, 2, c["renew"], "exactly one renew per expiry")
	assert.GreaterOrEqual(t, c["part.expired"], 2, "both expiries refused parts")
	assert.Len(t, r.eventsOf(smh.EventRenew), 2)
	assert.Equal(t, 0, e.openUploads())
	r.checkProgress(size)
}

// A small file takes one form upload: a begin, the form's POST and the
// confirm, all three CORS simple requests, with no preflight.
func TestSmallFileTakesOneFormUpload(t *testing.T) {
	e := newEmu(t, emuConfig{})
	const size = 200 << 10 // under smh.FormThreshold
	r := start(t, api, generated(size, 2, "small.bin"), e.options(map[string]any{"path": "small.bin"}))
	fi := r.done()
	crc, _ := e.storedCRC("small.bin")
	assert.Equal(t, expectedCRC(t, size, 2), crc)
	assert.Equal(t, crc, fi.CRC64)
	c := e.counts()
	assert.Equal(t, 1, c["begin.form"])
	assert.Equal(t, 1, c["object.post"])
	assert.Equal(t, 1, c["confirm"])
	assert.Zero(t, c["begin.simple"]+c["object.put"]+c["part"])
	assert.Zero(t, c["api.preflight"], "no preflight on the API host")
	assert.Zero(t, c["cos.preflight"], "nor on the storage host")
}

// Without a token to start with, getAccessToken gives the first one; when
// SMH refuses it (while parts are in flight), it is called once more.
func TestAccessTokenFromGetAccessToken(t *testing.T) {
	e := newEmu(t, emuConfig{})
	e.on(rule{Part: 3, Action: "expire-tokens"})
	calls := 0
	getToken := js.FuncOf(func(js.Value, []js.Value) any {
		calls++
		return newPromise(func() (any, error) { return e.newToken(), nil })
	})
	const size = 8 * MiB
	o := e.options(map[string]any{"path": "tok.bin", "partSize": MiB, "concurrency": 2, "getAccessToken": getToken})
	delete(o, "accessToken")
	r := start(t, api, generated(size, 3, "tok.bin"), o)
	fi := r.done()
	getToken.Release()

	assert.Equal(t, 2, calls, "one token to start, one after the refusal")
	assert.Len(t, r.eventsOf(smh.EventToken), 2)
	assert.Equal(t, 2, e.counts()["token.create"])
	crc, _ := e.storedCRC("tok.bin")
	assert.Equal(t, expectedCRC(t, size, 3), crc)
	assert.Equal(t, crc, fi.CRC64)
}

// pause() while part 5 is on the wire keeps parts 1-4; resume() lists them
// and sends only parts 5-12.
func TestPauseThenResume(t *testing.T) {
	e := newEmu(t, emuConfig{})
	e.on(rule{Part: 5, Action: "hold"})
	const size = 12 * MiB
	r := start(t, api, generated(size, 4, "p.bin"), e.options(map[string]any{"path": "p.bin", "partSize": MiB, "concurrency": 1}))
	e.held(5)
	r.task.Call("pause")
	r.waitState(smh.StatePaused)
	key := r.task.Get("confirmKey").String()
	require.NotEmpty(t, key)
	assert.Equal(t, ints(1, 4), e.parts(key))
	e.arrivals()

	r.task.Call("resume")
	fi := r.done()
	assert.Equal(t, ints(5, 12), e.arrivals(), "only the missing parts were sent")
	assert.Equal(t, 1, e.counts()["status"], "resume listed the parts")
	require.NotEmpty(t, r.eventsOf(smh.EventResume))
	assert.Equal(t, 4, r.eventsOf(smh.EventResume)[0].PartsDone)
	crc, _ := e.storedCRC("p.bin")
	assert.Equal(t, expectedCRC(t, size, 4), crc)
	assert.Equal(t, crc, fi.CRC64)
	r.checkProgress(size)
}

func TestCancelLeavesNoTask(t *testing.T) {
	e := newEmu(t, emuConfig{})
	e.on(rule{Part: 3, Action: "hold"})
	f := generated(8*MiB, 5, "c.bin")
	r := start(t, api, f, e.options(map[string]any{"path": "c.bin", "partSize": MiB, "concurrency": 2, "resume": true}))
	e.held(3)
	key := resumeKeyOf(e, f, "c.bin")
	_, saved := localStorageItem(key)
	require.True(t, saved, "resume saved the task")
	_, err := awaitJS(t, r.task.Call("cancel"))
	require.NoError(t, err)

	rej := r.failure()
	assert.True(t, rej.IsError)
	assert.Equal(t, "AbortError", rej.Name)
	assert.Equal(t, smh.CodeCanceled, rej.Code)
	assert.Equal(t, 0, e.openUploads(), "no task left on the server")
	assert.Equal(t, 1, e.counts()["cancel"])
	_, saved = localStorageItem(key)
	assert.False(t, saved, "a cancelled task is forgotten")
	_, err = awaitJS(t, r.task.Call("cancel"))
	assert.NoError(t, err, "cancel again is harmless")
}

func TestAbortSignalCancels(t *testing.T) {
	e := newEmu(t, emuConfig{})
	e.on(rule{Part: 2, Action: "hold"})
	ac := jsGlobal.Get("AbortController").New()
	r := start(t, api, generated(6*MiB, 6, "a.bin"), e.options(map[string]any{"path": "a.bin", "partSize": MiB, "signal": ac.Get("signal")}))
	e.held(2)
	ac.Call("abort")
	rej := r.failure()
	assert.Equal(t, "AbortError", rej.Name)
	assert.Equal(t, smh.CodeCanceled, rej.Code)
	assert.Equal(t, 0, e.openUploads(), "done rejects once the server task is gone")
	assert.Equal(t, 1, e.counts()["cancel"])
}

func TestAbortedSignalSendsNothing(t *testing.T) {
	e := newEmu(t, emuConfig{})
	ac := jsGlobal.Get("AbortController").New()
	ac.Call("abort")
	r := start(t, api, generated(2*MiB, 7, "a.bin"), e.options(map[string]any{"path": "a.bin", "signal": ac.Get("signal")}))
	rej := r.failure()
	assert.Equal(t, "AbortError", rej.Name)
	for op, n := range e.counts() {
		assert.Zero(t, n, op)
	}
}

// A reload: this module uploads with resume and is stopped with parts 1-4
// stored; the built module, loaded afresh through smh-upload.js, uploads
// the same File to the same place and sends only parts 5-12.
func TestReloadResumesFromSavedState(t *testing.T) {
	e := newEmu(t, emuConfig{})
	e.on(rule{Part: 5, Action: "hold"})
	const size = 12 * MiB
	f := generated(size, 8, "r.bin")
	opts := e.options(map[string]any{"path": "r.bin", "partSize": MiB, "concurrency": 1, "resume": true})
	first := start(t, api, f, opts)
	e.held(5)
	first.task.Call("pause") // the tab goes away with part 5 on the wire
	first.waitState(smh.StatePaused)
	key := resumeKeyOf(e, f, "r.bin")
	v, saved := localStorageItem(key)
	require.True(t, saved)
	var rec smh.ResumeRecord
	require.NoError(t, json.Unmarshal([]byte(v), &rec))
	assert.Equal(t, first.task.Get("confirmKey").String(), rec.ConfirmKey)
	assert.Equal(t, int64(MiB), rec.PartSize)
	require.Equal(t, ints(1, 4), e.parts(rec.ConfirmKey))
	e.arrivals()

	second := start(t, loadedModule(t), f, opts)
	fi := second.done()
	assert.Equal(t, ints(5, 12), e.arrivals(), "only the missing parts were sent")
	assert.Equal(t, 1, e.counts()["begin.multipart"], "the saved task was continued")
	require.NotEmpty(t, second.eventsOf(smh.EventResume))
	assert.Equal(t, 4, second.eventsOf(smh.EventResume)[0].PartsDone)
	crc, _ := e.storedCRC("r.bin")
	assert.Equal(t, expectedCRC(t, size, 8), crc)
	assert.Equal(t, crc, fi.CRC64)
	_, saved = localStorageItem(key)
	assert.False(t, saved, "a finished task is forgotten")
}

func resumeKeyOf(e *emu, f js.Value, path string) string {
	return smh.ResumeKey(smh.FileID{Name: f.Get("name").String(), Size: int64(f.Get("size").Float()),
		LastModified: int64(f.Get("lastModified").Float()), Endpoint: e.Endpoint, LibraryID: e.LibraryID, Path: path})
}

func TestHiddenStorageHeadersFailFast(t *testing.T) {
	e := newEmu(t, emuConfig{})
	control(t, "POST", e.path("expose?on=false"), nil, nil)
	r := start(t, api, generated(3*MiB, 9, "h.bin"), e.options(map[string]any{"path": "h.bin", "partSize": MiB, "concurrency": 1}))
	rej := r.failure()
	assert.True(t, rej.IsError)
	assert.Equal(t, "SMHError", rej.Name)
	assert.Equal(t, smh.CodeCORSHeadersNotExposed, rej.Code)
	assert.Contains(t, rej.Message, "CORS")
	assert.Contains(t, rej.Message, "x-cos-hash-crc64ecma")
	assert.False(t, rej.Retryable)
	assert.NotEmpty(t, rej.ConfirmKey)
	assert.Equal(t, 1, e.counts()["part"], "no retry")
	_, err := awaitJS(t, r.task.Call("cancel"))
	require.NoError(t, err)
	assert.Equal(t, 0, e.openUploads(), "cancel after a failure deletes the task")
}

func TestBadArgumentsFailBeforeAnyRequest(t *testing.T) {
	e := newEmu(t, emuConfig{})
	file := generated(2*MiB, 10, "x.bin")
	without := func(k string) map[string]any {
		o := e.options(map[string]any{"path": "x.bin"})
		delete(o, k)
		return o
	}
	with := func(k string, v any) map[string]any { return e.options(map[string]any{"path": "x.bin", k: v}) }
	for _, tc := range []struct {
		name       string
		file, opts any
		errName    string
		code       string
	}{
		{"file is a string", "x.bin", with("path", "x.bin"), "TypeError", smh.CodeInvalidInput},
		{"file is a plain object", map[string]any{"size": 5}, with("path", "x.bin"), "TypeError", smh.CodeInvalidInput},
		{"no options", file, nil, "TypeError", smh.CodeInvalidInput},
		{"no path", file, without("path"), "SMHError", smh.CodeEmptyPath},
		{"bad path", file, with("path", "a/../b"), "SMHError", smh.CodeIllegalPath},
		{"no library", file, without("libraryId"), "SMHError", smh.CodeInvalidInput},
		{"no endpoint", file, without("endpoint"), "SMHError", smh.CodeInvalidInput},
		{"no token", file, without("accessToken"), "SMHError", smh.CodeInvalidInput},
		{"negative partSize", file, with("partSize", -1), "SMHError", smh.CodeInvalidPartSize},
		{"small partSize", file, with("partSize", 1000), "SMHError", smh.CodeInvalidPartSize},
		{"fractional partSize", file, with("partSize", MiB+0.5), "TypeError", smh.CodeInvalidInput},
		{"partSize a string", file, with("partSize", "8MiB"), "TypeError", smh.CodeInvalidInput},
		{"negative concurrency", file, with("concurrency", -2), "SMHError", smh.CodeInvalidConcurrency},
		{"unknown conflict", file, with("conflict", "maybe"), "SMHError", smh.CodeInvalidInput},
		{"onProgress not a function", file, with("onProgress", 5), "TypeError", smh.CodeInvalidInput},
		{"signal not a signal", file, with("signal", "stop"), "TypeError", smh.CodeInvalidInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := api.Call("upload", js.ValueOf(tc.file), js.ValueOf(tc.opts))
			_, err := awaitJS(t, task.Get("done"))
			require.Error(t, err)
			rej := decodeRejection(t, err)
			assert.True(t, rej.IsError, "a real Error")
			assert.Equal(t, tc.errName, rej.Name, rej.Message)
			assert.Equal(t, tc.code, rej.Code, rej.Message)
			task.Call("pause") // harmless
			_, err = awaitJS(t, task.Call("cancel"))
			assert.NoError(t, err)
		})
	}
	for op, n := range e.counts() {
		assert.Zero(t, n, "%s: no request for bad arguments", op)
	}
}

// The built module's WebAssembly memory stays flat while a 1 GiB File goes
// through it: parts are sent from Blob slices and hashed a small buffer at
// a time, so Go memory never holds a part. A 16 MiB upload first warms the
// module up (its first allocations of pools and runtime structures).
func TestMemoryStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("large upload")
	}
	e := newEmu(t, emuConfig{})
	m := loadedModule(t)
	mem := func() float64 { return m.Get("memoryBytes").Float() }
	loaded := mem()
	start(t, m, generated(16*MiB, 13, "w.bin"), e.options(map[string]any{"path": "w.bin"})).done()
	before := mem()

	const size = 1024 * MiB
	r := start(t, m, generated(size, 11, "m.bin"), e.options(map[string]any{"path": "m.bin", "concurrency": 4}))
	fi := r.done()
	after := mem()
	t.Logf("WebAssembly memory of the module: %.1f MiB loaded, %.1f MiB after a 16 MiB warm-up, %.1f MiB after %d MiB more: growth %.2f MiB",
		loaded/MiB, before/MiB, after/MiB, size/MiB, (after-before)/MiB)
	assert.LessOrEqual(t, after-before, float64(6*MiB), "memory must stay flat")
	crc, _ := e.storedCRC("m.bin")
	assert.Equal(t, expectedCRC(t, size, 11), crc)
	assert.Equal(t, crc, fi.CRC64)
	assert.Equal(t, float64(size), fi.Size)
}

// instantUpload: a file the library already holds is created from its
// hashes, with no part sent and no confirm; createParents: false leaves a
// missing folder an error.
func TestInstantUploadAndCreateParents(t *testing.T) {
	e := newEmu(t, emuConfig{})
	const size = 3*MiB + 5
	start(t, api, generated(size, 3, "a.bin"), e.options(map[string]any{"path": "a.bin"})).done()
	before := e.counts()

	r := start(t, api, generated(size, 3, "b.bin"), e.options(map[string]any{"path": "copies/b.bin", "instantUpload": true}))
	fi := r.done()
	assert.Equal(t, []string{"copies", "b.bin"}, fi.Path)
	c := e.counts()
	assert.Equal(t, before["part"], c["part"], "no part sent")
	assert.Equal(t, before["confirm"], c["confirm"], "no confirm")
	assert.Len(t, r.eventsOf("instant"), 1)
	crc, _ := e.storedCRC("copies/b.bin")
	assert.Equal(t, expectedCRC(t, size, 3), crc)

	f := start(t, api, generated(size, 4, "c.bin"), e.options(map[string]any{"path": "missing/c.bin", "createParents": false})).failure()
	assert.Equal(t, "DirectoryNotFound", f.Code)
}
