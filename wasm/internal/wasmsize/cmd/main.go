//go:build !js

// Command wasmsize prints what each Go package contributes to a .wasm's
// code, largest first, as a Markdown table (make size).
//
//	go run ./wasm/internal/wasmsize/cmd [-top N] FILE.wasm
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/smhupload/smh-upload/wasm/internal/wasmsize"
)

func main() {
	top := flag.Int("top", 25, "packages listed before the rest is summed")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: wasmsize [-top N] FILE.wasm")
		os.Exit(2)
	}
	b, err := os.ReadFile(flag.Arg(0))
	if err == nil {
		var rep *wasmsize.Report
		if rep, err = wasmsize.Analyze(b); err == nil {
			fmt.Print(rep.Markdown(*top))
			return
		}
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
