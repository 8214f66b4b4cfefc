package smh_test

import (
	"bytes"
	"context"
	"errors"
	"hash/crc64"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh"
	"github.com/smhupload/smh-upload/smh/emulator"
	"github.com/smhupload/smh-upload/smh/internal/fakeclock"
	"github.com/smhupload/smh-upload/smh/nethttp"
)

const MiB = 1 << 20

var epoch = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// env is an emulator on loopback with a client, sharing one fake clock.
type env struct {
	t      *testing.T
	emu    *emulator.Server
	clk    *fakeclock.Clock
	client *smh.Client
	put    *putter
}

func newEnv(t *testing.T, cfg emulator.Config, cc smh.ClientConfig) *env {
	t.Helper()
	clk := fakeclock.New(epoch)
	cfg.Now = clk.Now
	if cfg.AccessToken == "" {
		cfg.AccessToken = "test-token-0001"
	}
	emu, err := emulator.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = emu.Close() })
	tr := nethttp.New()
	cc.Endpoint = emu.Endpoint
	cc.LibraryID = emu.LibraryID()
	if cc.AccessToken == "" {
		cc.AccessToken = cfg.AccessToken
	}
	cc.Clock = clk
	c, err := smh.NewClient(cc, tr)
	require.NoError(t, err)
	return &env{t: t, emu: emu, clk: clk, client: c, put: &putter{next: tr}}
}

// putter wraps the native part transport so tests can act around part PUTs.
type putter struct {
	next   smh.PartPutter
	before atomic.Pointer[func(*smh.PutRequest)]
	after  atomic.Pointer[func(*smh.PutRequest)]
	forms  bool // small files go as form uploads (smh.FormPutter)
}

func (p *putter) PutsForms() bool { return p.forms }

func (p *putter) Put(ctx context.Context, r *smh.PutRequest) (*smh.PutResponse, error) {
	if f := p.before.Load(); f != nil {
		(*f)(r)
	}
	resp, err := p.next.Put(ctx, r)
	if f := p.after.Load(); f != nil {
		(*f)(r)
	}
	return resp, err
}

func (e *env) task(data []byte, o smh.Options) *smh.Task {
	e.t.Helper()
	if o.Clock == nil {
		o.Clock = e.clk
	}
	if o.Retry.Jitter == nil {
		o.Retry.Jitter = func() float64 { return 0.5 }
	}
	task, err := smh.NewTask(e.client, e.put, smh.NewReaderAtBody(bytes.NewReader(data), int64(len(data))), o)
	require.NoError(e.t, err)
	return task
}

func (e *env) upload(data []byte, o smh.Options) (*smh.FileInfo, error) {
	return e.task(data, o).Run(context.Background())
}

// assertStored checks the emulator holds exactly data at path.
func (e *env) assertStored(path string, data []byte) {
	e.t.Helper()
	got, err := e.emu.ReadFile("-", path)
	require.NoError(e.t, err, "stored file %s", path)
	require.Equal(e.t, len(data), len(got), "stored size")
	assert.True(e.t, bytes.Equal(data, got), "stored bytes differ from the source")
}

func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := rng.Uint64()
		for k := range 8 {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func TestUploadSizes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		size   int
		simple bool
		parts  int
	}{
		{"empty", 0, true, 0},
		{"one byte", 1, true, 0},
		{"1MiB-1", MiB - 1, true, 0},
		{"exactly 1MiB", MiB, false, 1},
		{"exact multiple of the part size", 3 * MiB, false, 3},
		{"short last part", 10*MiB + 12345, false, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
			data := randomBytes(tc.size, uint64(tc.size))
			path := "up/" + strconv.Itoa(tc.size) + ".bin"
			require.NoError(t, e.emu.CreateDirectory("-", "up"))
			fi, err := e.upload(data, smh.Options{Path: path, PartSize: MiB})
			require.NoError(t, err)
			assert.Equal(t, int64(tc.size), fi.SizeBytes())
			assert.Equal(t, smh.FormatCRC64(crc64.Checksum(data, smh.ECMATable)), fi.CRC64)
			e.assertStored(path, data)
			if tc.simple {
				assert.Equal(t, 1, e.emu.Count("begin.simple"))
				assert.Equal(t, 1, e.emu.Count("object.put"))
				assert.Equal(t, 0, e.emu.Count("part"))
			} else {
				assert.Equal(t, 1, e.emu.Count("begin.multipart"))
				assert.Equal(t, tc.parts, e.emu.Count("part"))
			}
			assert.Equal(t, 1, e.emu.Count("confirm"))
			assert.Equal(t, 0, e.emu.OpenUploads())
		})
	}
}

