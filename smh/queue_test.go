package smh_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
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
// other 49 are stored; at most three parts and four small files' PUTs are
// ever in flight; the totals add
// up; and RetryFailed then stores the failed one from the parts it kept.
func TestQueueFiftyFilesOneFails(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	ref := &refuser{next: e.put}
	var mu sync.Mutex
	var last smh.QueueProgress
	finished := map[string]int{}
	q, err := smh.NewQueue(e.client, ref, smh.QueueOptions{Concurrency: 3, Files: 8, SmallFiles: 4,
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
	assert.LessOrEqual(t, e.emu.Count("part.peak"), 3, "parts in flight across the queue")
	assert.LessOrEqual(t, e.emu.Count("object.peak"), 4, "small files' PUTs in flight")
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

// plainStore hides MemoryResumeStore's Keys: a store that cannot list.
type plainStore struct{ s *smh.MemoryResumeStore }

func (p plainStore) Get(k string) (string, bool) { return p.s.Get(k) }
func (p plainStore) Set(k, v string) error       { return p.s.Set(k, v) }
func (p plainStore) Delete(k string)             { p.s.Delete(k) }

// A reload mid-queue: queue A stores three of five files and is cut off in
// the middle of the fourth (a multipart one: parts 1-3 stored, part 4 never
// arrives), as when the page goes away; queue B, a new page offered the
// same five files with the same store, skips the three with no request,
// sends only the fourth's missing parts, and stores the fifth. Once the
// records are older than the TTL they are neither honoured nor kept.
func TestQueueResumesAfterReload(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	store := &smh.MemoryResumeStore{}
	// The fifth is multipart too: a small file would not wait for the
	// fourth, having a lane of its own.
	sizes := []int{16 << 10, 2*MiB + 3, 5000, 6 * MiB, MiB + 5}
	data := make([][]byte, len(sizes))
	for i, n := range sizes {
		data[i] = randomBytes(n, uint64(200+i))
	}
	name := func(i int) string { return fmt.Sprintf("reload/%d.bin", i) }
	offer := func(q *smh.Queue, o smh.Options) []smh.Body {
		var bodies []smh.Body
		for i, d := range data {
			o.Path, o.PartSize = name(i), MiB
			body := smh.NewReaderAtBody(bytes.NewReader(d), int64(len(d)))
			bodies = append(bodies, body)
			_, err := q.AddFile(body, o, &smh.FileID{Name: fmt.Sprintf("%d.bin", i), LastModified: 1700000000000 + int64(i)})
			require.NoError(t, err)
		}
		return bodies
	}

	// Queue A, one part at a time: when part 4 of the 6 MiB file arrives
	// the page "goes away" (its requests are aborted, its records stay) and
	// that part is held until the test ends, so it is never stored.
	qa, err := smh.NewQueue(e.client, e.put, smh.QueueOptions{Concurrency: 1, Files: 1, Store: store})
	require.NoError(t, err)
	var cut atomic.Bool
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	e.emu.OnPart(func(p emulator.PartInfo) {
		if p.PartNumber == 4 && cut.CompareAndSwap(false, true) { // only the 6 MiB file has a part 4
			qa.Pause()
			<-release
		}
	})
	stopped := make(chan struct{})
	offer(qa, smh.Options{OnEvent: func(ev smh.Event) {
		if ev.Type == smh.EventState && ev.State == smh.StatePaused {
			close(stopped)
		}
	}})
	qa.Start()
	<-stopped
	files := qa.Files()
	for i := range 3 {
		require.Equal(t, smh.FileDone, files[i].State, "%s: %v", files[i].Path, files[i].Err)
	}
	require.Equal(t, smh.FileUploading, files[3].State, "paused, not an outcome")
	require.Equal(t, smh.FilePending, files[4].State)
	require.Equal(t, 4, store.Len(), "three done records and the multipart one")

	// Queue B: a new page, the same files and store.
	e.emu.ResetCounts()
	var mu sync.Mutex
	var skippedEvents []int
	var resumedParts int
	var put []smh.Body
	before := func(r *smh.PutRequest) { mu.Lock(); put = append(put, r.Body); mu.Unlock() }
	e.put.before.Store(&before)
	qb, err := smh.NewQueue(e.client, e.put, smh.QueueOptions{Concurrency: 2, Store: store, OnFile: func(f smh.QueueFile) {
		if f.State == smh.FileSkipped {
			mu.Lock()
			skippedEvents = append(skippedEvents, f.Index)
			mu.Unlock()
		}
	}})
	require.NoError(t, err)
	bodies := offer(qb, smh.Options{OnEvent: func(ev smh.Event) {
		if ev.Type == smh.EventResume {
			mu.Lock()
			resumedParts = ev.PartsDone
			mu.Unlock()
		}
	}})
	assert.Equal(t, []int{0, 1, 2}, skippedEvents, "skipped as they were added")
	p := qb.Progress()
	assert.Equal(t, 3, p.Skipped)
	assert.Equal(t, 3, p.Done, "skipped files count as done")
	assert.Equal(t, 2, p.Left)
	assert.Equal(t, int64(len(data[0])+len(data[1])+len(data[2])), p.Loaded, "their bytes are loaded")
	qb.Start()
	files, err = qb.Wait(context.Background())
	require.NoError(t, err)
	for i, f := range files {
		want := smh.FileDone
		if i < 3 {
			want = smh.FileSkipped
			require.NotNil(t, f.Info, "a skipped file reports what was stored")
			assert.Equal(t, []string{"reload", fmt.Sprintf("%d.bin", i)}, f.Info.Path)
		}
		require.Equal(t, want, f.State, "%s: %v", f.Path, f.Err)
		e.assertStored(f.Path, data[i])
	}
	assert.Equal(t, 3, resumedParts, "the cut-off file kept its three parts")
	assert.Equal(t, 3+2, e.emu.Count("part"), "only parts 4-6 were sent, and the fifth file's two")
	counts := e.emu.Counts()
	for _, peak := range []string{"put.peak", "part.peak", "object.peak"} {
		delete(counts, peak) // not requests (and queue A's held part is still in flight)
	}
	delete(counts, "confirm.crc64") // confirms that carried a CRC, counted in confirm
	assert.Equal(t, map[string]int{"status": 1, "part": 3 + 2, "begin.multipart": 1, "confirm": 2}, counts,
		"no request for the skipped files, no new task for the resumed one")
	mu.Lock()
	for _, b := range put {
		for i := range 3 {
			assert.NotSame(t, bodies[i], b, "file %d was sent", i)
		}
	}
	mu.Unlock()
	p = qb.Progress()
	assert.Equal(t, smh.QueueProgress{Loaded: p.Total, Total: p.Total, Done: 5, Skipped: 3, FilesAdded: 5,
		BytesPerSecond: p.BytesPerSecond, ETA: p.ETA}, p)
	assert.Equal(t, 5, store.Len(), "five done records")
	assert.Equal(t, 0, e.emu.OpenUploads())

	// A week later: a store that cannot list drops an expired record when
	// its file is offered, and the file is queued again; a queue made with
	// a listing store deletes every expired record at once.
	e.clk.Advance(smh.DefaultResumeTTL + time.Minute)
	qc, err := smh.NewQueue(e.client, e.put, smh.QueueOptions{Store: plainStore{store}})
	require.NoError(t, err)
	require.Equal(t, 5, store.Len(), "nothing listed, nothing swept")
	_, err = qc.AddFile(smh.NewReaderAtBody(bytes.NewReader(data[0]), int64(len(data[0]))), smh.Options{Path: name(0)},
		&smh.FileID{Name: "0.bin", LastModified: 1700000000000})
	require.NoError(t, err)
	assert.Equal(t, smh.FilePending, qc.Files()[0].State, "an expired record is not honoured")
	assert.Equal(t, 4, store.Len(), "and is deleted")
	_, err = smh.NewQueue(e.client, e.put, smh.QueueOptions{Store: store})
	require.NoError(t, err)
	assert.Equal(t, 0, store.Len(), "swept")
}

// Cancel drops every record of the queue: the done record of a file it
// stored, and the stopped multipart file's, whose task is deleted.
func TestQueueCancelDropsRecords(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	store := &smh.MemoryResumeStore{}
	require.NoError(t, store.Set("other", "kept")) // not the queue's
	q, err := smh.NewQueue(e.client, e.put, smh.QueueOptions{Concurrency: 1, Files: 1, Store: store})
	require.NoError(t, err)
	held := make(chan struct{})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var once sync.Once
	e.emu.OnPart(func(p emulator.PartInfo) {
		if p.PartNumber == 2 {
			once.Do(func() { close(held); <-release })
		}
	})
	for i, n := range []int{1000, 3 * MiB, MiB + 2000} { // the third waits for the multipart lane
		_, err := q.AddFile(smh.NewReaderAtBody(bytes.NewReader(randomBytes(n, uint64(i))), int64(n)),
			smh.Options{Path: fmt.Sprintf("c/%d.bin", i), PartSize: MiB}, &smh.FileID{Name: fmt.Sprint(i)})
		require.NoError(t, err)
	}
	q.Start()
	<-held
	require.Equal(t, 3, store.Len(), "a done record and the multipart one")
	require.NoError(t, q.Cancel(context.Background()))
	files, err := q.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{smh.FileDone, smh.FileCanceled, smh.FileCanceled},
		[]string{files[0].State, files[1].State, files[2].State})
	assert.Equal(t, 1, store.Len(), "only the record that is not the queue's is left")
	assert.Equal(t, 0, e.emu.OpenUploads())
}

// laneRun queues files (big ones multipart, in 1 MiB parts), holding every
// PUT of the kind that hold names ("part" or "object.put") until the files
// of the other kind are done: neither lane may need the other to move. It
// returns the emulator's counts at that moment.
func laneRun(t *testing.T, o smh.QueueOptions, sizes []int, hold string) map[string]int {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free) // a failed check must not leave PUTs held
	before := func(r *smh.PutRequest) {
		if strings.Contains(r.URL, "partNumber=") == (hold == "part") {
			<-release
		}
	}
	e.put.before.Store(&before)
	others := 0 // files of the kind not held
	for _, n := range sizes {
		if (int64(n) < smh.SimpleThreshold) == (hold == "part") {
			others++
		}
	}
	othersDone := make(chan struct{})
	var mu sync.Mutex
	done := 0
	o.OnFile = func(f smh.QueueFile) {
		if f.State != smh.FileDone || (f.Size < smh.SimpleThreshold) != (hold == "part") {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if done++; done == others {
			close(othersDone)
		}
	}
	q, err := smh.NewQueue(e.client, e.put, o)
	require.NoError(t, err)
	data := make([][]byte, len(sizes))
	for i, n := range sizes {
		data[i] = randomBytes(n, uint64(300+i))
		_, err := q.Add(smh.NewReaderAtBody(bytes.NewReader(data[i]), int64(n)), smh.Options{Path: fmt.Sprintf("lane-%03d.bin", i), PartSize: MiB}) // at the root: one begin each
		require.NoError(t, err)
	}
	q.Start()
	select {
	case <-othersDone:
	case <-time.After(time.Minute): // a guard against a hang, not a synchronisation
		require.FailNow(t, "the other lane's files did not finish while the held PUTs waited", "%v", q.Progress())
	}
	counts := e.emu.Counts()
	free()
	files, err := q.Wait(context.Background())
	require.NoError(t, err)
	for i, f := range files {
		require.Equal(t, smh.FileDone, f.State, "%s: %v", f.Path, f.Err)
		e.assertStored(f.Path, data[i])
	}
	return counts
}

// Big files do not starve small ones: with two big files added first and
// their parts held, twenty small ones are all stored, SmallFiles at a time.
func TestQueueBigFilesDoNotStarveSmallOnes(t *testing.T) {
	sizes := []int{4 * MiB, 4 * MiB}
	for range 20 {
		sizes = append(sizes, 16<<10)
	}
	counts := laneRun(t, smh.QueueOptions{Concurrency: 2, Files: 2, SmallFiles: 3}, sizes, "part")
	assert.Equal(t, 20, counts["object.put"], "every small file was sent while the parts were held")
	assert.Zero(t, counts["part"], "no part reached the server")
	assert.LessOrEqual(t, counts["object.peak"], 3, "small files' PUTs in flight: at most the lane's limit")
}

// Small files do not starve big ones: with a hundred small files around two
// big ones and the small files' PUTs held, the big files are stored, their
// parts Concurrency at a time.
func TestQueueSmallFilesDoNotStarveBigOnes(t *testing.T) {
	var sizes []int
	for i := range 102 {
		sizes = append(sizes, 16<<10)
		if i == 10 || i == 11 {
			sizes[i] = 3 * MiB
		}
	}
	counts := laneRun(t, smh.QueueOptions{Concurrency: 2, SmallFiles: 4}, sizes, "object.put")
	assert.Equal(t, 6, counts["part"], "both big files' parts were sent while the small files' PUTs were held")
	assert.Zero(t, counts["object.put"], "no small file's PUT reached the server")
	assert.Equal(t, 2, counts["part.peak"], "parts in flight: Concurrency")
	assert.Equal(t, 4, counts["begin.simple"], "the small lane waits at its limit: %v", counts)
}
