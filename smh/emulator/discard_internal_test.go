package emulator

import (
	"hash/crc64"
	"math/rand/v2"
	"testing"
)

func TestCRC64Combine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for _, cut := range [][]int{{0}, {1}, {7, 8}, {1 << 20, 2 << 20}, {5, 1<<20 + 3, 3 << 20}, {len(data)}} {
		var crc uint64
		var size int64
		prev := 0
		for _, c := range append(cut, len(data)) {
			crc = crc64Combine(crc, crc64.Checksum(data[prev:c], ecmaTable), int64(c-prev))
			size += int64(c - prev)
			prev = c
		}
		if want := crc64.Checksum(data, ecmaTable); crc != want || size != int64(len(data)) {
			t.Errorf("cuts %v: combined %d, want %d", cut, crc, want)
		}
	}
}