func TestExpiryWhileFourPartsInFlightRenewsOnce(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	data := randomBytes(8*MiB, 7)
	partBarrier(e.emu, 4, e.emu.ExpireSignatures) // all four slots in flight: expire them all at once
	var renewEvents atomic.Int32
	fi, err := e.upload(data, smh.Options{Path: "a.bin", PartSize: MiB, Concurrency: 4, OnEvent: func(ev smh.Event) {
		if ev.Type == smh.EventRenew {
			renewEvents.Add(1)
			assert.Equal(t, "expired", ev.Reason)
		}
	}})
	require.NoError(t, err)
	assert.Equal(t, 1, e.emu.Count("renew"), "one renew for all parts in flight")
	assert.Equal(t, int32(1), renewEvents.Load())
	assert.Equal(t, 4, e.emu.Count("part.expired"))
	assert.Equal(t, 8+4, e.emu.Count("part"))
	assert.Equal(t, int64(len(data)), fi.SizeBytes())
	e.assertStored("a.bin", data)
}

// minter is a token provider that creates upload tokens with the library
// secret, as a broker does, and fails the calls (counted from 1) for which
// fail says so; it also returns the count of calls.
func minter(emu func() *emulator.Server, fail func(call int32) bool) (func(context.Context) (string, error), *atomic.Int32) {
	calls := new(atomic.Int32)
	return func(ctx context.Context) (string, error) {
		if fail(calls.Add(1)) {
			return "", errors.New("token broker unavailable")
		}
		tc, err := smh.NewTokenClient(emu().Endpoint, emu().LibraryID(), emu().LibrarySecret(), nethttp.New())
		if err != nil {
			return "", err
		}
		tok, err := tc.Create(ctx, smh.TokenOptions{Grant: smh.UploadGrants})
		if err != nil {
			return "", err
		}
		return tok.AccessToken, nil
	}, calls
}

func never(int32) bool       { return false }
func always(int32) bool      { return true }
func firstOnly(n int32) bool { return n == 1 }

// onPartN calls f with the arrival number (1, 2, …) of every part PUT.
func onPartN(emu *emulator.Server, f func(k int)) {
	var mu sync.Mutex
	n := 0
	emu.OnPart(func(emulator.PartInfo) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		f(k)
	})
}

// partBarrier holds the first n part PUTs until all n have arrived, calls
// at, then lets them go on.
func partBarrier(emu *emulator.Server, n int, at func()) {
	release := make(chan struct{})
	onPartN(emu, func(k int) {
		if k > n {
			return
		}
		if k == n {
			at()
			close(release)
		}
		<-release
	})
}

// advancePerPart makes each part PUT take d of (fake) time.
func (e *env) advancePerPart(d time.Duration) {
	f := func(*smh.PutRequest) { e.clk.Advance(d) }
	e.put.after.Store(&f)
}

func TestProactiveRenewAvoidsExpiry(t *testing.T) {
	e := newEnv(t, emulator.Config{SignatureTTL: 2 * time.Second}, smh.ClientConfig{})
	e.advancePerPart(700 * time.Millisecond)
	data := randomBytes(8*MiB, 8)
	_, err := e.upload(data, smh.Options{Path: "a.bin", PartSize: MiB, Concurrency: 1})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, e.emu.Count("renew"), 2, "8 parts of 0.7 s with a 2 s signature need renewing")
	assert.Equal(t, 0, e.emu.Count("part.expired"), "renewed ahead of expiration, never refused")
	assert.Equal(t, 8, e.emu.Count("part"))
	e.assertStored("a.bin", data)
}

func TestClockSkewIsLearnedFromDate(t *testing.T) {
	// The server runs an hour ahead: without the offset learned from its
	// Date header the client would think the 30 s signature had an hour
	// left, never renew ahead, and see parts refused from the ninth on.
	e := newEnv(t, emulator.Config{SignatureTTL: 30 * time.Second}, smh.ClientConfig{})
	e.emu.SetSkew(time.Hour)
	e.advancePerPart(4 * time.Second)
	data := randomBytes(12*MiB, 9)
	_, err := e.upload(data, smh.Options{Path: "a.bin", PartSize: MiB, Concurrency: 1})
	require.NoError(t, err)
	assert.Equal(t, 0, e.emu.Count("part.expired"))
	assert.GreaterOrEqual(t, e.emu.Count("renew"), 1)
	assert.InDelta(t, float64(time.Hour), float64(e.client.ServerNow().Sub(e.clk.Now())), float64(5*time.Second))
	e.assertStored("a.bin", data)
}

