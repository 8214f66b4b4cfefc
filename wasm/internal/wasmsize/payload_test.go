//go:build !js

package wasmsize

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// image is the memory that segs write, from address 0 on.
func image(segs ...[]segment) []byte {
	var mem []byte
	for _, ss := range segs {
		for _, s := range ss {
			if n := s.addr + len(s.data); n > len(mem) {
				mem = append(mem, make([]byte, n-len(mem))...)
			}
			copy(mem[s.addr:], s.data)
		}
	}
	return mem
}

func addrs(segs []segment) []int {
	var out []int
	for _, s := range segs {
		out = append(out, s.addr)
	}
	return out
}

func TestPackData(t *testing.T) {
	// A segment of two chunks of a regular table, two of random bytes (which
	// deflate cannot shrink) and one more regular chunk; then a short one.
	var data []byte
	for i := 0; len(data) < 2*blockSize; i++ {
		data = append(data, byte(i/16), 0, 18, 2)
	}
	noise := make([]byte, 2*blockSize)
	rng := rand.NewChaCha8([32]byte{1})
	_, _ = rng.Read(noise)
	data = append(data, noise...)
	data = append(data, bytes.Repeat([]byte("go:buildid\x00"), blockSize/11+1)[:blockSize]...)
	const base, far = 1000, 1 << 20
	segs := []segment{{base, data}, {far, []byte{1, 2, 3}}}

	stored, payload, err := packData(segs, 0.065)
	require.NoError(t, err)
	assert.Equal(t, []int{base + 2*blockSize, far}, addrs(stored), "the noise and the short segment stay stored")
	assert.Len(t, stored[0].data, 2*blockSize, "adjacent chunks of a kind are one run")
	assert.Less(t, len(payload), 3*blockSize/10, "the regular chunks shrink to a tenth or less")
	runs, err := unpackData(payload)
	require.NoError(t, err)
	assert.Equal(t, []int{base, base + 4*blockSize}, addrs(runs))
	assert.True(t, bytes.Equal(image(segs), image(stored, runs)), "the segments and runs write the segments' memory")

	stored, payload, err = packData(segs, -1)
	require.NoError(t, err)
	assert.Nil(t, payload, "maxLoss < 0 deflates nothing")
	assert.Equal(t, segs, stored, "and stores each segment as it is")
}

func TestUnpackDataDamaged(t *testing.T) {
	data := bytes.Repeat([]byte{7, 0, 0, 1}, blockSize)
	stored, payload, err := packData([]segment{{64, data}}, 0.065)
	require.NoError(t, err)
	require.Empty(t, stored)
	// The header: the format, one run, its address, its length, which
	// "inflates to less" changes.
	r := &reader{b: payload, off: 1}
	require.Equal(t, 1, r.uleb())
	require.Equal(t, 64, r.uleb())
	head := payload[:r.off]
	require.Equal(t, len(data), r.uleb())
	require.NoError(t, r.err)
	rest := payload[r.off:]
	for name, p := range map[string][]byte{
		"another format":       append([]byte{DataFormat - 1}, payload[1:]...),
		"empty":                {},
		"cut off":              payload[:len(payload)-10],
		"a header cut off":     payload[:len(head)],
		"inflates to less":     append(appendULEB(append([]byte(nil), head...), uint64(len(data)+1)), rest...),
		"deflate bytes broken": append(append([]byte(nil), payload[:len(payload)-40]...), bytes.Repeat([]byte{0xff}, 40)...),
	} {
		_, err := unpackData(p)
		assert.ErrorIs(t, err, errFormat, name)
	}
	_, err = unpackData(payload)
	assert.NoError(t, err)
}
