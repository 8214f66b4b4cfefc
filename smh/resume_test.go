package smh_test

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh"
	"github.com/smhupload/smh-upload/smh/emulator"
	"github.com/smhupload/smh-upload/smh/nethttp"
)

// resumeEnv is an emulator with a real clock and a client factory: each
// newClient is a fresh process, as after a page reload.
type resumeEnv struct {
	t   *testing.T
	emu *emulator.Server
}

const resumeToken = "resume-test-token"

func newResumeEnv(t *testing.T) *resumeEnv {
	emu, err := emulator.Start(emulator.Config{AccessToken: resumeToken})
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	return &resumeEnv{t: t, emu: emu}
}

func (e *resumeEnv) newClient(cc smh.ClientConfig) *smh.Client {
	cc.Endpoint, cc.LibraryID = e.emu.Endpoint, e.emu.LibraryID()
	if cc.AccessToken == "" && cc.RefreshToken == nil {
		cc.AccessToken = resumeToken
	}
	c, err := smh.NewClient(cc, nethttp.New())
	require.NoError(e.t, err)
	return c
}

func (e *resumeEnv) task(c *smh.Client, data []byte, o smh.Options, store smh.ResumeStore, key string) *smh.ResumableTask {
	o.Retry.Jitter = func() float64 { return 0 }
	rt, err := smh.NewResumableTask(c, nethttp.New(), smh.NewReaderAtBody(bytes.NewReader(data), int64(len(data))), o, store, key)
	require.NoError(e.t, err)
	return rt
}

// partLog records the part numbers the emulator receives.
type partLog struct {
	mu    sync.Mutex
	parts []int
}

func (l *partLog) add(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.parts = append(l.parts, n)
}

func (l *partLog) take() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.parts
	l.parts = nil
	return p
}

func resumeData(n int) []byte {
	b := make([]byte, n)
	x := uint32(7)
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

func TestResumeKeyIdentifiesFileAndTarget(t *testing.T) {
	id := smh.FileID{Name: "a.bin", Size: 10, LastModified: 1700000000000, Endpoint: "https://x", LibraryID: "lib", Path: "dir/a.bin"}
	k := smh.ResumeKey(id)
	assert.Regexp(t, `^smh-upload:resume:[0-9a-f]{32}$`, k)
	same := id
	same.Path, same.SpaceID = "/dir/a.bin/", "-"
	assert.Equal(t, k, smh.ResumeKey(same), "the path is cleaned and the space defaults to -")
	for name, change := range map[string]func(*smh.FileID){
		"name":     func(f *smh.FileID) { f.Name = "b.bin" },
		"size":     func(f *smh.FileID) { f.Size = 11 },
		"modified": func(f *smh.FileID) { f.LastModified++ },
		"endpoint": func(f *smh.FileID) { f.Endpoint = "https://y" },
		"library":  func(f *smh.FileID) { f.LibraryID = "lib2" },
		"space":    func(f *smh.FileID) { f.SpaceID = "s1" },
		"user":     func(f *smh.FileID) { f.UserID = "u" },
		"path":     func(f *smh.FileID) { f.Path = "dir/b.bin" },
		"boundary": func(f *smh.FileID) { f.Name, f.Endpoint = "a.bin10", "" },
	} {
		other := id
		change(&other)
		assert.NotEqual(t, k, smh.ResumeKey(other), name)
	}
}

func TestResumableTaskContinuesAfterRestart(t *testing.T) {
	e := newResumeEnv(t)
	data := resumeData(10*MiB + 3)
	store := &smh.MemoryResumeStore{}
	key := smh.ResumeKey(smh.FileID{Name: "a.bin", Size: int64(len(data)), Endpoint: e.emu.Endpoint, Path: "a.bin"})
	log := &partLog{}

	// First process: paused when part 5 arrives, with parts 1-4 stored.
	// Part 5's first request is held until the test ends, so that bytes the
	// client sent before it gave up cannot be stored behind its back.
	var job *smh.Job
	var first5 atomic.Bool
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	e.emu.OnPart(func(p emulator.PartInfo) {
		log.add(p.PartNumber)
		if p.PartNumber == 5 && first5.CompareAndSwap(false, true) {
			job.Pause()
			<-release
		}
	})
	first := e.task(e.newClient(smh.ClientConfig{}), data, smh.Options{Path: "a.bin", PartSize: MiB, Concurrency: 1}, store, key)
	require.False(t, first.Resumed())
	states := make(chan string, 16)
	job = smh.NewJob(pausedNotifier{first, states})
	job.Start()
	require.Equal(t, "paused", <-states)
	ck := first.ConfirmKey()
	require.NotEmpty(t, ck)
	require.Equal(t, []int{1, 2, 3, 4}, e.emu.UploadedParts(ck))
	v, ok := store.Get(key)
	require.True(t, ok, "the task was saved")
	var rec smh.ResumeRecord
	require.NoError(t, json.Unmarshal([]byte(v), &rec))
	assert.Equal(t, ck, rec.ConfirmKey)
	assert.Equal(t, int64(MiB), rec.PartSize)
	log.take()

	// Second process, with another part size option: the record decides.
	var resumed atomic.Int32
	second := e.task(e.newClient(smh.ClientConfig{}), data, smh.Options{Path: "a.bin", PartSize: 4 * MiB, OnEvent: func(ev smh.Event) {
		if ev.Type == smh.EventResume {
			resumed.Store(int32(ev.PartsDone))
		}
	}}, store, key)
	require.True(t, second.Resumed())
	fi, err := second.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int32(4), resumed.Load())
	assert.ElementsMatch(t, []int{5, 6, 7, 8, 9, 10, 11}, log.take(), "only the missing parts were sent")
	assert.Equal(t, 1, e.emu.Count("begin.multipart"))
	assert.Equal(t, int64(len(data)), fi.SizeBytes())
	got, err := e.emu.ReadFile("-", "a.bin")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got))
	assert.Equal(t, 0, store.Len(), "a finished upload removes its record")
	assert.Equal(t, 0, e.emu.OpenUploads())
}