func TestExpiredRightAfterRenewIsAClearError(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	e.emu.OnPart(func(emulator.PartInfo) { e.emu.ExpireSignatures() }) // every signature is dead on arrival
	task := e.task(randomBytes(2*MiB, 10), smh.Options{Path: "a.bin", PartSize: MiB, Concurrency: 1})
	_, err := task.Run(context.Background())
	require.Error(t, err)
	var se *smh.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, smh.CodeExpiredSignature, se.Code)
	assert.ErrorIs(t, err, smh.ErrExpiredSignature)
	assert.Contains(t, err.Error(), "clock")
	assert.Equal(t, task.ConfirmKey(), se.ConfirmKey)
	assert.Equal(t, 1, e.emu.Count("renew"))
	require.NoError(t, task.Cancel(context.Background()))
	assert.Equal(t, 0, e.emu.OpenUploads())
}

func TestAccessTokenRefresh(t *testing.T) {
	e := newEnv(t, emulator.Config{LibrarySecret: "lib-secret-42"}, smh.ClientConfig{})
	tc, err := smh.NewTokenClient(e.emu.Endpoint, e.emu.LibraryID(), "lib-secret-42", nethttp.New())
	require.NoError(t, err)
	first, err := tc.Create(context.Background(), smh.TokenOptions{Grant: smh.UploadGrants})
	require.NoError(t, err)
	refresh, calls := minter(func() *emulator.Server { return e.emu }, never)
	c, err := smh.NewClient(smh.ClientConfig{Endpoint: e.emu.Endpoint, LibraryID: e.emu.LibraryID(), AccessToken: first.AccessToken, Clock: e.clk,
		RefreshToken: refresh}, nethttp.New())
	require.NoError(t, err)
	e.client = c
	var once sync.Once
	e.emu.OnPart(func(p emulator.PartInfo) {
		if p.PartNumber == 3 {
			once.Do(e.emu.ExpireTokens) // every token dies mid-upload
		}
	})
	var tokenEvents atomic.Int32
	data := randomBytes(4*MiB, 11)
	_, err = e.upload(data, smh.Options{Path: "a.bin", PartSize: MiB, Concurrency: 1, OnEvent: func(ev smh.Event) {
		if ev.Type == smh.EventToken {
			tokenEvents.Add(1)
		}
	}})
	require.NoError(t, err)
	assert.Equal(t, int32(1), calls.Load())
	assert.Equal(t, int32(1), tokenEvents.Load())
	e.assertStored("a.bin", data)
}

func TestAccessTokenRefreshFailureIsTyped(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{RefreshToken: func(context.Context) (string, error) {
		return "", errors.New("broker down")
	}})
	e.emu.ExpireTokens()
	_, err := e.upload(randomBytes(10, 1), smh.Options{Path: "a.bin"})
	require.Error(t, err)
	assert.ErrorIs(t, err, smh.ErrAccessToken)
	var se *smh.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, smh.CodeTokenRefresh, se.Code)
	assert.NotContains(t, err.Error(), "test-token-0001")
}

func TestTransientFailuresAreRetried(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	e.emu.FailParts(2, 503, "SlowDown", 3*time.Second)
	e.emu.FailParts(2, 500, "InternalError", 0)
	e.emu.ResetParts(2)
	e.emu.FailAPI("confirm", 1, 502, "", 0)
	e.emu.FailAPI("begin.multipart", 1, 429, "RateLimitExceeded", time.Second)
	var retries atomic.Int32
	data := randomBytes(6*MiB+1, 12)
	_, err := e.upload(data, smh.Options{Path: "a.bin", PartSize: MiB, OnEvent: func(ev smh.Event) {
		if ev.Type == smh.EventRetry {
			retries.Add(1)
		}
	}})
	require.NoError(t, err)
	assert.Equal(t, 7+6, e.emu.Count("part"), "7 parts and 6 failed attempts")
	assert.Equal(t, 2, e.emu.Count("confirm"))
	assert.Equal(t, 2, e.emu.Count("begin.multipart"))
	assert.Equal(t, int32(8), retries.Load())
	sleeps := e.clk.Sleeps()
	assert.Contains(t, sleeps, 3*time.Second, "Retry-After honoured")
	assert.Contains(t, sleeps, time.Second, "Retry-After honoured on the API")
	e.assertStored("a.bin", data)
}

func TestRetryBudgetRunsOut(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	e.emu.FailParts(100, 500, "InternalError", 0)
	task := e.task(randomBytes(2*MiB, 13), smh.Options{Path: "a.bin", PartSize: MiB, Concurrency: 1, Retry: smh.RetryPolicy{MaxAttempts: 3}})
	_, err := task.Run(context.Background())
	var se *smh.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "InternalError", se.Code)
	assert.Equal(t, 3, se.Attempts)
	assert.Contains(t, err.Error(), "after 3 attempts")
	assert.NotEmpty(t, se.ConfirmKey, "a failed upload can be resumed or cancelled")
	assert.Equal(t, 3, e.emu.Count("part"))
}

