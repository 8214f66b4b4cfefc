//go:build !js

package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/web/bench"
)

// TestQueueBench runs each queue scenario small (20 × 16 KiB on loopback and the 40 ms link, each over
// HTTP/1.1 and HTTP/2; 3 × 1 MiB; 1,200 files queued, so that the Worker hands done's results over in
// three messages; one round) to prove that it works: every contestant
// completes, the emulator holds every file with its source's size and CRC-64, the requests are counted,
// Chromium reports the protocol of each leg for the hosts it called, and the tables are well formed.
// Speeds are not asserted.
func TestQueueBench(t *testing.T) {
	cfg := needs(t)
	cfg.Rounds, cfg.WorkDir, cfg.RunTimeout, cfg.Logf = 1, t.TempDir(), 2*time.Minute, t.Logf
	qc := bench.QueueConfig{Config: cfg, SmallFiles: 20, SmallSize: 16 << 10, LargeFiles: 3, LargeSize: bench.MiB, ManyFiles: 1200, ManySize: 1, IdleTime: 2 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	rep, err := bench.RunQueue(ctx, qc)
	require.NoError(t, err)

	want := 0
	for _, sc := range bench.QueueScenarios {
		n := len(bench.QueueContestants(sc, qc.InPage))
		if sc == bench.ScenarioSmall {
			n *= 2 * len(bench.QueueProtocols) // loopback and the link, each over every protocol
		}
		want += n
	}
	require.Len(t, rep.Runs, want)
	for _, r := range rep.Runs {
		name := r.Scenario + " " + r.Contestant + " " + r.Link
		assert.Empty(t, r.Error, name)
		assert.True(t, r.Verified, name)
		assert.Equal(t, r.Files, r.Stored, "%s: every file stored with its bytes", name)
		if r.Contestant == "idle" {
			assert.Zero(t, r.RequestsAll, "%s: the probe alone sends nothing", name)
			assert.Positive(t, r.MainCPU, "%s: the floor is measured", name)
			continue
		}
		assert.Positive(t, r.RequestsAll, name)
		if r.Contestant != "single" {
			// One upload at least per file (a simple upload's object.put, a form upload's object.post,
			// or a multipart one's parts).
			assert.GreaterOrEqual(t, r.Requests["object.put"]+r.Requests["object.post"]+r.Requests["part"], r.Files, name)
		}
		if r.Scenario != bench.ScenarioSmall {
			assert.Equal(t, bench.ProtoHTTP1, r.Protocol, name)
			continue
		}
		// The page's (cos-js-sdk-v5's) or the module's Worker's Resource Timing: both contestants store
		// through the COS host, the queue begins and confirms on the API host.
		name += " " + r.Protocol
		assert.Equal(t, r.Protocol, r.NextHop.COS, name)
		if r.Contestant == "queue" {
			assert.Equal(t, r.Protocol, r.NextHop.API, name)
		} else {
			assert.Empty(t, r.NextHop.API, name)
		}
	}
	for _, row := range rep.Rows {
		assert.True(t, row.Verified, row.Name)
		if row.Kind == bench.QueueKindIdle {
			continue
		}
		assert.Positive(t, row.FilesPerSec, row.Name)
	}
	assertQueueTables(t, rep, bench.QueueScenarios)
}
