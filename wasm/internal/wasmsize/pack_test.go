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

// memory is the linear memory a module's data sets up: its data section's
// segments, then DataSection's runs, decoded as smh-upload-run.js does; and
// how many segments and runs there are.
func memory(t *testing.T, b []byte) (mem []byte, segments, runs int) {
	put := func(addr int, data []byte) {
		if n := addr + len(data); n > len(mem) {
			mem = append(mem, make([]byte, n-len(mem))...)
		}
		copy(mem[addr:], data)
	}
	var deflated []segment
	r := &reader{b: b, off: 8}
	for r.off < len(b) {
		id := r.byte()
		size := r.uleb()
		end := r.off + size
		require.NoError(t, r.err)
		switch id {
		case 11:
			segs, err := readSegments(&reader{b: b[:end], off: r.off})
			require.NoError(t, err)
			for _, s := range segs {
				put(s.addr, s.data)
			}
			segments = len(segs)
		case 0:
			c := &reader{b: b[:end], off: r.off}
			if c.name() == DataSection {
				var err error
				deflated, err = unpackData(b[c.off:end])
				require.NoError(t, err)
			}
		}
		r.off = end
	}
	for _, s := range deflated { // after instantiation, as the loader writes them
		put(s.addr, s.data)
	}
	return mem, segments, len(deflated)
}

func module(segs ...segment) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	b = append(b, 1, 1, 0) // an empty type section before it
	b = append(b, dataSection(segs)...)
	return append(b, 0, 5, 4, 'n', 'a', 'm', 'e') // and a custom one after it
}

func TestMoveData(t *testing.T) {
	in := module(segment{100, []byte{1, 2}}, segment{120, []byte{3}}, segment{64, []byte{9}},
		segment{200, []byte{4, 4}}, segment{1 << 20, []byte{5}})
	out, err := MoveData(in, 20, -1)
	require.NoError(t, err)
	want, n, _ := memory(t, in)
	require.Equal(t, 5, n)
	got, n, runs := memory(t, out)
	assert.Equal(t, want, got, "memory is the same byte for byte")
	assert.Equal(t, 4, n, "only 100 and 120 are within 20 bytes of each other: a segment each for the others")
	assert.Zero(t, runs, "nothing deflated")
	assert.Equal(t, []byte{1, 11, 0}, sectionIDs(t, out), "nothing deflated: no "+DataSection)
	assert.True(t, bytes.Contains(out, in[len(in)-7:]), "the section after the data section is kept")

	out, err = MoveData(in, 0, -1)
	require.NoError(t, err)
	got, n, _ = memory(t, out)
	assert.Equal(t, want, got)
	assert.Equal(t, 5, n)

	out, err = MoveData(in, 1<<21, -1)
	require.NoError(t, err)
	got, n, _ = memory(t, out)
	assert.Equal(t, want, got)
	assert.Equal(t, 1, n)

	// Overlapping segments keep their order, so the later one still wins.
	in = module(segment{100, []byte{1, 2, 3}}, segment{101, []byte{7}})
	want, _, _ = memory(t, in)
	out, err = MoveData(in, 20, -1)
	require.NoError(t, err)
	got, _, _ = memory(t, out)
	assert.Equal(t, want, got)
	assert.Equal(t, byte(7), got[101])

	_, err = MoveData([]byte("not wasm"), 8, -1)
	assert.ErrorIs(t, err, errFormat)
	// A passive segment (flags 1: memory.init copies it) stays where it is.
	passive := []byte("\x00asm\x01\x00\x00\x00\x0b\x04\x01\x01\x01\x07")
	_, err = MoveData(passive, 8, -1)
	assert.ErrorIs(t, err, errFormat, "passive segments are not moved")
}

// A table that deflates well goes into DataSection, and the segments that do
// not stay in the data section: instantiation writes those, then the loader
// the runs, and memory is the same.
func TestMoveDataDeflates(t *testing.T) {
	var table []byte
	for i := 0; len(table) < 3*blockSize; i++ {
		table = append(table, byte(i/16), 0, 18, 2)
	}
	in := module(segment{64, []byte("go1.x")}, segment{1 << 20, table})
	want, _, _ := memory(t, in)
	out, err := MoveData(in, 20, 0.065)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 11, 0, 0}, sectionIDs(t, out), "the data section, the name section, then "+DataSection)
	got, n, runs := memory(t, out)
	assert.Equal(t, want, got, "memory is the same byte for byte")
	assert.Equal(t, 1, n, "the short segment stays")
	assert.Equal(t, 1, runs, "the table is one run")
	assert.Less(t, len(out), len(in)-len(table)*9/10, "the table shrinks to a tenth or less")

	// One that has DataSection already (a table left in its data section
	// too, which would be deflated) is kept as it is: a second section would
	// be one the loader never reads.
	moved := append(module(segment{1 << 20, table}), customSection(DataSection, []byte{DataFormat, 0})...)
	again, err := MoveData(moved, 20, 0.065)
	require.NoError(t, err)
	assert.Equal(t, moved, again, "a module that has "+DataSection+" already is kept as it is")
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
	want, _, _ := memory(t, module(segs...))
	out, err := MoveData(in, 20, -1)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 11, 0}, sectionIDs(t, out), "no data count section is left")
	got, _, _ := memory(t, out)
	assert.Equal(t, want, got)

	_, err = MoveData(withDataCount(3, segs...), 20, -1)
	assert.ErrorIs(t, err, errFormat)
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

// make wasm moved the regular part of the built module's data into
// DataSection, deflated, and left the rest in a few segments; Go's runtime
// data (its version string among it) is all there, with no zeros between
// segments.
func TestMoveDataSMHWasm(t *testing.T) {
	b, err := os.ReadFile("../../dist/smh.wasm")
	if os.IsNotExist(err) {
		t.Skip("no wasm/dist/smh.wasm: run make wasm")
	}
	require.NoError(t, err)
	mem, n, runs := memory(t, b)
	assert.Less(t, n, 200, "segments stored (Go writes about 52,000; make wasm merges them)")
	assert.Greater(t, n, 0, "some segments are stored")
	assert.Greater(t, runs, 0, "some runs are deflated")
	assert.Contains(t, string(mem), runtime.Version(), "Go's version string is in memory")
	// make wasm keeps go build's output in bin/: its data section sets up
	// the same memory, byte for byte.
	plain, err := os.ReadFile("../../../bin/smh-go.wasm")
	require.NoError(t, err, "make wasm leaves go build's output in bin/smh-go.wasm")
	want, _, _ := memory(t, plain)
	assert.True(t, bytes.Equal(want, mem), "the memory smh.wasm sets up is go build's (%d and %d bytes)", len(want), len(mem))
	again, err := MoveData(b, 8, -1)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(b, again), "a module moved already is kept as it is")
}