// pausedNotifier reports the end of each run of a Runner.
type pausedNotifier struct {
	smh.Runner
	states chan<- string
}

func (p pausedNotifier) Run(ctx context.Context) (*smh.FileInfo, error) {
	fi, err := p.Runner.Run(ctx)
	switch {
	case err == nil:
		p.states <- "done"
	case smh.ConfirmKeyOf(err) != "" && ctx.Err() != nil && context.Cause(ctx) == smh.ErrPaused:
		p.states <- "paused"
	default:
		p.states <- "failed: " + err.Error()
	}
	return fi, err
}

func TestResumableTaskBeginsAnewWhenRecordIsStale(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stale func(e *resumeEnv, c *smh.Client) string
	}{
		{"unknown key", func(*resumeEnv, *smh.Client) string { return "0123456789abcdef0123456789abcdef" }},
		{"cancelled elsewhere", func(e *resumeEnv, c *smh.Client) string {
			res, err := c.BeginMultipart(context.Background(), smh.BeginOptions{Path: "a.bin", Size: 3 * MiB})
			require.NoError(t, err)
			require.NoError(t, c.CancelUpload(context.Background(), res.Upload.ConfirmKey))
			return res.Upload.ConfirmKey
		}},
		{"already confirmed", func(e *resumeEnv, c *smh.Client) string {
			rt := e.task(c, resumeData(2*MiB), smh.Options{Path: "old.bin", PartSize: MiB}, nil, "")
			_, err := rt.Run(context.Background())
			require.NoError(t, err)
			return rt.ConfirmKey()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newResumeEnv(t)
			c := e.newClient(smh.ClientConfig{})
			data := resumeData(3 * MiB)
			store := &smh.MemoryResumeStore{}
			stale := tc.stale(e, c)
			b, _ := json.Marshal(smh.ResumeRecord{ConfirmKey: stale, PartSize: MiB, Size: int64(len(data)), Path: "a.bin"})
			require.NoError(t, store.Set("k", string(b)))
			begins := e.emu.Count("begin.multipart")

			rt := e.task(c, data, smh.Options{Path: "a.bin", PartSize: MiB}, store, "k")
			require.True(t, rt.Resumed())
			fi, err := rt.Run(context.Background())
			require.NoError(t, err)
			assert.Equal(t, begins+1, e.emu.Count("begin.multipart"), "one new task")
			assert.NotEqual(t, stale, rt.ConfirmKey())
			assert.Equal(t, []string{"a.bin"}, fi.Path)
			assert.Equal(t, 0, store.Len())
			assert.Equal(t, 0, e.emu.OpenUploads())
		})
	}
}

// The page was closed while its confirm was on the way: SMH created the
// file, the record stayed. The next visit finds the file by its CRC-64 and
// uploads nothing; with conflict rename, beginning anew would make a copy.
func TestResumableTaskFindsFileConfirmedBeforeRestart(t *testing.T) {
	e := newResumeEnv(t)
	c := e.newClient(smh.ClientConfig{})
	data := resumeData(3 * MiB)
	store := &smh.MemoryResumeStore{}
	first := e.task(c, data, smh.Options{Path: "a.bin", PartSize: MiB, Conflict: smh.ConflictRename}, store, "k")
	_, err := first.Run(context.Background())
	require.NoError(t, err)
	b, _ := json.Marshal(smh.ResumeRecord{ConfirmKey: first.ConfirmKey(), PartSize: MiB, Size: int64(len(data)), Path: "a.bin"})
	require.NoError(t, store.Set("k", string(b)), "the record as the closed page left it")
	begins, parts := e.emu.Count("begin.multipart"), e.emu.Count("part")

	rt := e.task(e.newClient(smh.ClientConfig{}), data, smh.Options{Path: "a.bin", PartSize: MiB, Conflict: smh.ConflictRename}, store, "k")
	require.True(t, rt.Resumed())
	fi, err := rt.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"a.bin"}, fi.Path)
	assert.Equal(t, begins, e.emu.Count("begin.multipart"), "no new task")
	assert.Equal(t, parts, e.emu.Count("part"), "no part sent")
	assert.Equal(t, 0, store.Len())
	_, err = c.HeadFile(context.Background(), "a (1).bin")
	assert.Error(t, err, "no second copy")
}

