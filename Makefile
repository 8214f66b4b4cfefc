# smh-upload: make test runs everything CI runs; make demo runs the demo.
GO      ?= go
GOROOT  := $(shell $(GO) env GOROOT)
PKGS    := ./...

.PHONY: all test vet test-native bench

all: test

## test: vet and all tests (what CI runs)
test: vet test-native

## vet: go vet for the native and the browser build
vet:
	$(GO) vet $(PKGS)
	GOOS=js GOARCH=wasm $(GO) vet ./smh/

test-native:
	$(GO) test -race -count=1 $(PKGS)

## bench: the Go upload benchmark against the emulator on loopback
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./smh/
