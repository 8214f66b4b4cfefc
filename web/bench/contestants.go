//go:build !js

package bench

// The contestants: the rows a run can have, and their defaults.

import ()

// Kind is how a contestant uploads.
type Kind string

// The kinds of contestant.
const (
	KindModule Kind = "module" // this module, wasm/dist
	KindXHR    Kind = "xhr"    // the physical limit: plain XHR PUTs, nothing checked
	KindCOS    Kind = "cos"    // cos-js-sdk-v5 sliceUploadFile
)

// Contestant is one row of the table.
type Contestant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// PartSize and Concurrency: 0 means the contestant's own default.
	PartSize    int64 `json:"partSize"`
	Concurrency int   `json:"concurrency"`
	// Verify is the module's integrity check (CRC-64 of every part and of the file); off passes
	// disableIntegrityCheck: true.
	Verify bool `json:"verify"`
	// InPage runs the module in the page (load({ worker: false })) instead of its Worker.
	InPage bool `json:"inPage,omitempty"`
	// Warm has the module upload 4 MiB (4 parts) before it is ready, so the measured upload runs on code
	// the browser has already compiled and optimized: a page's second upload.
	Warm bool `json:"warm,omitempty"`
	// Body, for the limit, is "read" to read each part once through a stream while its Blob.slice() is
	// sent ("readmin": each read filling its 1 MiB view, "pieces": in 4 MiB arrayBuffer() calls instead), or "buffer" (XHR) or "fetch" to send each part's bytes read into an ArrayBuffer instead of its
	// Blob.slice(); nothing is hashed.
	Body string `json:"body,omitempty"`
	// Reference marks the rows the ratios are taken against: the faster of them is 1.00×.
	Reference bool `json:"reference"`
	// ModuleDir, for a module row, loads the module from this directory instead of Config.ModuleDir: a
	// candidate build measured against the current one in the same interleaved run.
	ModuleDir string `json:"moduleDir,omitempty"`
}

// Candidate returns module rows for the build in dir, with and without checks and in the page, to run
// next to Contestants().
func Candidate(dir string) []Contestant {
	return []Contestant{
		{ID: "candidate", Name: "candidate: smh-upload, CRC-64 verified", Kind: KindModule, Verify: true, ModuleDir: dir},
		{ID: "candidate-nocheck", Name: "candidate: smh-upload, checks off", Kind: KindModule, ModuleDir: dir},
		{ID: "candidate-inpage", Name: "candidate: smh-upload in the page, verified", Kind: KindModule, Verify: true, InPage: true, ModuleDir: dir},
	}
}

// Variant returns a verified module row, run in its Worker, for the build in dir: one of several builds
// compared in one run (smh-bench -variants name=dir,…).
func Variant(name, dir string) Contestant {
	return Contestant{ID: name, Name: "variant " + name + ": smh-upload, CRC-64 verified", Kind: KindModule, Verify: true, ModuleDir: dir}
}

// Contestant ids of the default set.
const (
	IDModule        = "module"
	IDModuleNoCheck = "module-nocheck"
	IDModuleInPage  = "module-inpage"
	IDLimit         = "limit"
	IDLimitBuffer   = "limit-buffer"
	IDLimitRead     = "limit-read"
	IDModuleWarm    = "module-warm"
	IDLimitFetch    = "limit-fetch"
	IDLimitPieces   = "limit-pieces"
	IDLimitReadMin  = "limit-readmin"
	IDCOS           = "cos-8x4"
	IDCOSDefaults   = "cos-defaults"
)

// COSSDKVersion is the cos-js-sdk-v5 that package.json pins.
const COSSDKVersion = "1.10.1"

// Contestants returns the default rows: the module with its defaults (8 MiB × 4) with and without its
// checks, and run in the page instead of its Worker, the limit and cos-js-sdk-v5 with the same 8 MiB × 4, and cos-js-sdk-v5 with its own defaults
// (1 MiB × 3).
func Contestants() []Contestant {
	return []Contestant{
		{ID: IDModule, Name: "smh-upload, CRC-64 verified (defaults)", Kind: KindModule, Verify: true},
		{ID: IDModuleNoCheck, Name: "smh-upload, checks off", Kind: KindModule},
		{ID: IDModuleInPage, Name: "smh-upload in the page (worker: false), verified", Kind: KindModule, Verify: true, InPage: true},
		{ID: IDLimit, Name: "limit: plain XHR PUTs, nothing checked", Kind: KindXHR, PartSize: 8 * MiB, Concurrency: 4, Reference: true},
		{ID: IDCOS, Name: "cos-js-sdk-v5 " + COSSDKVersion + ", 8 MiB × 4", Kind: KindCOS, PartSize: 8 * MiB, Concurrency: 4, Reference: true},
		{ID: IDCOSDefaults, Name: "cos-js-sdk-v5 " + COSSDKVersion + ", defaults (1 MiB × 3)", Kind: KindCOS},
	}
}

// Extras returns rows that are not run by default (smh-bench -only picks them): the module's second
// upload in a page, whose code the browser has already compiled and optimized; and variants of the limit
// with nothing hashed: each part's Blob.slice() sent and also read once through a stream, what a
// verifying uploader that sends slices pays before it hashes; and each part read into an ArrayBuffer and
// sent from it, by XHR and by fetch, what reading once and sending those bytes would cost.
func Extras() []Contestant {
	return []Contestant{
		{ID: IDModuleWarm, Name: "smh-upload, CRC-64 verified, the page's second upload", Kind: KindModule, Verify: true, Warm: true},
		{ID: IDLimitRead, Name: "plain XHR PUTs, each part also read once by JS", Kind: KindXHR, PartSize: 8 * MiB, Concurrency: 4, Body: "read"},
		{ID: IDLimitReadMin, Name: "plain XHR PUTs, each part also read once by JS, 1 MiB per read ({ min })", Kind: KindXHR, PartSize: 8 * MiB, Concurrency: 4, Body: "readmin"},
		{ID: IDLimitPieces, Name: "plain XHR PUTs, each part also read once by JS in 4 MiB arrayBuffer() pieces", Kind: KindXHR, PartSize: 8 * MiB, Concurrency: 4, Body: "pieces"},
		{ID: IDLimitBuffer, Name: "plain XHR PUTs of each part read into an ArrayBuffer", Kind: KindXHR, PartSize: 8 * MiB, Concurrency: 4, Body: "buffer"},
		{ID: IDLimitFetch, Name: "plain fetch PUTs of each part read into an ArrayBuffer", Kind: KindXHR, PartSize: 8 * MiB, Concurrency: 4, Body: "fetch"},
	}
}
