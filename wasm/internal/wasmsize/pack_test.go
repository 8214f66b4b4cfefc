//go:build !js

package wasmsize

import (
	"bytes"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memory is the linear memory a module's data segments set up, from its data
// section or from DataSection, decoded as smh-upload-run.js does, and the
// number of segments (for DataSection, of blocks).
func memory(t *testing.T, b []byte) ([]byte, int) {
	var mem []byte
	put := func(addr int, data []byte) {
		if n := addr + len(data); n > len(mem) {
			mem = append(mem, make([]byte, n-len(mem))...)
		}
		copy(mem[addr:], data)
	}
	r := &reader{b: b, off: 8}
	for r.off < len(b) {
		id := r.byte()
		size := r.uleb()
		end := r.off + size
		switch {
		case id == 11:
			segs, err := readSegments(&reader{b: b[:end], off: r.off})
			require.NoError(t, err)
			for _, s := range segs {
				put(s.addr, s.data)
			}
			return mem, len(segs)
		case id == 0:
			c := &reader{b: b[:end], off: r.off}
			l := c.uleb()
			if string(b[c.off:c.off+l]) != DataSection {
				break
			}
			blocks, err := unpackBlocks(b[c.off+l : end])
			require.NoError(t, err)
			for _, s := range blocks {
				put(s.addr, s.data)
			}
			return mem, len(blocks)
		}
		r.off = end
	}
	return nil, 0
}

func writeSegments(segs []segment) []byte {
	out := appendULEB(nil, uint64(len(segs)))
	for _, s := range segs {
		out = append(out, 0, 0x41)
		out = appendSLEB(out, int64(s.addr))
		out = append(out, 0x0b)
		out = appendULEB(out, uint64(len(s.data)))
		out = append(out, s.data...)
	}
	return out
}

func module(segs ...segment) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	b = append(b, 1, 1, 0) // an empty type section before it
	sec := writeSegments(segs)
	b = append(b, 11)
	b = appendULEB(b, uint64(len(sec)))
	b = append(b, sec...)
	return append(b, 0, 5, 4, 'n', 'a', 'm', 'e') // and a custom one after it
}

func TestMoveData(t *testing.T) {
	in := module(segment{100, []byte{1, 2}}, segment{120, []byte{3}}, segment{64, []byte{9}},
		segment{200, []byte{4, 4}}, segment{1 << 20, []byte{5}})
	out, err := MoveData(in, 20, -1)
	require.NoError(t, err)
	want, n := memory(t, in)
	require.Equal(t, 5, n)
	got, n := memory(t, out)
	assert.Equal(t, want, got, "memory is the same byte for byte")
	assert.Equal(t, 4, n, "only 100 and 120 are within 20 bytes of each other: a block each for the others")
	assert.NotContains(t, sectionIDs(t, out), byte(11), "no data section is left")
	assert.Equal(t, []byte{1, 11, 0}, sectionIDs(t, in))
	assert.Equal(t, []byte{1, 0, 0}, sectionIDs(t, out), "the type section, the name section, then DataSection")
	assert.True(t, bytes.Contains(out, in[len(in)-7:]), "the section after the data section is kept")

	out, err = MoveData(in, 0, -1)
	require.NoError(t, err)
	got, n = memory(t, out)
	assert.Equal(t, want, got)
	assert.Equal(t, 5, n)

	out, err = MoveData(in, 1<<21, -1)
	require.NoError(t, err)
	got, n = memory(t, out)
	assert.Equal(t, want, got)
	assert.Equal(t, 1, n)

	// Overlapping segments keep their order, so the later one still wins.
	in = module(segment{100, []byte{1, 2, 3}}, segment{101, []byte{7}})
	want, _ = memory(t, in)
	out, err = MoveData(in, 20, -1)
	require.NoError(t, err)
	got, _ = memory(t, out)
	assert.Equal(t, want, got)
	assert.Equal(t, byte(7), got[101])

	_, err = MoveData([]byte("not wasm"), 8, -1)
	assert.ErrorIs(t, err, errFormat)
	// A passive segment (flags 1: memory.init copies it) stays where it is.
	passive := []byte("\x00asm\x01\x00\x00\x00\x0b\x04\x01\x01\x01\x07")
	_, err = MoveData(passive, 8, -1)
	assert.ErrorIs(t, err, errFormat, "passive segments are not moved")
}

