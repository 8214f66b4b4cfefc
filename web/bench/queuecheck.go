//go:build !js

package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/chromedp/chromedp"
)

// What a queue run is checked and summed up by: the protocols spoken, the
// requests by kind, and the CPU of each process.

// serverProto is how net/http names a protocol in Request.Proto.
var serverProto = map[string]string{ProtoHTTP1: "HTTP/1.1", ProtoH2: "HTTP/2.0"}

// protocolMismatch says how a run's requests did not all speak proto, or "" when they did: every request
// the emulator received, and the nextHopProtocol Chromium reported for each host it called.
func protocolMismatch(proto string, hop NextHop, server map[string]int) string {
	var bad []string
	for _, k := range slices.Sorted(maps.Keys(server)) {
		if _, p, _ := strings.Cut(k, " "); p != serverProto[proto] {
			bad = append(bad, fmt.Sprintf("%d requests %s", server[k], k))
		}
	}
	for host, got := range map[string]string{"API": hop.API, "COS": hop.COS} {
		if got != "" && got != proto {
			bad = append(bad, fmt.Sprintf("Chromium's nextHopProtocol to the %s host is %q", host, got))
		}
	}
	slices.Sort(bad)
	if len(bad) == 0 {
		return ""
	}
	return fmt.Sprintf("want %s, got %s", proto, strings.Join(bad, ", "))
}

// nextHops reads the nextHopProtocol of the first Resource Timing entry of each of the emulator's hosts,
// from the page's timeline and then its Workers' (the module uploads from its Worker, whose requests are
// in a timeline of its own). A host no entry names is "", an entry that names no protocol "unknown":
// Chromium reports none for a resource of another origin whose answer lacks Timing-Allow-Origin, which
// the harness's hosts send (protoTally.wrap).
func nextHops(ctx context.Context, endpoint, cosEndpoint string) (NextHop, error) {
	api, _ := json.Marshal(endpoint + "/")
	cos, _ := json.Marshal(cosEndpoint + "/")
	expr := fmt.Sprintf(`(() => {
		const hop = (prefix) => {
			const e = performance.getEntriesByType("resource").find((e) => e.name.startsWith(prefix));
			return e === undefined ? "" : e.nextHopProtocol || "unknown";
		};
		return {api: hop(%s), cos: hop(%s)};
	})()`, api, cos)
	hop, err := chromedp.Run(ctx, chromedp.Evaluate[NextHop](expr))
	if err != nil {
		return hop, err
	}
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		return hop, err
	}
	for _, ti := range infos {
		if ti.Type != "worker" || (hop.API != "" && hop.COS != "") {
			continue
		}
		wctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(ti.TargetID))
		w, err := chromedp.Run(wctx, chromedp.Evaluate[NextHop](expr))
		cancel()
		if err != nil {
			return hop, fmt.Errorf("the Worker's timeline: %w", err)
		}
		hop.API, hop.COS = cmp.Or(hop.API, w.API), cmp.Or(hop.COS, w.COS)
	}
	return hop, nil
}

// notRequest are the emulator's counters that count no request of their own.
var notRequest = map[string]bool{"part.expired": true, "confirm.crc64": true, "put.peak": true, "part.peak": true,
	"object.peak": true}

// cpuBetween is the CPU used between two snapshots: the cores of the page's main thread, of the
// renderer, of Chromium and of this process; the core·seconds by process class; and the cores that
// processes outside the benchmark used.
func cpuBetween(s0, s1 snapshot) (c Cores, secs CPUPerGiB, outside float64) {
	wall := s1.at.Sub(s0.at).Seconds()
	d := func(name string) float64 { return (s1.metrics[name] - s0.metrics[name]) / wall }
	c.MainBusy = max(d("TaskDuration")-d("DevToolsCommandDuration"), 0)
	c.MainScript = d("ScriptDuration")
	c.MainCPU = d("ThreadTime")
	best := 0.0
	for pid, p := range s1.procs {
		delta := p.cpu - s0.procs[pid].cpu
		c.BrowserCPU += delta / wall
		if p.kind == "renderer" && !p.webUI {
			best = max(best, delta)
		}
	}
	c.RendererCPU = best / wall
	c.ServerCPU = (s1.server - s0.server) / wall
	secs = perGiB(s0, s1, 1<<30) // per GiB of 1 GiB: the core·seconds themselves
	if s1.busy > 0 {
		outside = max((s1.busy-s0.busy)-secs.Total, 0) / wall
	}
	return c, secs, outside
}

func (r QueueRun) summary() string {
	if r.Error != "" {
		return "FAILED: " + r.Error
	}
	noisy := ""
	if r.Noisy {
		noisy = fmt.Sprintf("  NOISY (%.2f cores outside)", r.OutsideCores)
	}
	return fmt.Sprintf("%8.1f files/s %7.1f MiB/s  %6.1f s  main cpu %.3f  stalls %d (%.0f ms)  add %.0f ms  req/file %.2f  cpu/file %.1f ms  nextHop %s/%s  load %s  stored %d/%d%s",
		r.FilesPerSec, r.MiBps, r.Seconds, r.MainCPU, r.Stalls, r.LongestMs, r.AddMs, float64(r.RequestsAll)/float64(max(r.Files, 1)),
		r.CPU.Total*1000/float64(max(r.Files, 1)), cmp.Or(r.NextHop.API, "-"), cmp.Or(r.NextHop.COS, "-"), r.LoadStart, r.Stored, r.Files, noisy)
}
