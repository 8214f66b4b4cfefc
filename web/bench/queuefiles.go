//go:build !js

package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/smhupload/smh-upload/smh"
)

// The files a queue run uploads: the module staged for the run, the small and
// the many files generated in the page, and the large ones on disk.

// stageModule copies the module's files from dir into dst, so that a rebuild during the run cannot mix
// versions.
func stageModule(dir, dst string) error {
	for _, name := range []string{"smh.wasm", "wasm_exec.js", "smh-upload.js"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("bench: the module (make wasm): %w", err)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Type().IsRegular() {
			if err := copyFile(filepath.Join(dir, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// generatedSource is file i of a generated scenario, as queue.js's fill() makes it: the xorshift32 stream
// seeded by (i + 1) · 2654435761.
func generatedSource(i int, n int64) []byte {
	b := make([]byte, n)
	x := uint32(uint64(i+1) * 2654435761)
	if x == 0 {
		x = 1
	}
	for j := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[j] = byte(x)
	}
	return b
}

// generatedName is queue.js's name(i).
func generatedName(i int) string { return fmt.Sprintf("f%05d.bin", i) }

func generatedFiles(n int, sz int64) []queueFile {
	out := make([]queueFile, n)
	for i := range out {
		out[i] = queueFile{name: generatedName(i), size: sz, crc: smh.UpdateCRC64(0, generatedSource(i, sz))}
	}
	return out
}

// largeFiles writes one random source of n × sz bytes and its n pieces, each a file of its own, so that
// the queue and the single upload send the same bytes.
func largeFiles(dir string, n int, sz int64) (single, pieces []queueFile, err error) {
	whole := filepath.Join(dir, fmt.Sprintf("whole-%d.bin", int64(n)*sz))
	crc, err := writeSource(whole, int64(n)*sz)
	if err != nil {
		return nil, nil, err
	}
	single = []queueFile{{name: filepath.Base(whole), size: int64(n) * sz, crc: crc, local: whole}}
	src, err := os.Open(whole)
	if err != nil {
		return nil, nil, err
	}
	defer src.Close()
	for i := range n {
		p := queueFile{name: fmt.Sprintf("big-%02d.bin", i), size: sz, local: filepath.Join(dir, fmt.Sprintf("big-%02d.bin", i))}
		f, err := os.Create(p.local)
		if err != nil {
			return nil, nil, err
		}
		c := smh.NewCRC64()
		_, err = io.CopyN(io.MultiWriter(f, c), src, sz)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, nil, err
		}
		p.crc = c.Sum64()
		pieces = append(pieces, p)
	}
	return single, pieces, nil
}