func TestStalledPartIsRetried(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	e.emu.StallParts(1)
	data := randomBytes(2*MiB, 14)
	drive := newStallDriver(e.clk, 11*time.Second)
	task := e.task(data, smh.Options{Path: "a.bin", PartSize: MiB, Concurrency: 1, StallTimeout: 10 * time.Second, OnEvent: drive.onEvent})
	var once sync.Once
	e.emu.OnPart(func(emulator.PartInfo) { once.Do(drive.start) })
	_, err := task.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, e.emu.Count("part"), "the stalled attempt, its retry, and part 2")
	e.assertStored("a.bin", data)
}

// stallDriver moves a fake clock past a stall timeout, again and again,
// until the engine reports the stalled attempt, and not once after: bytes
// still trickling into socket buffers after one jump re-arm the watchdog,
// and a jump once the retry is under way would stall the retry too. The
// jumps and the report take one mutex, so none starts after the report.
type stallDriver struct {
	clk  *fakeclock.Clock
	jump time.Duration
	mu   sync.Mutex
	done bool
}

func newStallDriver(clk *fakeclock.Clock, jump time.Duration) *stallDriver {
	return &stallDriver{clk: clk, jump: jump}
}

func (d *stallDriver) onEvent(ev smh.Event) {
	if ev.Type == smh.EventRetry && ev.Code == smh.CodeStalled {
		d.mu.Lock()
		d.done = true
		d.mu.Unlock()
	}
}

// start begins the jumps; call it once the stalled request has arrived.
func (d *stallDriver) start() {
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for range tick.C {
			d.mu.Lock()
			if d.done {
				d.mu.Unlock()
				return
			}
			d.clk.Advance(d.jump)
			d.mu.Unlock()
		}
	}()
}

func TestCancelLeavesNothing(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	reached := make(chan struct{})
	var once sync.Once
	e.emu.OnPart(func(p emulator.PartInfo) {
		if p.PartNumber == 3 {
			once.Do(func() { close(reached) })
		}
	})
	task := e.task(randomBytes(8*MiB, 15), smh.Options{Path: "a.bin", PartSize: MiB, Concurrency: 2})
	errc := make(chan error, 1)
	go func() { _, err := task.Run(context.Background()); errc <- err }()
	<-reached
	require.NoError(t, task.Cancel(context.Background()))
	err := <-errc
	assert.ErrorIs(t, err, smh.ErrCanceled)
	assert.Equal(t, 1, e.emu.Count("cancel"))
	assert.Equal(t, 0, e.emu.OpenUploads())
	assert.Empty(t, e.emu.UploadedParts(task.ConfirmKey()))
	_, err = e.emu.ReadFile("-", "a.bin")
	assert.Error(t, err)
	_, err = task.Run(context.Background())
	assert.ErrorIs(t, err, smh.ErrCanceled, "a cancelled task does not run again")
}

func TestPauseThenResumeSendsOnlyMissingParts(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	data := randomBytes(10*MiB, 16)
	var task *smh.Task
	var once sync.Once
	e.emu.OnPart(func(p emulator.PartInfo) {
		if p.PartNumber == 5 {
			once.Do(func() { task.Pause() })
		}
	})
	task = e.task(data, smh.Options{Path: "a.bin", PartSize: MiB, Concurrency: 1})
	_, err := task.Run(context.Background())
	require.ErrorIs(t, err, smh.ErrPaused)
	assert.Equal(t, task.ConfirmKey(), smh.ConfirmKeyOf(err))
	kept := len(e.emu.UploadedParts(task.ConfirmKey()))
	require.Equal(t, 4, kept, "parts 1-4 stored before the pause")
	before := e.emu.Count("part")

	fi, err := task.Run(context.Background()) // the same task continues
	require.NoError(t, err)
	assert.Equal(t, 10-kept, e.emu.Count("part")-before, "only the missing parts were sent")
	assert.Equal(t, 1, e.emu.Count("status"))
	assert.Equal(t, int64(len(data)), fi.SizeBytes())
	e.assertStored("a.bin", data)
}

func TestResumeFromConfirmKeyChecksStoredParts(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	data := randomBytes(9*MiB+5, 17)
	// First run: part 2 is corrupted in storage and this run does not check,
	// as a crashed tab would have left it.
	var first *smh.Task
	e.emu.OnPart(func(p emulator.PartInfo) {
		if p.PartNumber == 2 {
			e.emu.CorruptParts(1)
		}
		if p.PartNumber == 6 {
			first.Pause()
		}
	})
	first = e.task(data, smh.Options{Path: "a.bin", PartSize: MiB, Concurrency: 1, DisableIntegrityCheck: true})
	_, err := first.Run(context.Background())
	require.ErrorIs(t, err, smh.ErrPaused)
	key := smh.ConfirmKeyOf(err)
	require.Len(t, e.emu.UploadedParts(key), 5)
	e.emu.OnPart(nil)
	before := e.emu.Count("part")

	// A new task, as after a reload, with another part size option: the
	// server's parts decide the plan.
	var resumeEvent smh.Event
	task := e.task(data, smh.Options{Path: "a.bin", ConfirmKey: key, PartSize: 4 * MiB, OnEvent: func(ev smh.Event) {
		if ev.Type == smh.EventResume {
			resumeEvent = ev
		}
	}})
	_, err = task.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(MiB), task.PartSize())
	assert.Equal(t, 4, resumeEvent.PartsDone, "parts 1, 3, 4, 5 kept; 2 is bad")
	assert.Equal(t, 10-4, e.emu.Count("part")-before, "part 2 and parts 6-10 sent")
	e.assertStored("a.bin", data)
}

