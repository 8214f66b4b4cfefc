package purehash

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCopiesMatchCrypto checks the portable copies against crypto/md5 and
// crypto/sha256 on every length through four blocks and some longer ones,
// written whole and in uneven pieces (so the partial-block buffer is
// exercised), and summed twice (Sum must not disturb the state).
func TestCopiesMatchCrypto(t *testing.T) {
	for _, tc := range []struct {
		name       string
		copy, want func() hash.Hash
	}{
		{"md5", newMD5, md5.New},
		{"sha256", newSHA256, sha256.New},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			data := make([]byte, 1<<20+77)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			lengths := []int{1 << 16, 1<<16 + 1, 1<<20 - 1, len(data)}
			for n := 0; n <= 4*64+1; n++ {
				lengths = append(lengths, n)
			}
			for _, n := range lengths {
				want := tc.want()
				want.Write(data[:n])
				whole := tc.copy()
				require.Equal(t, want.Size(), whole.Size())
				require.Equal(t, want.BlockSize(), whole.BlockSize())
				whole.Write(data[:n])
				assert.Equal(t, want.Sum(nil), whole.Sum(nil), "length %d, one write", n)

				pieces := tc.copy()
				for off := 0; off < n; {
					k := min(n-off, 1+rng.IntN(150))
					pieces.Write(data[off : off+k])
					off += k
				}
				first := pieces.Sum([]byte("prefix"))
				assert.Equal(t, append([]byte("prefix"), want.Sum(nil)...), first, "length %d, pieces", n)
				assert.Equal(t, want.Sum(nil), pieces.Sum(nil), "length %d, second Sum", n)

				pieces.Reset()
				pieces.Write(data[:n])
				assert.Equal(t, want.Sum(nil), pieces.Sum(nil), "length %d, after Reset", n)
			}
		})
	}
}

// TestNewKnownAnswers checks the exported constructors (the copies on
// js/wasm, crypto/* elsewhere) against RFC 1321's and FIPS 180-2's "abc".
func TestNewKnownAnswers(t *testing.T) {
	assert.Equal(t, md5.Size, MD5Size)
	assert.Equal(t, sha256.Size, SHA256Size)
	m, s := NewMD5(), NewSHA256()
	m.Write([]byte("abc"))
	s.Write([]byte("abc"))
	assert.Equal(t, "900150983cd24fb0d6963f7d28e17f72", hex.EncodeToString(m.Sum(nil)))
	assert.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hex.EncodeToString(s.Sum(nil)))
}
