//go:build !js

package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestProcessClasses(t *testing.T) {
	nul := func(args ...string) []byte {
		var b []byte
		for _, a := range args {
			b = append(append(b, a...), 0)
		}
		return b
	}
	for _, c := range []struct {
		cmdline []byte
		want    string
	}{
		{nul("/usr/lib/chromium/chromium", "--headless", "--user-data-dir=/tmp/p"), ClassBrowser},
		{nul("/usr/lib/chromium/chromium", "--type=renderer", "--renderer-client-id=5"), ClassRenderer},
		{nul("/usr/lib/chromium/chromium", "--type=renderer", "--top-chrome-webui", "--renderer-client-id=4"), ClassOther},
		{nul("/usr/lib/chromium/chromium", "--type=gpu-process"), ClassGPU},
		{nul("/usr/lib/chromium/chromium", "--type=utility", "--utility-sub-type=network.mojom.NetworkService", "--service-sandbox-type=none"), ClassNetwork},
		{nul("/usr/lib/chromium/chromium", "--type=utility", "--utility-sub-type=storage.mojom.StorageService"), ClassOther},
		{nul("/usr/lib/chromium/chromium", "--type=zygote"), ClassOther},
		// A zygote child that rewrote its command line into one string.
		{[]byte("/usr/lib/chromium/chromium --type=renderer --lang=en-US"), ClassRenderer},
		{[]byte("/usr/lib/chromium/chromium --type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US"), ClassNetwork},
	} {
		assert.Equal(t, c.want, parseCmdline(c.cmdline).class(), "%q", c.cmdline)
	}
}

func TestPerGiB(t *testing.T) {
	s0 := snapshot{server: 10, procs: map[int]procInfo{
		1: {pid: 1, cpu: 5},                      // browser
		2: {pid: 2, cpu: 1, kind: "renderer"},    // renderer
		3: {pid: 3, cpu: 2, kind: "gpu-process"}, // gpu
		4: {pid: 4, cpu: 0, kind: "utility", subType: "network.mojom.NetworkService"},
	}}
	s1 := snapshot{server: 11, procs: map[int]procInfo{
		1: {pid: 1, cpu: 6, kind: ""},
		2: {pid: 2, cpu: 4, kind: "renderer"},
		3: {pid: 3, cpu: 2.5, kind: "gpu-process"},
		4: {pid: 4, cpu: 0.5, kind: "utility", subType: "network.mojom.NetworkService"},
		5: {pid: 5, cpu: 0.25, kind: "renderer"}, // started during the upload: counts from zero
	}}
	c := perGiB(s0, s1, 1<<29) // half a GiB: every figure doubles
	assert.InDelta(t, 2.0, c.Browser, 1e-9)
	assert.InDelta(t, 6.5, c.Renderer, 1e-9)
	assert.InDelta(t, 1.0, c.Network, 1e-9)
	assert.InDelta(t, 1.0, c.GPU, 1e-9)
	assert.InDelta(t, 10.5, c.Chromium, 1e-9)
	assert.InDelta(t, 2.0, c.Server, 1e-9)
	assert.InDelta(t, 12.5, c.Total, 1e-9)
	assert.Equal(t, "2.0 / 6.5 / 1.0 / 1.0 = 10.5", c.breakdown())
	assert.Zero(t, perGiB(s0, s1, 0), "nothing uploaded: no figure")
}