func TestResumableTaskIgnoresRecordsThatDoNotFit(t *testing.T) {
	e := newResumeEnv(t)
	c := e.newClient(smh.ClientConfig{})
	data := resumeData(3 * MiB)
	for name, v := range map[string]string{
		"garbage":    "{",
		"other size": `{"confirmKey":"0123456789abcdef0123456789abcdef","partSize":1048576,"size":5,"path":"a.bin"}`,
		"other path": `{"confirmKey":"0123456789abcdef0123456789abcdef","partSize":1048576,"size":3145728,"path":"b.bin"}`,
		"bad size":   `{"confirmKey":"0123456789abcdef0123456789abcdef","partSize":-1,"size":3145728,"path":"a.bin"}`,
	} {
		store := &smh.MemoryResumeStore{}
		require.NoError(t, store.Set("k", v))
		rt := e.task(c, data, smh.Options{Path: "a.bin"}, store, "k")
		assert.False(t, rt.Resumed(), name)
		assert.Equal(t, 0, store.Len(), "%s: a record that does not fit is dropped", name)
	}
	assert.Equal(t, 0, e.emu.Count("status"), "nothing was asked of the server")
}

func TestJobCancelDeletesTaskAndRecord(t *testing.T) {
	e := newResumeEnv(t)
	store := &smh.MemoryResumeStore{}
	reached := make(chan struct{})
	var once sync.Once
	e.emu.OnPart(func(p emulator.PartInfo) {
		if p.PartNumber == 3 {
			once.Do(func() { close(reached) })
		}
	})
	rt := e.task(e.newClient(smh.ClientConfig{}), resumeData(8*MiB), smh.Options{Path: "a.bin", PartSize: MiB, Concurrency: 2}, store, "k")
	job := smh.NewJob(rt)
	job.Start()
	<-reached
	require.Equal(t, 1, store.Len())
	require.NoError(t, job.Cancel(context.Background()))
	_, err := job.Result()
	assert.ErrorIs(t, err, smh.ErrCanceled)
	assert.Equal(t, 0, e.emu.OpenUploads())
	assert.Equal(t, 0, store.Len())
	job.Resume()
	_, err = job.Result()
	assert.ErrorIs(t, err, smh.ErrCanceled, "a cancelled job stays cancelled")
}

func TestJobCancelBeforeStartSendsNothing(t *testing.T) {
	e := newResumeEnv(t)
	rt := e.task(e.newClient(smh.ClientConfig{}), resumeData(3*MiB), smh.Options{Path: "a.bin"}, nil, "")
	job := smh.NewJob(rt)
	require.NoError(t, job.Cancel(context.Background()))
	job.Start()
	_, err := job.Result()
	assert.ErrorIs(t, err, smh.ErrCanceled)
	for _, op := range []string{"begin.multipart", "begin.simple", "part", "cancel"} {
		assert.Zero(t, e.emu.Count(op), op)
	}
}

func TestJobPauseAndResume(t *testing.T) {
	e := newResumeEnv(t)
	data := resumeData(6 * MiB)
	var job *smh.Job
	var once sync.Once
	e.emu.OnPart(func(p emulator.PartInfo) {
		if p.PartNumber == 3 {
			// Pause, then Resume before the paused run has ended: the
			// job runs again by itself.
			once.Do(func() { job.Pause(); job.Pause(); job.Resume() })
		}
	})
	rt := e.task(e.newClient(smh.ClientConfig{}), data, smh.Options{Path: "a.bin", PartSize: MiB, Concurrency: 1}, nil, "")
	job = smh.NewJob(rt)
	job.Start()
	job.Start() // already running: no second run
	fi, err := job.Result()
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), fi.SizeBytes())
	assert.Equal(t, 1, e.emu.Count("status"), "the second run listed the parts")
	assert.Equal(t, 1, e.emu.Count("confirm"))
}

func TestFirstAccessTokenComesFromRefresher(t *testing.T) {
	e := newResumeEnv(t)
	var calls atomic.Int32
	c := e.newClient(smh.ClientConfig{RefreshToken: func(context.Context) (string, error) {
		calls.Add(1)
		return resumeToken, nil
	}})
	rt := e.task(c, resumeData(2*MiB), smh.Options{Path: "a.bin"}, nil, "")
	_, err := rt.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int32(1), calls.Load())
}