func TestCorruptedPartIsCaught(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	data := randomBytes(3*MiB, 18)
	e.emu.CorruptParts(1)
	_, err := e.upload(data, smh.Options{Path: "once.bin", PartSize: MiB})
	require.NoError(t, err, "a part stored wrong once is sent again")
	assert.Equal(t, 4, e.emu.Count("part"))
	e.assertStored("once.bin", data)

	e.emu.ResetCounts()
	e.emu.CorruptParts(100)
	task := e.task(data, smh.Options{Path: "always.bin", PartSize: MiB, Retry: smh.RetryPolicy{MaxAttempts: 2}})
	_, err = task.Run(context.Background())
	require.Error(t, err)
	var se *smh.Error
	require.ErrorAs(t, err, &se)
	assert.ErrorIs(t, err, smh.ErrIntegrity)
	assert.Equal(t, smh.CodeIntegrity, se.Code)
	assert.Equal(t, 0, e.emu.Count("confirm"), "never confirms a wrong file")
	require.NoError(t, task.Cancel(context.Background()))
	assert.Equal(t, 0, e.emu.OpenUploads())
}

func TestBadConfirmCRCIsIntegrityError(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	data := randomBytes(2*MiB, 19)
	// The transport lies about what it sent, as a buggy hasher would.
	lying := putterFunc(func(ctx context.Context, r *smh.PutRequest) (*smh.PutResponse, error) {
		resp, err := e.put.Put(ctx, r)
		if err == nil && r.Offset == 0 {
			resp.CRC64++
			resp.Header.Set("x-cos-hash-crc64ecma", smh.FormatCRC64(resp.CRC64))
		}
		return resp, err
	})
	task, err := smh.NewTask(e.client, lying, smh.NewReaderAtBody(bytes.NewReader(data), int64(len(data))), smh.Options{Path: "a.bin", PartSize: MiB, Clock: e.clk})
	require.NoError(t, err)
	_, err = task.Run(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, smh.ErrIntegrity)
	var se *smh.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "BadCrc64", se.Code)
	_, err = e.emu.ReadFile("-", "a.bin")
	assert.Error(t, err, "no file stored")
}

type putterFunc func(context.Context, *smh.PutRequest) (*smh.PutResponse, error)

func (f putterFunc) Put(ctx context.Context, r *smh.PutRequest) (*smh.PutResponse, error) {
	return f(ctx, r)
}

func TestSimpleUploadRestartsWhenExpired(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	var once sync.Once
	f := func(*smh.PutRequest) { once.Do(e.emu.ExpireSignatures) }
	e.put.before.Store(&f)
	data := randomBytes(1000, 20)
	_, err := e.upload(data, smh.Options{Path: "small.txt"})
	require.NoError(t, err)
	assert.Equal(t, 2, e.emu.Count("begin.simple"), "simple uploads cannot renew: begin again")
	assert.Equal(t, 1, e.emu.Count("cancel"), "the stale task is dropped")
	assert.Equal(t, 0, e.emu.OpenUploads())
	e.assertStored("small.txt", data)
}

func TestConflictStrategies(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	a, b := randomBytes(2*MiB, 21), randomBytes(100, 22)
	_, err := e.upload(a, smh.Options{Path: "x.bin", PartSize: MiB})
	require.NoError(t, err)
	fi, err := e.upload(b, smh.Options{Path: "x.bin"})
	require.NoError(t, err)
	assert.Equal(t, []string{"x (1).bin"}, fi.Path, "rename is the default")
	_, err = e.upload(b, smh.Options{Path: "x.bin", Conflict: smh.ConflictAsk})
	assert.ErrorIs(t, err, smh.ErrConflict)
	var se *smh.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 409, se.Status)
	_, err = e.upload(b, smh.Options{Path: "x.bin", Conflict: smh.ConflictOverwrite})
	require.NoError(t, err)
	e.assertStored("x.bin", b)
}

func TestCreateParents(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	data := randomBytes(3000, 23)
	_, err := e.upload(data, smh.Options{Path: "x/y/z.bin", DisableCreateParents: true})
	var se *smh.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "DirectoryNotFound", se.Code)
	_, err = e.upload(data, smh.Options{Path: "x/y/z.bin"})
	require.NoError(t, err)
	e.assertStored("x/y/z.bin", data)
}

