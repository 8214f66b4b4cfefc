//go:build js && wasm

// Command gohello is an empty Go program that answers smh-upload.js's
// start-up as the module does (the callback named by its argument, with a
// version): built as smh.wasm is (make wasm-gohello) and run by the same
// loader, it measures what Go's runtime alone costs the start-up, which no
// change to the module can take away (smh-bench -only startup -variants).
package main

import (
	"os"
	"syscall/js"
)

func main() {
	api := js.Global().Get("Object").New()
	api.Set("version", "gohello")
	js.Global().Get(os.Args[1]).Invoke(api)
	select {} // as the module: its Worker lives on
}
