package smh_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/smhupload/smh-upload/smh"
	"github.com/smhupload/smh-upload/smh/emulator"
	"github.com/smhupload/smh-upload/smh/nethttp"
)

// benchSize is 256 MiB unless SMH_BENCH_MIB says otherwise.
func benchSize() int {
	if v, err := strconv.Atoi(os.Getenv("SMH_BENCH_MIB")); err == nil && v > 0 {
		return v * MiB
	}
	return 256 * MiB
}

var benchData = sync.OnceValue(func() []byte { return randomBytes(benchSize(), 99) })

func benchEnv(b *testing.B) (*emulator.Server, *smh.Client) {
	emu, err := emulator.Start(emulator.Config{AccessToken: "bench-token"})
	require.NoError(b, err)
	b.Cleanup(func() { _ = emu.Close() })
	c, err := smh.NewClient(smh.ClientConfig{Endpoint: emu.Endpoint, LibraryID: emu.LibraryID(), AccessToken: "bench-token"}, nethttp.New())
	require.NoError(b, err)
	return emu, c
}

// BenchmarkUpload is the engine with its defaults (8 MiB parts, 4 in
// flight, CRC-64 of every part checked, file CRC at confirm) on loopback.
func BenchmarkUpload(b *testing.B) { benchUpload(b, false) }

// BenchmarkInterleaved runs the baseline and both engine variants in turn,
// once each per iteration, so a machine that slows down or speeds up during
// the run affects all three alike, and reports each one's MB/s and the
// engine's ratios to the baseline.
func BenchmarkInterleaved(b *testing.B) {
	data := benchData()
	_, c := benchEnv(b)
	tr := nethttp.New()
	ctx := context.Background()
	var base, verified, unverified time.Duration
	timeIt := func(f func()) time.Duration { t0 := time.Now(); f(); return time.Since(t0) }
	upload := func(noVerify bool) {
		_, err := smh.Upload(ctx, c, tr, smh.NewReaderAtBody(bytes.NewReader(data), int64(len(data))),
			smh.Options{Path: "bench.bin", Conflict: smh.ConflictOverwrite, DisableIntegrityCheck: noVerify})
		require.NoError(b, err)
	}
	b.ResetTimer()
	for b.Loop() {
		base += timeIt(func() { baselineUpload(b, c, data) })
		verified += timeIt(func() { upload(false) })
		unverified += timeIt(func() { upload(true) })
	}
	mbps := func(d time.Duration) float64 { return float64(len(data)) * float64(b.N) / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(base), "baseline-MB/s")
	b.ReportMetric(mbps(verified), "engine-MB/s")
	b.ReportMetric(mbps(unverified), "engine-noverify-MB/s")
	b.ReportMetric(base.Seconds()/verified.Seconds(), "engine/baseline")
	b.ReportMetric(base.Seconds()/unverified.Seconds(), "noverify/baseline")
}

// BenchmarkUploadNoVerify is the engine without CRC-64 checks, to show
// what verification costs.
func BenchmarkUploadNoVerify(b *testing.B) { benchUpload(b, true) }

func benchUpload(b *testing.B, noVerify bool) {
	data := benchData()
	_, c := benchEnv(b)
	tr := nethttp.New()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		_, err := smh.Upload(context.Background(), c, tr, smh.NewReaderAtBody(bytes.NewReader(data), int64(len(data))),
			smh.Options{Path: "bench.bin", Conflict: smh.ConflictOverwrite, DisableIntegrityCheck: noVerify})
		require.NoError(b, err)
	}
}

// BenchmarkBaseline is the floor to compare BenchmarkUpload with: the same
// begin, the same 8 MiB parts 4 at a time as plain net/http PUTs with no
// hashing, progress or retry, and a confirm without CRC.
func BenchmarkBaseline(b *testing.B) {
	data := benchData()
	_, c := benchEnv(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		baselineUpload(b, c, data)
	}
}

// baselineUpload begins a task, PUTs 8 MiB parts 4 at a time with plain
// net/http and no hashing, and confirms without a CRC.
func baselineUpload(b *testing.B, c *smh.Client, data []byte) {
	ctx := context.Background()
	const part = 8 * MiB
	res, err := c.BeginMultipart(ctx, smh.BeginOptions{Path: "bench.bin", Size: int64(len(data)), Conflict: smh.ConflictOverwrite})
	require.NoError(b, err)
	info := res.Upload
	var g errgroup.Group
	g.SetLimit(4)
	for n := 1; (n-1)*part < len(data); n++ {
		g.Go(func() error {
			off := (n - 1) * part
			body := data[off:min(off+part, len(data))]
			req, err := http.NewRequest("PUT", "http://"+info.Domain+info.Path+"?partNumber="+strconv.Itoa(n)+"&uploadId="+info.UploadID, bytes.NewReader(body))
			if err != nil {
				return err
			}
			for k, v := range info.Headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			return nil
		})
	}
	require.NoError(b, g.Wait())
	_, err = c.Confirm(ctx, info.ConfirmKey, smh.ConfirmOptions{})
	require.NoError(b, err)
}
