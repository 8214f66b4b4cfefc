//go:build !js

package wasmsize

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memory is the linear memory a module's data section sets up.
func memory(t *testing.T, b []byte) ([]byte, int) {
	r := &reader{b: b, off: 8}
	for r.off < len(b) {
		id := r.byte()
		size := r.uleb()
		end := r.off + size
		if id == 11 {
			segs, err := readSegments(&reader{b: b[:end], off: r.off})
			require.NoError(t, err)
			var mem []byte
			for _, s := range segs {
				if n := s.addr + len(s.data); n > len(mem) {
					mem = append(mem, make([]byte, n-len(mem))...)
				}
				copy(mem[s.addr:], s.data)
			}
			return mem, len(segs)
		}
		r.off = end
	}
	return nil, 0
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

func TestPackData(t *testing.T) {
	in := module(segment{100, []byte{1, 2}}, segment{120, []byte{3}}, segment{64, []byte{9}},
		segment{200, []byte{4, 4}}, segment{1 << 20, []byte{5}})
	out, err := PackData(in, 20)
	require.NoError(t, err)
	want, n := memory(t, in)
	require.Equal(t, 5, n)
	got, n := memory(t, out)
	assert.Equal(t, want, got, "memory is the same byte for byte")
	assert.Equal(t, 4, n, "only 100 and 120 are within 20 bytes of each other")
	assert.Equal(t, in[len(in)-7:], out[len(out)-7:], "sections after the data section are kept")

	out, err = PackData(in, 1<<21)
	require.NoError(t, err)
	got, n = memory(t, out)
	assert.Equal(t, want, got)
	assert.Equal(t, 1, n)

	_, err = PackData([]byte("not wasm"), 8)
	assert.ErrorIs(t, err, errFormat)
}

func TestSLEB(t *testing.T) {
	for _, v := range []int64{0, 1, 63, 64, 127, 128, 8191, 8192, 1 << 20, 1<<31 - 1} {
		r := &reader{b: appendSLEB(nil, v)}
		assert.Equal(t, int(v), r.sleb(), v)
		assert.NoError(t, r.err)
	}
}

// make wasm packed the built module, and packing it again keeps its memory.
func TestPackDataSMHWasm(t *testing.T) {
	b, err := os.ReadFile("../../dist/smh.wasm")
	if os.IsNotExist(err) {
		t.Skip("no wasm/dist/smh.wasm: run make wasm")
	}
	require.NoError(t, err)
	want, n := memory(t, b)
	assert.Less(t, n, 1000, "segments in the built module (Go writes about 48,000)")
	out, err := PackData(b, 1<<10)
	require.NoError(t, err)
	got, _ := memory(t, out)
	assert.Equal(t, want, got)
}
