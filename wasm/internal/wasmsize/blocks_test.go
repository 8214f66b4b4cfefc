//go:build !js

package wasmsize

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blockKinds are the offsets in the image and the kinds (true: deflated)
// of payload's blocks, in the order they are stored.
func blockKinds(t *testing.T, payload []byte) (at []int, deflated []bool) {
	require.Equal(t, byte(DataFormat), payload[0])
	r := &reader{b: payload, off: 1}
	r.uleb()
	for r.off < len(payload) {
		a, h := r.uleb(), r.uleb()
		require.NoError(t, r.err)
		at = append(at, a)
		deflated = append(deflated, h&1 == 1)
		r.off += h >> 1
	}
	return at, deflated
}

func TestPackBlocks(t *testing.T) {
	// Two chunks of a regular table, then two of random bytes (which deflate
	// cannot shrink), then one more regular chunk.
	var image []byte
	for i := 0; len(image) < 2*blockSize; i++ {
		image = append(image, byte(i/16), 0, 18, 2)
	}
	noise := make([]byte, 2*blockSize)
	rng := rand.NewChaCha8([32]byte{1})
	_, _ = rng.Read(noise)
	image = append(image, noise...)
	image = append(image, bytes.Repeat([]byte("go:buildid\x00"), blockSize/11+1)[:blockSize]...)

	payload, err := packBlocks(image, 0.065)
	require.NoError(t, err)
	at, deflated := blockKinds(t, payload)
	assert.Equal(t, []int{2 * blockSize, 0, 4 * blockSize}, at, "the stored block first, then the deflated ones; adjacent chunks of a kind are one block")
	assert.Equal(t, []bool{false, true, true}, deflated)
	assert.Less(t, len(payload), len(image)-3*blockSize+3*blockSize/10, "the regular chunks shrink to a tenth or less")
	got, err := unpackBlocks(payload)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(image, got), "the blocks decode to the image")

	payload, err = packBlocks(image, -1)
	require.NoError(t, err)
	at, deflated = blockKinds(t, payload)
	assert.Equal(t, []int{0}, at, "maxLoss < 0 stores the image as one block")
	assert.Equal(t, []bool{false}, deflated)
	got, err = unpackBlocks(payload)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(image, got))
}

func TestUnpackBlocksDamaged(t *testing.T) {
	image := bytes.Repeat([]byte{7, 0, 0, 1}, blockSize)
	payload, err := packBlocks(image, 0.065)
	require.NoError(t, err)
	for name, p := range map[string][]byte{
		"another format":       append([]byte{DataFormat + 1}, payload[1:]...),
		"empty":                {},
		"cut off":              payload[:len(payload)-10],
		"a block short":        payload[:len(payload)-len(payload)/2],
		"an image longer":      append(append([]byte{DataFormat}, appendULEB(nil, uint64(len(image)+1))...), payload[1+len(appendULEB(nil, uint64(len(image)))):]...),
		"deflate bytes broken": append(append([]byte(nil), payload[:len(payload)-40]...), bytes.Repeat([]byte{0xff}, 40)...),
	} {
		_, err := unpackBlocks(p)
		assert.ErrorIs(t, err, errFormat, name)
	}
}
