//go:build !js

// Command wasmsize prints what each Go package contributes to a .wasm's
// code, largest first, as a Markdown table (make size).
//
//	go run ./wasm/internal/wasmsize/cmd [-top N] [-funcs PREFIX] FILE.wasm
//
// With -funcs it lists the top functions whose names start with PREFIX
// instead ("" for all, "time." for package time): what to look at when a
// package is bigger than it should be.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/smhupload/smh-upload/wasm/internal/wasmsize"
)

func main() {
	top := flag.Int("top", 25, "packages (or functions, with -funcs) listed")
	funcs := flag.String("funcs", "\x00", "list the largest functions whose names start with this prefix")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: wasmsize [-top N] [-funcs PREFIX] FILE.wasm")
		os.Exit(2)
	}
	b, err := os.ReadFile(flag.Arg(0))
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
