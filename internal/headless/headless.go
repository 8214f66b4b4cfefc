//go:build !js

// Package headless holds what every chromedp run in this repository (the
// demo's tests, the package tests, the bench) starts Chromium with: headless,
// as root, offline, in a profile of its own.
package headless

import (
	"strings"

	"github.com/chromedp/chromedp"
)

// Options are the allocator options for the Chromium at bin with a fresh
// profile in the folder profile. --no-sandbox because tests run as root;
// the rest keep a machine with no network from waiting on Google's services.
func Options(bin, profile string, extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	return append(opts, extra...)
}

// Errorf wraps logf for chromedp.WithErrorf, dropping the "could not
// unmarshal event" lines that a Chromium newer than chromedp's protocol
// prints: they are not failures.
func Errorf(logf func(string, ...any)) func(string, ...any) {
	return func(format string, args ...any) {
		if !strings.Contains(format, "could not unmarshal event") {
			logf(format, args...)
		}
	}
}
