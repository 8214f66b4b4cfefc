//go:build !js

package wasmsize

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blockKinds are the addresses and the kinds (true: deflated) of payload's
// blocks, in the order they are stored.
func blockKinds(t *testing.T, payload []byte) (addrs []int, deflated []bool) {
	require.Equal(t, byte(DataFormat), payload[0])
	r := &reader{b: payload, off: 1}
	for r.off < len(payload) {
		a, h := r.uleb(), r.uleb()
		if h&1 == 1 {
			r.uleb()
		}
		require.NoError(t, r.err)
		addrs = append(addrs, a)
		deflated = append(deflated, h&1 == 1)
		r.off += h >> 1
	}
	return addrs, deflated
}

// image is the memory that segs write, from address 0 on.
func image(segs []segment) []byte {
	var mem []byte
	for _, s := range segs {
		if n := s.addr + len(s.data); n > len(mem) {
			mem = append(mem, make([]byte, n-len(mem))...)
		}
		copy(mem[s.addr:], s.data)
	}
	return mem
}

func TestPackBlocks(t *testing.T) {
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

	payload, err := packBlocks(segs, 0.065)
	require.NoError(t, err)
	addrs, deflated := blockKinds(t, payload)
	assert.Equal(t, []int{base + 2*blockSize, far, base, base + 4*blockSize}, addrs,
		"the stored blocks first, then the deflated ones; adjacent chunks of a kind are one block")
	assert.Equal(t, []bool{false, false, true, true}, deflated)
	assert.Less(t, len(payload), len(data)-3*blockSize+3*blockSize/10, "the regular chunks shrink to a tenth or less")
	got, err := unpackBlocks(payload)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(image(segs), image(got)), "the blocks write the segments' memory")

	payload, err = packBlocks(segs, -1)
	require.NoError(t, err)
	addrs, deflated = blockKinds(t, payload)
	assert.Equal(t, []int{base, far}, addrs, "maxLoss < 0 stores each segment as one block")
	assert.Equal(t, []bool{false, false}, deflated)
	got, err = unpackBlocks(payload)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(image(segs), image(got)))
}

func TestUnpackBlocksDamaged(t *testing.T) {
	data := bytes.Repeat([]byte{7, 0, 0, 1}, blockSize)
	payload, err := packBlocks([]segment{{64, data}}, 0.065)
	require.NoError(t, err)
	_, deflated := blockKinds(t, payload)
	require.Equal(t, []bool{true}, deflated)
	// The one block's header: its address, its length << 1 | 1, then the
	// length it inflates to, which "inflates to less" changes.
	r := &reader{b: payload, off: 1}
	r.uleb()
	r.uleb()
	head := payload[:r.off]
	require.Equal(t, len(data), r.uleb())
	require.NoError(t, r.err)
	rest := payload[r.off:]
	for name, p := range map[string][]byte{
		"another format":       append([]byte{DataFormat + 1}, payload[1:]...),
		"empty":                {},
		"cut off":              payload[:len(payload)-10],
		"a header cut off":     payload[:len(head)],
		"inflates to less":     append(appendULEB(append([]byte(nil), head...), uint64(len(data)-1)), rest...),
		"deflate bytes broken": append(append([]byte(nil), payload[:len(payload)-40]...), bytes.Repeat([]byte{0xff}, 40)...),
	} {
		_, err := unpackBlocks(p)
		assert.ErrorIs(t, err, errFormat, name)
	}
	_, err = unpackBlocks(payload)
	assert.NoError(t, err)
}
