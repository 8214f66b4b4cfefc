//go:build !js

// Command brotli writes FILE.br beside each FILE, Brotli at quality 11, so a
// static host can send smh.wasm precompressed: compressing on the fly uses a
// fast setting, and 11 is about a quarter smaller than gzip -9. It is a build
// tool run by `make wasm` (gzip -9 writes the .gz: it beats compress/gzip's
// best by about 16 KB on smh.wasm): native only, never linked into the
// browser module.
//
//	go run ./wasm/internal/brotli FILE...
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/andybalholm/brotli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: brotli FILE...")
		os.Exit(2)
	}
	for _, name := range os.Args[1:] {
		if err := compress(name); err != nil {
			fmt.Fprintln(os.Stderr, "brotli:", err)
			os.Exit(1)
		}
	}
}

// compress writes name.br through a temporary file in the same folder, so a
// server reading the folder never sees half a file.
func compress(name string) error {
	src, err := os.Open(name)
	if err != nil {
		return err
	}
	defer src.Close()
	out := name + ".br"
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".*")
	if err != nil {
		return err
	}
	// 0644 like any build output: a web server reading the folder as another user must read it.
	err = tmp.Chmod(0o644)
	if err == nil {
		w := brotli.NewWriterLevel(tmp, brotli.BestCompression)
		_, err = io.Copy(w, src)
		err = errors.Join(err, w.Close())
	}
	err = errors.Join(err, tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), out)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("compress %s: %w", name, err)
	}
	return nil
}
