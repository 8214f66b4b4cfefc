package smh_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh"
	"github.com/smhupload/smh-upload/smh/emulator"
)

// refuser answers every PUT of one body with a 400 while on, as storage
// does for a request it will never take.
type refuser struct {
	next smh.PartPutter
	body smh.Body
	on   atomic.Bool
}

func (r *refuser) Put(ctx context.Context, req *smh.PutRequest) (*smh.PutResponse, error) {
	if r.on.Load() && req.Body == r.body {
		return &smh.PutResponse{Response: smh.Response{StatusCode: 400,
			Body: []byte("<Error><Code>InvalidArgument</Code><Message>refused</Message></Error>")}}, nil
	}
	return r.next.Put(ctx, req)
}

// Fifty files, small and multipart, through a queue of three part slots:
// one is refused for good and fails alone with its typed error while the
// other 49 are stored; at most three PUTs are ever in flight; the totals add
// up; and RetryFailed then stores the failed one from the parts it kept.
func TestQueueFiftyFilesOneFails(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	ref := &refuser{next: e.put}
	var mu sync.Mutex
	var last smh.QueueProgress
	finished := map[string]int{}
	q, err := smh.NewQueue(e.client, ref, smh.QueueOptions{Concurrency: 3, Files: 8,
		OnProgress: func(p smh.QueueProgress) { mu.Lock(); last = p; mu.Unlock() },
		OnFile: func(f smh.QueueFile) {
			mu.Lock()
			finished[f.State]++
			mu.Unlock()
		}})
	require.NoError(t, err)

	data := map[string][]byte{}
	var total int64
	for i := range 50 {
		size := 16 << 10
		if i%10 == 3 {
			size = 2*MiB + i*1000 // five multipart files
		}
		name := fmt.Sprintf("q/%02d.bin", i)
		data[name] = randomBytes(size, uint64(100+i))
		total += int64(size)
		body := smh.NewReaderAtBody(bytes.NewReader(data[name]), int64(size))
		if i == 23 {
			ref.body = body
			ref.on.Store(true)
		}
		_, err := q.Add(body, smh.Options{Path: name, PartSize: MiB})
		require.NoError(t, err)
	}
	q.Start()
	files, err := q.Wait(context.Background())
	require.NoError(t, err)
	require.Len(t, files, 50)
	for _, f := range files {
		if f.Path == "q/23.bin" {
			require.Equal(t, smh.FileFailed, f.State)
			var se *smh.Error
			require.ErrorAs(t, f.Err, &se)
			assert.Equal(t, 400, se.Status)
			assert.Equal(t, "InvalidArgument", se.Code)
			continue
		}
		require.Equal(t, smh.FileDone, f.State, "%s: %v", f.Path, f.Err)
		e.assertStored(f.Path, data[f.Path])
	}
	assert.LessOrEqual(t, e.emu.Count("put.peak"), 3, "PUTs in flight across the queue")
	p := q.Progress()
	assert.Equal(t, smh.QueueProgress{Loaded: p.Loaded, Total: total, Done: 49, Failed: 1, Left: 0, FilesAdded: 50,
		BytesPerSecond: p.BytesPerSecond, ETA: p.ETA}, p)
	assert.Less(t, p.Loaded, total, "the failed file is not counted as stored")
	mu.Lock()
	assert.Equal(t, 49, finished[smh.FileDone])
	assert.Equal(t, 1, finished[smh.FileFailed])
	assert.Equal(t, 50, finished[smh.FileUploading])
	assert.Equal(t, 49, last.Done)
	mu.Unlock()

	ref.on.Store(false)
	statusBefore := e.emu.Count("status")
	q.RetryFailed()
	files, err = q.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, smh.FileDone, files[23].State, "%v", files[23].Err)
	e.assertStored("q/23.bin", data["q/23.bin"])
	assert.Greater(t, e.emu.Count("status"), statusBefore, "the retry resumed its task: it listed the parts stored")
	p = q.Progress()
	assert.Equal(t, 50, p.Done)
	assert.Equal(t, total, p.Loaded)
}

// Cancel drops the files not started and cancels those under way, deleting
// their server tasks; nothing stays open on the server.
func TestQueueCancel(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	before := func(*smh.PutRequest) { once.Do(func() { close(held); <-release }) }
	e.put.before.Store(&before)
	q, err := smh.NewQueue(e.client, e.put, smh.QueueOptions{Concurrency: 2, Files: 1})
	require.NoError(t, err)
	for i := range 4 {
		_, err := q.Add(smh.NewReaderAtBody(bytes.NewReader(randomBytes(3*MiB, uint64(i))), 3*MiB),
			smh.Options{Path: fmt.Sprintf("cancel-%d.bin", i), PartSize: MiB}) // at the root: one begin each
		require.NoError(t, err)
	}
	q.Start()
	<-held // the first file is under way, the others wait for the file slot
	canceled := make(chan error, 1)
	go func() { canceled <- q.Cancel(context.Background()) }()
	// Once the waiting files are dropped, let the held PUT end: the cancel
	// then deletes the first file's task.
	require.Eventually(t, func() bool { return q.Files()[3].State == smh.FileCanceled }, 10*time.Second, time.Millisecond)
	close(release)
	require.NoError(t, <-canceled)
	files, err := q.Wait(context.Background())
	require.NoError(t, err)
	for _, f := range files {
		assert.Equal(t, smh.FileCanceled, f.State, f.Path)
		assert.ErrorIs(t, f.Err, smh.ErrCanceled, f.Path)
	}
	assert.Equal(t, 1, e.emu.Count("begin.multipart"), "the files not started sent nothing: %v", e.emu.Counts())
	assert.Equal(t, 0, e.emu.OpenUploads(), "the started file's task was deleted")
}

// Pause stops every file under way, keeping their parts; Resume continues
// each from the parts the server lists; all are stored.
func TestQueuePauseResume(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	q, err := smh.NewQueue(e.client, e.put, smh.QueueOptions{Concurrency: 2, Files: 3})
	require.NoError(t, err)
	var puts atomic.Int32
	paused := make(chan struct{})
	after := func(*smh.PutRequest) {
		if puts.Add(1) == 3 {
			q.Pause() // from a PUT's end: the parts in flight are stopped
			close(paused)
		}
	}
	e.put.after.Store(&after)
	data := map[string][]byte{}
	for i := range 3 {
		name := fmt.Sprintf("pause-%d.bin", i)
		data[name] = randomBytes(4*MiB, uint64(40+i))
		_, err := q.Add(smh.NewReaderAtBody(bytes.NewReader(data[name]), 4*MiB), smh.Options{Path: name, PartSize: MiB})
		require.NoError(t, err)
	}
	q.Start()
	<-paused
	p := q.Progress()
	assert.Equal(t, 3, p.Left, "a pause is not an outcome")
	assert.Zero(t, p.Done)
	statusBefore := e.emu.Count("status")
	q.Resume()
	files, err := q.Wait(context.Background())
	require.NoError(t, err)
	for _, f := range files {
		require.Equal(t, smh.FileDone, f.State, "%s: %v", f.Path, f.Err)
		e.assertStored(f.Path, data[f.Path])
	}
	assert.Greater(t, e.emu.Count("status"), statusBefore, "the resumed files listed their stored parts")
	assert.Less(t, e.emu.Count("part"), 12+2+3, "stored parts were not sent again")
}
