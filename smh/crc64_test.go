package smh

import (
	"hash/crc64"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCombineCRC64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	whole := crc64.Checksum(data, ECMATable)
	for _, cut := range []int{0, 1, 1 << 20, len(data) - 1, len(data)} {
		a, b := data[:cut], data[cut:]
		got := CombineCRC64(crc64.Checksum(a, ECMATable), crc64.Checksum(b, ECMATable), int64(len(b)))
		assert.Equal(t, whole, got, "cut at %d", cut)
	}
	// many parts, as the engine combines them
	var acc uint64
	for off := 0; off < len(data); off += 700_001 {
		end := min(off+700_001, len(data))
		acc = CombineCRC64(acc, crc64.Checksum(data[off:end], ECMATable), int64(end-off))
	}
	assert.Equal(t, whole, acc)
	// the documented COS example value round-trips through the formatter
	assert.Equal(t, "15060521397700495958", FormatCRC64(15060521397700495958))
}