func TestProgressNeverGoesBackwards(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	e.emu.ResetParts(2)
	e.emu.CorruptParts(1)
	data := randomBytes(6*MiB+7, 24)
	var mu sync.Mutex
	var seen []smh.Progress
	_, err := e.upload(data, smh.Options{Path: "a.bin", PartSize: MiB, ProgressInterval: time.Nanosecond, OnProgress: func(p smh.Progress) {
		mu.Lock()
		seen = append(seen, p)
		mu.Unlock()
	}})
	require.NoError(t, err)
	require.NotEmpty(t, seen)
	for i := 1; i < len(seen); i++ {
		assert.GreaterOrEqual(t, seen[i].Loaded, seen[i-1].Loaded, "progress went back at %d", i)
		assert.GreaterOrEqual(t, seen[i].PartsDone, seen[i-1].PartsDone)
	}
	last := seen[len(seen)-1]
	assert.Equal(t, int64(len(data)), last.Loaded)
	assert.Equal(t, 7, last.PartsDone)
	assert.Equal(t, 7, last.PartsTotal)
}

func TestBadInputIsRefusedBeforeAnyRequest(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	body := smh.NewReaderAtBody(bytes.NewReader(nil), 0)
	for _, tc := range []struct {
		name string
		body smh.Body
		o    smh.Options
		code string
	}{
		{"empty path", body, smh.Options{}, smh.CodeEmptyPath},
		{"dot-dot", body, smh.Options{Path: "a/../b"}, smh.CodeIllegalPath},
		{"control character", body, smh.Options{Path: "a\x01b"}, smh.CodeIllegalPath},
		{"negative size", smh.NewReaderAtBody(bytes.NewReader(nil), -1), smh.Options{Path: "a"}, smh.CodeInvalidSize},
		{"too large", smh.NewReaderAtBody(bytes.NewReader(nil), smh.MaxFileSize+1), smh.Options{Path: "a"}, smh.CodeInvalidSize},
		{"part too small", body, smh.Options{Path: "a", PartSize: 1000}, smh.CodeInvalidPartSize},
		{"part too large", body, smh.Options{Path: "a", PartSize: 6 << 30}, smh.CodeInvalidPartSize},
		{"concurrency", body, smh.Options{Path: "a", Concurrency: -1}, smh.CodeInvalidConcurrency},
		{"conflict", body, smh.Options{Path: "a", Conflict: "merge"}, smh.CodeInvalidInput},
		{"traffic limit", body, smh.Options{Path: "a", TrafficLimit: -5}, smh.CodeInvalidInput},
	} {
		_, err := smh.NewTask(e.client, e.put, tc.body, tc.o)
		var se *smh.Error
		if assert.ErrorAs(t, err, &se, tc.name) {
			assert.Equal(t, tc.code, se.Code, tc.name)
			assert.ErrorIs(t, err, smh.ErrInvalidInput, tc.name)
		}
	}
	for _, op := range []string{"begin.simple", "begin.multipart", "part", "object.put"} {
		assert.Equal(t, 0, e.emu.Count(op))
	}
}

func TestInstantUpload(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	data := randomBytes(3*MiB+77, 25)
	_, err := e.upload(data, smh.Options{Path: "orig.bin", PartSize: MiB})
	require.NoError(t, err)
	e.emu.ResetCounts()

	var instant atomic.Int32
	fi, err := e.upload(data, smh.Options{Path: "copy.bin", InstantUpload: true, OnEvent: func(ev smh.Event) {
		if ev.Type == smh.EventInstant {
			instant.Add(1)
		}
	}})
	require.NoError(t, err)
	assert.Equal(t, []string{"copy.bin"}, fi.Path)
	assert.Equal(t, int32(1), instant.Load())
	assert.Equal(t, 2, e.emu.Count("begin.multipart"), "beginningHash, then fullHash")
	assert.Equal(t, 0, e.emu.Count("part"), "no bytes sent")
	assert.Equal(t, 0, e.emu.Count("confirm"))
	e.assertStored("copy.bin", data)

	// Same first MiB, different rest: the server asks for the full hash,
	// finds no match, and the bytes are sent.
	other := bytes.Clone(data)
	other[len(other)-1] ^= 1
	e.emu.ResetCounts()
	_, err = e.upload(other, smh.Options{Path: "other.bin", InstantUpload: true, PartSize: MiB})
	require.NoError(t, err)
	assert.Equal(t, 2, e.emu.Count("begin.multipart"))
	assert.Equal(t, 4, e.emu.Count("part"))
	e.assertStored("other.bin", other)
}

