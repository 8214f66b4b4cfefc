//go:build js && wasm

// Command wasm is the browser build of package smh, loaded by smh-upload.js:
// a JS API (upload, with pause, resume, cancel and a done Promise) over the
// smh upload engine, with fetch for SMH API calls and XMLHttpRequest for
// part uploads straight from Blob slices. It is thin: it converts between JS
// and Go values and plugs browser transports into package smh, where all
// upload logic lives. It does not link net/http.
package main

import (
	"os"
	"runtime/debug"
	"syscall/js"
)

// version is the module version, set at build time with
// -ldflags "-X main.version=…".
var version = "devel"

// main hands the API to the loader: smh-upload.js passes the name of a
// global function as the first argument, so several instances (and other Go
// modules) can live in one page.
func main() {
	// The live heap is about a megabyte, and most garbage is js.Value
	// handles whose finalizer records the GC pacer does not count, so the
	// default trigger (4 MiB of heap) lets them pile up for gigabytes of
	// upload. A lower GOGC keeps the module's memory flat for the cost of a
	// few small collections per GiB.
	debug.SetGCPercent(25)
	var cb js.Value
	if len(os.Args) > 1 {
		cb = js.Global().Get(os.Args[1])
	}
	if cb.Type() != js.TypeFunction {
		js.Global().Get("console").Call("error", "smh-upload: load this module with smh-upload.js")
		return
	}
	cb.Invoke(newAPI())
	select {} // serve callbacks for the life of the page
}
