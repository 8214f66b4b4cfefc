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

// NewCRC64 and UpdateCRC64 give hash/crc64's sums for every length around
// the 16-byte steps, at every alignment, and when fed in pieces.
func TestCRC64MatchesTheStandardLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 1<<16+33)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for n := 0; n <= 70; n++ {
		for off := 0; off < 3; off++ {
			p := data[off : off+n]
			assert.Equal(t, crc64.Checksum(p, ECMATable), UpdateCRC64(0, p), "%d bytes at %d", n, off)
		}
	}
	want := crc64.New(ECMATable)
	got := NewCRC64()
	for off := 0; off < len(data); {
		k := min(rng.IntN(5000), len(data)-off)
		want.Write(data[off : off+k])
		got.Write(data[off : off+k])
		off += k
	}
	assert.Equal(t, want.Sum64(), got.Sum64())
	assert.Equal(t, want.Sum([]byte("x")), got.Sum([]byte("x")), "Sum appends the big-endian CRC")
	assert.Equal(t, want.Size(), got.Size())
	got.Reset()
	assert.Equal(t, crc64.Checksum(nil, ECMATable), got.Sum64())
	assert.Equal(t, crc64.Checksum(data[:5], ECMATable), UpdateCRC64(UpdateCRC64(0, data[:2]), data[2:5]), "chained")
}

func FuzzCRC64(f *testing.F) {
	f.Add([]byte("123456789"), uint64(0))
	f.Add(make([]byte, 33), uint64(1)<<63)
	f.Fuzz(func(t *testing.T, p []byte, crc uint64) {
		assert.Equal(t, crc64.Update(crc, ECMATable, p), UpdateCRC64(crc, p))
	})
}

// BenchmarkCRC64 measures the part CRC against hash/crc64 in the same run:
// go test -run '^$' -bench CRC64 ./smh/ (and with GOOS=js GOARCH=wasm).
func BenchmarkCRC64(b *testing.B) {
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	b.Run("hash-crc64", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			crc64.Update(0, ECMATable, data)
		}
	})
	b.Run("smh", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			UpdateCRC64(0, data)
		}
	})
}

// ECMATable, built here, is hash/crc64's own table for ECMA, and sums the
// catalogue's check value (CRC-64/XZ, which is what COS computes).
func TestECMATable(t *testing.T) {
	assert.Equal(t, *crc64.MakeTable(crc64.ECMA), *ECMATable)
	assert.Equal(t, uint64(0x995dc9bbdf1939fa), crc64.Checksum([]byte("123456789"), ECMATable))
	assert.Equal(t, uint64(0x995dc9bbdf1939fa), UpdateCRC64(0, []byte("123456789")))
}