// withDataCount is module(segs) with a data count section of n, as wasm-opt
// writes one, between the type and data sections.
func withDataCount(n int, segs ...segment) []byte {
	b := module(segs...)
	dc := appendULEB(nil, uint64(n))
	head := append([]byte(nil), b[:11]...) // the magic, the version and the type section
	head = append(append(head, 12), appendULEB(nil, uint64(len(dc)))...)
	return append(append(head, dc...), b[11:]...)
}

// wasm-opt's output (bulk memory on) has a data count section: it goes with
// the data section, and memory is the same; one that disagrees with the data
// section is refused.
func TestMoveDataDropsTheDataCount(t *testing.T) {
	segs := []segment{{100, []byte{1, 2}}, {4096, []byte{3}}}
	in := withDataCount(2, segs...)
	require.Equal(t, []byte{1, 12, 11, 0}, sectionIDs(t, in))
	want, _ := memory(t, module(segs...))
	out, err := MoveData(in, 20, -1)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 0, 0}, sectionIDs(t, out), "no data count or data section is left")
	got, _ := memory(t, out)
	assert.Equal(t, want, got)

	_, err = MoveData(withDataCount(3, segs...), 20, -1)
	assert.ErrorIs(t, err, errFormat)
}

// dataPayload is the payload of b's DataSection.
func dataPayload(t *testing.T, b []byte) []byte {
	r := &reader{b: b, off: 8}
	for r.off < len(b) {
		id := r.byte()
		end := r.uleb()
		end += r.off
		require.NoError(t, r.err)
		if id == 0 {
			if l := r.uleb(); string(b[r.off:r.off+l]) == DataSection {
				return b[r.off+l : end]
			}
		}
		r.off = end
	}
	require.Fail(t, "no "+DataSection+" section")
	return nil
}

// sectionIDs are the ids of b's sections, in order.
func sectionIDs(t *testing.T, b []byte) []byte {
	var ids []byte
	r := &reader{b: b, off: 8}
	for r.off < len(b) {
		ids = append(ids, r.byte())
		r.off += r.uleb()
		require.NoError(t, r.err)
	}
	return ids
}

func TestSLEB(t *testing.T) {
	for _, v := range []int64{0, 1, 63, 64, 127, 128, 8191, 8192, 1 << 20, 1<<31 - 1} {
		r := &reader{b: appendSLEB(nil, v)}
		assert.Equal(t, int(v), r.sleb(), v)
		assert.NoError(t, r.err)
	}
}

// make wasm moved the built module's data into DataSection, which holds Go's
// runtime data (its version string among it) and no zeros between segments,
// deflated in part.
func TestMoveDataSMHWasm(t *testing.T) {
	b, err := os.ReadFile("../../dist/smh.wasm")
	if os.IsNotExist(err) {
		t.Skip("no wasm/dist/smh.wasm: run make wasm")
	}
	require.NoError(t, err)
	assert.NotContains(t, sectionIDs(t, b), byte(11), "no data section is left")
	mem, n := memory(t, b)
	assert.Greater(t, n, 10, "segments (Go writes about 52,000; make wasm merges them to about a hundred)")
	assert.Contains(t, string(mem), runtime.Version(), "Go's version string is in memory")
	// make wasm keeps go build's output in bin/: its data section sets up
	// the same memory, byte for byte.
	plain, err := os.ReadFile("../../../bin/smh-go.wasm")
	require.NoError(t, err, "make wasm leaves go build's output in bin/smh-go.wasm")
	want, _ := memory(t, plain)
	assert.True(t, bytes.Equal(want, mem), "the memory smh.data sets up is the data section's (%d and %d bytes)", len(want), len(mem))
	_, deflated := blockKinds(t, dataPayload(t, b))
	assert.Contains(t, deflated, true, "some blocks are deflated")
	assert.Contains(t, deflated, false, "some are stored")
	again, err := MoveData(b, 8, -1)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(b, again), "a module with no data section is kept as it is")
}