func TestTokenClientLifecycle(t *testing.T) {
	e := newEnv(t, emulator.Config{LibrarySecret: "lib-secret-77"}, smh.ClientConfig{})
	ctx := context.Background()
	tc, err := smh.NewTokenClient(e.emu.Endpoint, e.emu.LibraryID(), "lib-secret-77", nethttp.New())
	require.NoError(t, err)
	tok, err := tc.Create(ctx, smh.TokenOptions{Grant: smh.UploadGrants, Period: time.Hour})
	require.NoError(t, err)
	assert.Equal(t, int64(3600), tok.ExpiresIn)
	renewed, err := tc.Renew(ctx, tok.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, int64(3600), renewed.ExpiresIn)
	require.NoError(t, tc.Delete(ctx, tok.AccessToken))
	assert.Equal(t, 1, e.emu.Count("token.create"))
	assert.Equal(t, 1, e.emu.Count("token.renew"))
	assert.Equal(t, 1, e.emu.Count("token.delete"))

	// A token without upload grants is refused with a typed error.
	readOnly, err := tc.Create(ctx, smh.TokenOptions{})
	require.NoError(t, err)
	c, err := smh.NewClient(smh.ClientConfig{Endpoint: e.emu.Endpoint, LibraryID: e.emu.LibraryID(), AccessToken: readOnly.AccessToken}, nethttp.New())
	require.NoError(t, err)
	_, err = c.BeginMultipart(ctx, smh.BeginOptions{Path: "a.bin", Size: 10})
	var se *smh.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "NoPermission", se.Code)
	assert.Equal(t, 403, se.Status)

	bad, err := smh.NewTokenClient(e.emu.Endpoint, e.emu.LibraryID(), "wrong-secret-123", nethttp.New())
	require.NoError(t, err)
	_, err = bad.Create(ctx, smh.TokenOptions{Grant: smh.UploadGrants})
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "WrongLibraryIdOrSecret", se.Code)
	assert.NotContains(t, err.Error(), "wrong-secret-123")
}

func TestTrafficLimitAndUserID(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{UserID: "user-7"})
	data := randomBytes(2*MiB, 26)
	_, err := e.upload(data, smh.Options{Path: "a.bin", PartSize: MiB, TrafficLimit: 1 << 20})
	require.NoError(t, err)
	e.assertStored("a.bin", data)
	_, err = e.upload(data, smh.Options{Path: "b.bin", TrafficLimit: 10})
	var se *smh.Error
	require.ErrorAs(t, err, &se, "SMH refuses limits below 100 KB/s")
	assert.Equal(t, 400, se.Status)
}

func TestTokenProviderFailingOnceIsRetried(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	refresh, calls := minter(func() *emulator.Server { return e.emu }, firstOnly)
	c, err := smh.NewClient(smh.ClientConfig{Endpoint: e.emu.Endpoint, LibraryID: e.emu.LibraryID(), AccessToken: "test-token-0001", Clock: e.clk,
		RefreshToken: refresh}, nethttp.New())
	require.NoError(t, err)
	e.client = c
	e.emu.ExpireTokens()
	data := randomBytes(3*MiB, 27)
	_, err = e.upload(data, smh.Options{Path: "a.bin", PartSize: MiB})
	require.NoError(t, err)
	assert.Equal(t, int32(2), calls.Load())
	e.assertStored("a.bin", data)
}

func TestLostConfirmAnswerCountsAsDone(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	// The first confirm reaches SMH, but its answer is lost on the way back.
	var lost atomic.Bool
	tr := nethttp.New()
	c, err := smh.NewClient(smh.ClientConfig{Endpoint: e.emu.Endpoint, LibraryID: e.emu.LibraryID(), AccessToken: "test-token-0001", Clock: e.clk},
		doerFunc(func(ctx context.Context, r *smh.Request) (*smh.Response, error) {
			resp, err := tr.Do(ctx, r)
			if err == nil && r.Method == "POST" && strings.Contains(r.URL, "?confirm") && lost.CompareAndSwap(false, true) {
				return nil, errors.New("read: connection reset by peer")
			}
			return resp, err
		}))
	require.NoError(t, err)
	e.client = c
	data := randomBytes(2*MiB+3, 28)
	fi, err := e.upload(data, smh.Options{Path: "a.bin", PartSize: MiB})
	require.NoError(t, err)
	assert.Equal(t, 2, e.emu.Count("confirm"), "sent again, answered 409 UploadComplete")
	assert.Equal(t, []string{"a.bin"}, fi.Path)
	assert.Equal(t, smh.FormatCRC64(crc64.Checksum(data, smh.ECMATable)), fi.CRC64)
	e.assertStored("a.bin", data)
}

