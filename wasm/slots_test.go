//go:build js && wasm

package main

import (
	"fmt"
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Three files given one pool of two part slots, by this module and by the
// loaded one (through its Worker): the emulator never sees more than two
// PUTs at once, though each file alone would send four, and every file is
// stored with the source's bytes.
func TestSlotsShareAPoolAcrossUploads(t *testing.T) {
	for _, tc := range []struct {
		name string
		api  func(*testing.T) js.Value
	}{
		{"in the page", func(*testing.T) js.Value { return api }},
		{"in the Worker", loadedModule},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.api(t)
			e := newEmu(t, emuConfig{})
			// Slow enough that parts overlap.
			control(t, "POST", e.path("faults"), []map[string]any{{"kind": "latency", "delay": "30ms"}}, nil)
			slots := m.Call("slots", 2)
			require.Equal(t, 2, slots.Get("size").Int())
			sizes := map[uint32]int64{1: 4 * MiB, 2: 3*MiB + 5, 3: 200 << 10}
			runs := map[uint32]*run{}
			for seed, size := range sizes {
				name := fmt.Sprintf("q/%d.bin", seed)
				runs[seed] = start(t, m, generated(size, seed, name),
					e.options(map[string]any{"path": name, "partSize": MiB, "concurrency": 4, "slots": slots}))
			}
			for seed, r := range runs {
				fi := r.done()
				crc, stored := e.storedCRC(fmt.Sprintf("q/%d.bin", seed))
				assert.Equal(t, expectedCRC(t, sizes[seed], seed), crc, "file %d stored", seed)
				assert.Equal(t, sizes[seed], stored)
				assert.Equal(t, crc, fi.CRC64)
			}
			c := e.counts()
			assert.Equal(t, 2, c["put.peak"], "PUTs in flight at once, across the files")
			assert.Equal(t, 4+4, c["part"])
			assert.Equal(t, 1, c["object.post"], "the small file's one form upload")
		})
	}
}

// The module's slots() takes a whole number of 1 or more, and throws a
// TypeError otherwise.
func TestSlotsChecksItsSize(t *testing.T) {
	try := js.Global().Get("Function").New("m", "n", "try { return String(m.slots(n).size) } catch (e) { return e.name }")
	m := loadedModule(t)
	assert.Equal(t, "3", try.Invoke(m, 3).String())
	for _, bad := range []any{0, -1, 1.5, "2", nil} {
		assert.Equal(t, "TypeError", try.Invoke(m, bad).String(), "slots(%v)", bad)
	}
}
