//go:build !js

// Command wasmsize prints what each Go package contributes to a .wasm's
// code, largest first, as a Markdown table (make size).
//
//	go run ./wasm/internal/wasmsize/cmd [-top N] [-funcs PREFIX] FILE.wasm
//
// With -funcs it lists the top functions whose names start with PREFIX
// instead ("" for all, "time." for package time): what to look at when a
// package is bigger than it should be. With -movedata N it rewrites FILE
// with its data segments at most N zero bytes apart merged and, with
// -deflate, their regular parts deflated into a custom section (MoveData),
// which smh-upload-run.js writes into memory: make wasm does this, for the
// raw and the compressed sizes alike.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/smhupload/smh-upload/wasm/internal/wasmsize"
)

func main() {
	top := flag.Int("top", 25, "packages (or functions, with -funcs) listed")
	funcs := flag.String("funcs", "\x00", "list the largest functions whose names start with this prefix")
	move := flag.Int("movedata", -1, "rewrite FILE with its data segments at most this many zero bytes apart merged, and with -deflate the regular parts of them in the custom section "+wasmsize.DataSection)
	loss := flag.Float64("deflate", -1, "with -movedata, deflate into "+wasmsize.DataSection+" the 32 KiB chunks of the segments on which Brotli loses at most this share of the raw bytes saved (-1: none)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: wasmsize [-top N] [-funcs PREFIX | -movedata N [-deflate LOSS]] FILE.wasm")
		os.Exit(2)
	}
	b, err := os.ReadFile(flag.Arg(0))
	if err == nil && *move >= 0 {
		if b, err = wasmsize.MoveData(b, *move, *loss); err == nil {
			err = writeFile(flag.Arg(0), b)
		}
		if err == nil {
			return
		}
	}
	if err == nil {
		var rep *wasmsize.Report
		if rep, err = wasmsize.Analyze(b); err == nil {
			if *funcs == "\x00" {
				fmt.Print(rep.Markdown(*top))
				return
			}
			n := 0
			for _, f := range rep.Funcs {
				if strings.HasPrefix(f.Name, *funcs) && n < *top {
					fmt.Printf("%8d %s\n", f.Bytes, f.Name)
					n++
				}
			}
			return
		}
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// writeFile replaces name through a temporary file in its folder, so that a
// server reading the folder never sees half a module.
func writeFile(name string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