// A pause that cuts off a confirm's answer after SMH created the file: the
// next run finds the file instead of uploading it again (with conflict
// rename, a second copy), multipart and simple alike.
func TestPauseDuringConfirmFindsTheFile(t *testing.T) {
	for _, size := range []int{2*MiB + 3, 1000} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
			var task *smh.Task
			tr := nethttp.New()
			c, err := smh.NewClient(smh.ClientConfig{Endpoint: e.emu.Endpoint, LibraryID: e.emu.LibraryID(), AccessToken: "test-token-0001", Clock: e.clk},
				doerFunc(func(ctx context.Context, r *smh.Request) (*smh.Response, error) {
					resp, err := tr.Do(ctx, r)
					if err == nil && strings.Contains(r.URL, "?confirm") && e.emu.Count("confirm") == 1 {
						task.Pause()
						<-ctx.Done()
						return nil, ctx.Err()
					}
					return resp, err
				}))
			require.NoError(t, err)
			e.client = c
			data := randomBytes(size, 31)
			task = e.task(data, smh.Options{Path: "a.bin", PartSize: MiB, Conflict: smh.ConflictRename})
			_, err = task.Run(context.Background())
			require.ErrorIs(t, err, smh.ErrPaused)
			parts, begins := e.emu.Count("part")+e.emu.Count("object.put"), e.emu.Count("begin.simple")+e.emu.Count("begin.multipart")

			fi, err := task.Run(context.Background())
			require.NoError(t, err)
			assert.Equal(t, []string{"a.bin"}, fi.Path)
			assert.Equal(t, smh.FormatCRC64(crc64.Checksum(data, smh.ECMATable)), fi.CRC64)
			assert.Equal(t, 1, e.emu.Count("confirm"), "not confirmed again")
			assert.Equal(t, parts, e.emu.Count("part")+e.emu.Count("object.put"), "no part sent again")
			assert.Equal(t, begins, e.emu.Count("begin.simple")+e.emu.Count("begin.multipart"), "no new task")
			e.assertStored("a.bin", data)
			_, err = e.client.HeadFile(context.Background(), "a (1).bin")
			assert.Error(t, err, "no second copy")
		})
	}
}

type doerFunc func(context.Context, *smh.Request) (*smh.Response, error)

func (f doerFunc) Do(ctx context.Context, r *smh.Request) (*smh.Response, error) { return f(ctx, r) }

// failingReader is a file that disappears after limit bytes.
type failingReader struct {
	data  []byte
	limit int64
}

func (f *failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.limit {
		return 0, errors.New("read /tmp/x: input/output error")
	}
	return copy(p, f.data[off:]), nil
}

func TestUnreadableFileIsATypedResumableError(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	data := randomBytes(4*MiB, 29)
	body := smh.NewReaderAtBody(&failingReader{data: data, limit: 2 * MiB}, int64(len(data)))
	var puts atomic.Int32
	count := func(*smh.PutRequest) { puts.Add(1) }
	e.put.before.Store(&count)
	task, err := smh.NewTask(e.client, e.put, body, smh.Options{Path: "a.bin", PartSize: MiB, Concurrency: 1, Clock: e.clk})
	require.NoError(t, err)
	_, err = task.Run(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, smh.ErrSourceRead)
	var se *smh.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, smh.CodeSourceRead, se.Code)
	assert.False(t, se.Retryable)
	assert.Equal(t, int32(3), puts.Load(), "parts 1 and 2, and the failed part 3: no retries")
	assert.Equal(t, []int{1, 2}, e.emu.UploadedParts(se.ConfirmKey))
	puts.Store(0)

	// The file is back: the same task resumes and sends only what is missing.
	resumed, err := smh.NewTask(e.client, e.put, smh.NewReaderAtBody(bytes.NewReader(data), int64(len(data))),
		smh.Options{Path: "a.bin", ConfirmKey: se.ConfirmKey, Clock: e.clk})
	require.NoError(t, err)
	_, err = resumed.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int32(2), puts.Load(), "only parts 3 and 4 were sent again")
	e.assertStored("a.bin", data)
}

func TestTwoSeparateExpiriesOfOnePartAreNotAClockError(t *testing.T) {
	// Part 4 is refused twice: once when every signature is expired by
	// force, then again when the server's clock really passes the renewed
	// signatures' expiration. The second refusal is explained by the
	// server's own clock, so it is renewed, not reported as clock skew.
	e := newEnv(t, emulator.Config{SignatureTTL: 10 * time.Minute}, smh.ClientConfig{})
	release := make(chan struct{})
	onPartN(e.emu, func(k int) {
		switch {
		case k < 4:
			<-release
		case k == 4:
			e.emu.ExpireSignatures()
			close(release)
		case k == 5:
			e.emu.SetSkew(11 * time.Minute)
		}
	})
	data := randomBytes(8*MiB, 30)
	_, err := e.upload(data, smh.Options{Path: "f.bin", PartSize: MiB, Concurrency: 4})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, e.emu.Count("renew"), 2)
	e.assertStored("f.bin", data)
}
