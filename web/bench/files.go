//go:build !js

package bench

import (
	"bufio"
	"compress/gzip"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// Files: the random sources a run uploads, copies, and compressed sizes.

// writeSource writes size random bytes to path and returns their CRC-64/ECMA.
func writeSource(path string, size int64) (uint64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.NewChaCha8([32]byte{'s', 'm', 'h', 'b', 'e', 'n', 'c', 'h'})
	c := crc64.New(crc64.MakeTable(crc64.ECMA))
	if _, err := io.CopyN(io.MultiWriter(w, c), rng, size); err != nil {
		f.Close()
		return 0, err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	return c.Sum64(), f.Close()
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// gzipSize returns the file's size raw and compressed at gzip level 9 (Go's compress/gzip, about 1% larger
// than GNU gzip -9, which the Makefile's budget uses).
func gzipSize(path string) (int64, int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	var n countWriter
	zw, _ := gzip.NewWriterLevel(&n, gzip.BestCompression)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		return 0, 0, err
	}
	return int64(len(b)), int64(n), nil
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }
