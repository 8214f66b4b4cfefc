# smh-upload. `make demo` runs the demo, `make test` runs everything CI runs;
# both install what they need (pinned Go tools and npm packages, Debian's
# Chromium when it is missing).
GO      ?= go
GOROOT  := $(shell $(GO) env GOROOT)
PKGS    := ./...
BIN     := $(CURDIR)/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DIST        := wasm/dist
SITE        := web/page/site
# The budgets of smh.wasm, issue #15's targets: 3.5 MB raw and 1 MiB gzip -9
# (3,194,601 and 1,029,642 on 2026-12-07); make wasm fails over either.
WASM_RAW_BUDGET  := 3500000
WASM_GZIP_BUDGET := 1048576
# After the build, smh.wasm's data segments are merged and their regular
# parts deflated into its custom section smh.data (wasmsize -movedata), which
# smh-upload-run.js inflates (DecompressionStream) and writes into memory
# before Go starts; the rest stays in the data section, which instantiation
# writes. Go's function-lookup table comes as about 50,000 tiny segments 18
# zero bytes apart: as data segments their headers cost gzip 78 KB and
# Brotli 49 KB, and kept apart in smh.data the loader's loop over them took
# 20 ms before Go could start. Segments at most WASM_PACK_GAP zero bytes
# apart are merged (256: 5 are left, 2.09 MB with the zeros between), and
# each 32 KiB chunk of them on which Brotli then loses at most
# WASM_DEFLATE_LOSS of the raw bytes that deflate saves is deflated (-1:
# none): the table and its zeros deflate to a small fraction at no Brotli
# cost, Go's name and pc tables Brotli compresses better than deflate.
# December 2026: 4.75 MB raw as data segments, 3.43 MB here (gzip -11 KB,
# Brotli +23 KB); all deflated, 3.07 MB but Brotli +72 KB. The deflated
# runs are one stream, which the loader reads in one go.
WASM_PACK_GAP := 256
WASM_DEFLATE_LOSS := 0.075
# The browser module's Go experiments, for its builds and its tests alike.
# nogreenteagc: Go 1.26's previous garbage collector. Green Tea's span
# scanning is 49 KB of smh.wasm (13 KB gzip); under Node's V8 an allocating
# benchmark ran no slower without it. Go 1.27 is expected to drop the
# opt-out; then this line goes.
WASM_GOEXPERIMENT := nogreenteagc
# Packages of the browser module compiled without inlining, which also keeps
# their functions from being inlined into callers: fmt, time, net/url,
# internal/fmtsort, reflect and strings format errors, build URLs, read
# clocks, convert options (vert) and parse JSON, never loop over a file's
# bytes, and their inlined copies cost smh.wasm 38 KB gzip. Under Node's V8
# (interleaved rounds): fmt.Errorf 1.5 -> 2.2 us, a path escaped and a query
# encoded 2.9 -> 5.4 us (once a request), time methods 1.04x, a vert round
# trip no slower, a 200-part list answer parsed 134 -> 181 us; hashing and
# allocation unchanged. The runtime, strconv and what loops over bytes call
# keep inlining. The wasm package too (its JS conversions, XHR and events run
# per call or per chunk, never per byte): -3.5 KB gzip, -5 KB Brotli. And smh,
# the engine (per part, per request, per event; the CRC loop over the bytes
# is its own package, smh/internal/crc64ecma, which keeps inlining): -15 KB
# raw, -9 KB gzip, -7 KB Brotli.
WASM_GCFLAGS := -gcflags=fmt=-l -gcflags=time=-l -gcflags=net/url=-l -gcflags=internal/fmtsort=-l -gcflags=reflect=-l -gcflags=strings=-l \
	-gcflags=github.com/smhupload/smh-upload/wasm=-l -gcflags=github.com/smhupload/smh-upload/smh=-l
# wasmbrowsertest runs GOOS=js tests in headless Chromium; go test finds it
# on PATH as go_js_wasm_exec. Pinned, in a project-local directory named by
# its version so a new pin installs afresh.
WBT_VERSION := v0.11.0
WBT_DIR     := $(BIN)/wasmbrowsertest-$(WBT_VERSION)
WBT         := $(WBT_DIR)/go_js_wasm_exec
CHROMIUM    := /usr/bin/chromium
# binaryen's wasm-opt, Debian's (108 in bookworm): make wasm runs -Oz on Go's
# output. It rewrites Go's padded LEB128s and shares code, so smh.wasm is
# 6 % smaller raw (gzip +0.2 %, Brotli +1 %), and every start-up streams,
# hashes and decodes that much less: in a 5-round start-up run, 15-18 ms
# sooner and 22-55 ms less CPU per visit. Its features are Go's output's.
WASM_OPT    := /usr/bin/wasm-opt
WASM_OPT_FLAGS := -Oz --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory --enable-mutable-globals
WORKER_DIR   := web/worker
WORKER_BUILD := $(WORKER_DIR)/build
WORKERD      := $(CURDIR)/$(WORKER_DIR)/node_modules/.bin/workerd
EMULATOR_FLAGS ?=
# SDKs default to https: for the storage host; a page on http://localhost calls plain HTTP (EMULATOR_TLS=).
EMULATOR_TLS   ?= -tls
# The browser benchmark's competitor, cos-js-sdk-v5, pinned in web/bench/package-lock.json.
BENCH_DIR    := web/bench
BENCH_SDK    := $(BENCH_DIR)/node_modules/cos-js-sdk-v5/dist/cos-js-sdk-v5.min.js
BENCH_SIZE   ?= 256M
BENCH_ROUNDS ?= 3
# BENCH_LINK shapes the path to the emulator: wan (40 ms RTT, 100 Mbit/s), lan (4 ms, 1 Gbit/s) or RTT,RATE.
BENCH_LINK   ?=
# BENCH_ONLY picks rows by id (see `go run ./web/bench/cmd/smh-bench -h`); empty: the default rows;
# startup: the start-up table alone.
BENCH_ONLY   ?=
# BENCH_STARTUP: rounds of the start-up table (bare page, cos-js-sdk-v5, the module: cold, cold with the
# README's preload tags, warm); 0 leaves it out.
BENCH_STARTUP ?= 5
# BENCH_QUEUE_SCENARIOS picks the queue benchmark's scenarios (small,large,many); empty: all.
BENCH_QUEUE_SCENARIOS ?=
# BENCH_QUEUE_PROTOCOLS picks the small scenario's protocols: http/1.1 (h1, plain HTTP), h2 (HTTPS, HTTP/2);
# empty: both, in the same run.
BENCH_QUEUE_PROTOCOLS ?=
# BENCH_QUEUE_VARIANT: smh.queue() options as JSON, e.g. {"files":32}: the small and large scenarios also run the queue with them.
BENCH_QUEUE_VARIANT ?=
# wasm/npm holds package.json (its version is the package's) and README.md;
# make package stages them with the built module in wasm/dist/npm and packs it.
NPM_DIR     := wasm/npm
PKG_VERSION := $(shell node -p 'require("./$(NPM_DIR)/package.json").version' 2>/dev/null)
PACKAGE     := $(CURDIR)/smh-upload-$(PKG_VERSION).tgz
PKG_STAGE   := $(DIST)/npm
# The package tests' Vite, webpack, esbuild and TypeScript, pinned in $(BUNDLER_DIR)/package-lock.json.
BUNDLER_DIR := $(NPM_DIR)/bundlertest
BUNDLERS    := $(BUNDLER_DIR)/node_modules/.bin/vite

.PHONY: size package publish-check all test vet test-native test-browser test-node wasm wasm-gohello demo web worker emulator bench bench-go bench-browser bench-queue matrix screenshot

all: test

## test: vet, then every test: native with -race (demo in Chromium, Worker in workerd), browser, Node
test: vet test-native test-browser test-node

## vet: go vet for the native and the browser builds
vet:
	$(GO) vet $(PKGS)
	GOOS=js GOARCH=wasm $(GO) vet $(PKGS)

# The native tests drive the demo in Chromium and run the Worker build in
# workerd; SMH_REQUIRE_BROWSER makes those tests fail, not skip, if anything
# they need is missing.
test-native: wasm worker package $(UPPY_PAGE) $(WORKERD) $(CHROMIUM) $(BENCH_SDK) $(BUNDLERS)
	SMH_REQUIRE_BROWSER=1 SMH_CHROMIUM=$(CHROMIUM) SMH_WORKERD=$(WORKERD) SMH_WORKER_BUILD=$(CURDIR)/$(WORKER_BUILD) \
		SMH_NPM_PACKAGE=$(PACKAGE) \
		$(GO) test -race -count=1 $(PKGS)

# ---- the browser module ----

# The module's JavaScript, in wasm/: the API (smh-upload.js), its Worker's
# entry (smh-upload-worker.js), what both run (smh-upload-run.js) and the
# page's side of queue() (smh-upload-folders.js). What ships of it: the API
# and the Worker's entry, each bundled by esbuild
# (go tool, pinned in go.mod) with what it imports, the Worker's with
# wasm_exec.js, so that a page fetches one file before load() runs and the
# Worker one before it can start Go. Not minified: a page's own bundler does
# that, and the files stay readable where they are served as they are.
MODULE_JS := $(DIST)/smh-upload.js $(DIST)/smh-upload-worker.js
ESBUILD   := $(GO) tool esbuild --bundle --format=esm --target=es2022 --log-level=warning
GO_NOTICE := // Includes the wasm_exec.js of $(shell $(GO) env GOVERSION): Copyright 2018 The Go Authors. All rights reserved. Use of this source code is governed by a BSD-style license that can be found in Go's LICENSE file.

# ship_wasm makes Go's output $(1) the shipped $(2)/smh.wasm, with its .gz
# and .br beside it: wasm-opt, the data segments moved and partly deflated
# (wasmsize), gzip -9 and Brotli 11. make wasm and make wasm-gohello share it,
# so that the empty Go program is always shrunk as the module is.
define ship_wasm
$(WASM_OPT) $(WASM_OPT_FLAGS) $(1) -o $(2)/smh.wasm
$(GO) run ./wasm/internal/wasmsize/cmd -movedata $(WASM_PACK_GAP) -deflate $(WASM_DEFLATE_LOSS) $(2)/smh.wasm
gzip -9 -n -c $(2)/smh.wasm > $(2)/smh.wasm.gz
$(GO) run ./wasm/internal/brotli $(2)/smh.wasm
endef

## wasm: build wasm/dist/{smh.wasm,smh.wasm.br,smh.wasm.gz,wasm_exec.js,smh-upload*.js,smh-upload.d.ts}, ./wasm_exec.js, and the demo's copies; prints raw, gzip and Brotli sizes
wasm: $(WASM_OPT)
	@if GOOS=js GOARCH=wasm $(GO) list -deps ./wasm/... | grep -qx net/http; then \
		echo "wasm: the browser build must not link net/http" >&2; exit 1; fi
	@mkdir -p $(DIST) $(BIN)
	@# Go's output stays in bin/ as go build wrote it: go build leaves a file
	@# whose build ID is current alone, and the moved smh.wasm keeps that ID,
	@# so a new -movedata setting would otherwise never reach dist/.
	GOOS=js GOARCH=wasm GOEXPERIMENT=$(WASM_GOEXPERIMENT) $(GO) build -trimpath $(WASM_GCFLAGS) -ldflags='-s -w -X main.version=$(VERSION)' -o $(BIN)/smh-go.wasm ./wasm
	$(call ship_wasm,$(BIN)/smh-go.wasm,$(DIST))
	cp "$(GOROOT)/lib/wasm/wasm_exec.js" wasm_exec.js
	rm -f $(DIST)/*.js
	cp wasm_exec.js wasm/smh-upload.d.ts $(DIST)/
	$(ESBUILD) wasm/smh-upload.js --outfile=$(DIST)/smh-upload.js
	$(ESBUILD) wasm/smh-upload-worker.js --inject:wasm_exec.js --banner:js="$(GO_NOTICE)" --outfile=$(DIST)/smh-upload-worker.js
	cp $(DIST)/smh.wasm $(DIST)/smh.wasm.br $(DIST)/smh.wasm.gz $(DIST)/wasm_exec.js $(MODULE_JS) $(SITE)/
	@raw=$$(wc -c < $(DIST)/smh.wasm); gz=$$(wc -c < $(DIST)/smh.wasm.gz); br=$$(wc -c < $(DIST)/smh.wasm.br); \
		echo "smh.wasm: $$raw bytes raw (budget $(WASM_RAW_BUDGET)), $$gz gzip -9 (budget $(WASM_GZIP_BUDGET)), $$br Brotli 11"; \
		if [ $$raw -gt $(WASM_RAW_BUDGET) ]; then echo "wasm: smh.wasm is over its raw budget" >&2; exit 1; fi; \
		if [ $$gz -gt $(WASM_GZIP_BUDGET) ]; then echo "wasm: smh.wasm is over its gzip budget" >&2; exit 1; fi

## wasm-gohello: an empty Go program (web/bench/gohello) built as smh.wasm is, next to the module's loader in bin/gohello/dist and alone in bin/gohello/floor: smh-bench -only startup -variants gohello=bin/gohello/dist,gohellofloor=bin/gohello/floor measures what Go's runtime alone costs the start-up
GOHELLO := $(BIN)/gohello
wasm-gohello: wasm
	@mkdir -p $(GOHELLO)/dist $(GOHELLO)/floor
	GOOS=js GOARCH=wasm GOEXPERIMENT=$(WASM_GOEXPERIMENT) $(GO) build -trimpath -ldflags='-s -w' -o $(GOHELLO)/go.wasm ./web/bench/gohello
	$(call ship_wasm,$(GOHELLO)/go.wasm,$(GOHELLO)/dist)
	cp $(DIST)/smh-upload.js $(DIST)/smh-upload-worker.js $(DIST)/wasm_exec.js $(GOHELLO)/dist/
	cp $(GOHELLO)/dist/smh.wasm $(GOHELLO)/dist/smh.wasm.br $(GOHELLO)/dist/smh.wasm.gz $(GOHELLO)/floor/

## size: what each Go package adds to smh.wasm's code, largest first (an unstripped build of the same code, whose name section names every function)
size:
	@mkdir -p $(BIN)
	GOOS=js GOARCH=wasm GOEXPERIMENT=$(WASM_GOEXPERIMENT) $(GO) build -trimpath $(WASM_GCFLAGS) -ldflags='-X main.version=$(VERSION)' -o $(BIN)/smh-names.wasm ./wasm
	$(GO) run ./wasm/internal/wasmsize/cmd -top 25 $(BIN)/smh-names.wasm

# ---- the npm package ----


## package: smh-upload-$(PKG_VERSION).tgz, the npm package (npm pack), for `npm install ./smh-upload-*.tgz`
package: wasm
	rm -rf $(PKG_STAGE) && mkdir -p $(PKG_STAGE)
	cp $(NPM_DIR)/package.json $(NPM_DIR)/README.md $(DIST)/smh.wasm $(DIST)/wasm_exec.js $(MODULE_JS) wasm/smh-upload.d.ts wasm/smh-upload-uppy.js wasm/smh-upload-uppy.d.ts $(PKG_STAGE)/
	chmod 644 $(PKG_STAGE)/*
	cd $(PKG_STAGE) && npm pack --silent --pack-destination $(CURDIR) >/dev/null
	@echo "package: $(PACKAGE)"

$(BUNDLERS): $(BUNDLER_DIR)/package.json $(BUNDLER_DIR)/package-lock.json
	cd $(BUNDLER_DIR) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

## publish-check: npm publish --dry-run of the staged package (asks the npm registry)
publish-check: package
	cd $(PKG_STAGE) && npm publish --dry-run

## test-browser: the wasm tests in headless Chromium against emulators on 127.0.0.1
test-browser: wasm $(WBT) $(CHROMIUM)
	PATH="$(WBT_DIR):$$PATH" GOEXPERIMENT=$(WASM_GOEXPERIMENT) $(GO) run ./wasm/browsertest -dist $(DIST) -chromium $(CHROMIUM) -- -count=1 ./wasm/...

$(WBT):
	GOBIN="$(WBT_DIR)" $(GO) install github.com/agnivade/wasmbrowsertest@$(WBT_VERSION)
	mv "$(WBT_DIR)/wasmbrowsertest" "$@"

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

$(WASM_OPT):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y binaryen

# ---- the demo and its Worker build ----

## demo: the demo page and token broker on 127.0.0.1:8080 (SMH_DEMO_ADDR), on the embedded emulator unless SMH_* name a library
demo web: wasm $(UPPY_PAGE)
	$(GO) run ./web/cmd/smh-demo

# The demo's Uppy page (site/uppy.html): web/page/uppy/main.js bundled with
# Uppy, pinned with the package tests' tools, by esbuild; the module itself
# stays the site's own ./smh-upload.js.
UPPY_PAGE := $(SITE)/uppy.js
$(UPPY_PAGE): web/page/uppy/main.js wasm/smh-upload-uppy.js $(BUNDLERS)
	NODE_PATH=$(CURDIR)/$(BUNDLER_DIR)/node_modules $(BUNDLER_DIR)/node_modules/.bin/esbuild web/page/uppy/main.js \
		--bundle --format=esm --minify --external:./smh-upload.js --outfile=$@ --log-level=warning

## worker: the demo as a Cloudflare Worker in web/worker/build (deploy with wrangler from web/worker)
worker: wasm $(UPPY_PAGE)
	$(GO) run github.com/syumai/workers/cmd/workers-assets-gen -mode=go -o $(WORKER_BUILD)
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $(WORKER_BUILD)/app.wasm ./web/cmd/smh-worker
	@echo "worker: $$(wc -c < $(WORKER_BUILD)/app.wasm) bytes, $$(gzip -9 -c $(WORKER_BUILD)/app.wasm | wc -c) gzipped"

$(WORKERD): $(WORKER_DIR)/package.json $(WORKER_DIR)/package-lock.json
	cd $(WORKER_DIR) && npm ci --no-audit --no-fund
	@touch $@

## screenshot: refresh web/demo.png and web/queue.png, the README's pictures of the demo
screenshot: wasm $(UPPY_PAGE) $(CHROMIUM)
	SMH_REQUIRE_BROWSER=1 SMH_SCREENSHOT=$(CURDIR)/web/demo.png $(GO) test -count=1 -run TestDemoUploadsAFile ./web/
	SMH_REQUIRE_BROWSER=1 SMH_SCREENSHOT_QUEUE=$(CURDIR)/web/queue.png $(GO) test -count=1 -run TestDemoQueuePage ./web/

# ---- the emulator ----

## emulator: the SMH + COS emulator for any SMH client: HTTPS (EMULATOR_TLS= for HTTP), API on 127.0.0.1:8090, first stdout line is JSON
emulator:
	$(GO) run ./smh/cmd/smh-emulator $(EMULATOR_TLS) $(EMULATOR_FLAGS)

## test-node: a whole upload by the wire format, from Node with fetch alone, against the built emulator; and the loader of smh.wasm's data
test-node: wasm
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/smh-emulator ./smh/cmd/smh-emulator
	node smh/cmd/smh-emulator/testdata/wire.mjs $(BIN)/smh-emulator
	node wasm/testdata/data.mjs $(DIST)/smh.wasm

## matrix: run the fault matrices, natively and in headless Chromium, and write both tables into README.md
matrix: wasm $(WBT) $(CHROMIUM)
	SMH_MATRIX_README=$(CURDIR)/README.md $(GO) test -count=1 -run TestFaultMatrix ./smh/
	SMH_MATRIX_README=$(CURDIR)/README.md PATH="$(WBT_DIR):$$PATH" GOEXPERIMENT=$(WASM_GOEXPERIMENT) $(GO) run ./wasm/browsertest -dist $(DIST) -chromium $(CHROMIUM) -- -count=1 -run TestFaultMatrix ./wasm/

# ---- benchmarks (not part of make test) ----

## bench: the upload benchmarks, native and in the browser, and the queue's
bench: bench-go bench-browser bench-queue

## bench-go: 256 MiB to the in-process emulator on loopback, interleaved with plain PUTs (the baseline) in the same run
bench-go:
	$(GO) test -run '^$$' -bench Interleaved -benchtime 5x -count 1 ./smh/

## bench-browser: the start-up table ($(BENCH_STARTUP) rounds), then $(BENCH_SIZE) from headless Chromium, $(BENCH_ROUNDS) interleaved rounds: the module (checks on, off), plain XHR PUTs and cos-js-sdk-v5, to an emulator that discards, on loopback or through BENCH_LINK; tables on stdout, web/bench/results.{json,md}
bench-browser: wasm $(CHROMIUM) $(BENCH_SDK)
	$(GO) run ./web/bench/cmd/smh-bench -size $(BENCH_SIZE) -rounds $(BENCH_ROUNDS) -startup $(BENCH_STARTUP) -link "$(BENCH_LINK)" -only "$(BENCH_ONLY)" -dist $(DIST) -cos-sdk $(BENCH_SDK) -chromium $(CHROMIUM)

## bench-queue: issue #17's queue targets from headless Chromium, $(BENCH_ROUNDS) interleaved rounds: 1,000 × 16 KiB (queue vs cos-js-sdk-v5 uploadFiles, loopback and BENCH_LINK, default wan, each over HTTP/1.1 and HTTP/2: BENCH_QUEUE_PROTOCOLS), 20 × 32 MiB (queue vs one upload() of the same bytes), 10,000 files queued (main thread, stalls); BENCH_QUEUE_SCENARIOS picks some; tables on stdout, web/bench/queue-results.{json,md}
bench-queue: wasm $(CHROMIUM) $(BENCH_SDK)
	$(GO) run ./web/bench/cmd/smh-bench -queue -rounds $(BENCH_ROUNDS) -link "$(BENCH_LINK)" -queue-scenarios "$(BENCH_QUEUE_SCENARIOS)" -queue-protocols "$(BENCH_QUEUE_PROTOCOLS)" -queue-variant '$(BENCH_QUEUE_VARIANT)' -dist $(DIST) -cos-sdk $(BENCH_SDK) -chromium $(CHROMIUM)

$(BENCH_SDK): $(BENCH_DIR)/package.json $(BENCH_DIR)/package-lock.json
	cd $(BENCH_DIR) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@
