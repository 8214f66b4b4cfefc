//go:build !js

// Command smh-bench is `make bench`: the browser benchmark of package web/bench. It uploads one source
// from headless Chromium with this module, with plain XHR PUTs (the physical limit) and with
// cos-js-sdk-v5, against a loopback emulator that hashes and discards, prints the table, and writes the
// whole report as JSON and the README's table as markdown.
//
// Usage (from the repository root, after make wasm and npm ci in web/bench):
//
//	smh-bench [-size 256M] [-rounds 3] [-startup 5] [-only module,limit] [-json web/bench/results.json] [-md web/bench/results.md]
//	smh-bench -queue [-rounds 3] [-link wan] [-queue-scenarios small,large,many] [-queue-protocols http/1.1,h2]   (queue.go)
//
// BENCH_SIZE, BENCH_ROUNDS and BENCH_STARTUP set the defaults of -size, -rounds and -startup; a size of
// 1G or more is fine, the source is a file on disk. -startup N also measures start-up (the bare page,
// cos-js-sdk-v5 and the module, cold, cold with preload tags and warm) in N rounds, before the
// uploads; -only startup measures start-up alone, and with -variants name=dir,… gives each build a row
// of its own in the same interleaved rounds (a change against the build it changes, on a shared
// machine); -startup-trace DIR writes Chromium's whole trace of each module visit.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smhupload/smh-upload/web/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "smh-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	defSize, defRounds, defStartup := envOr("BENCH_SIZE", "256M"), envOr("BENCH_ROUNDS", "3"), envOr("BENCH_STARTUP", "5")
	sizeFlag := flag.String("size", defSize, "source size: 256M, 1G, … (env BENCH_SIZE)")
	rounds := flag.Int("rounds", atoi(defRounds, 3), "rounds; each runs every contestant once, in a fresh browser (env BENCH_ROUNDS)")
	startup := flag.Int("startup", atoi(defStartup, 5), "rounds of the start-up table, each visiting every start-up row cold, cold with preloads and warm; 0: none (env BENCH_STARTUP)")
	startupStay := flag.Duration("startup-stay", bench.DefaultStartupStay, "the most a module's cold start-up visit stays on the page for V8 to write its wasm code cache (it leaves once the cache is on disk)")
	startupImmutable := flag.String("startup-immutable", "", "with -only startup: comma-separated -variants names whose files are served with a year's max-age instead of no-cache and an ETag")
	startupTrace := flag.String("startup-trace", "", "write Chromium's whole trace of each of the module's start-up visits into this directory (startup-<column>-r<round>.json, for Perfetto); the traced figures are not comparable")
	only := flag.String("only", "", "comma-separated contestant ids to run (default: "+ids(bench.Contestants())+"; also "+ids(bench.Extras())+"); startup alone: only the start-up table")
	dist := flag.String("dist", "wasm/dist", "the built module (make wasm)")
	sdk := flag.String("cos-sdk", "web/bench/node_modules/cos-js-sdk-v5/dist/cos-js-sdk-v5.min.js", "cos-js-sdk-v5's browser build (npm ci in web/bench)")
	chromium := flag.String("chromium", bench.DefaultChromium(), "Chromium (env SMH_CHROMIUM)")
	jsonOut := flag.String("json", "web/bench/results.json", "write the whole report here (empty: do not)")
	mdOut := flag.String("md", "web/bench/results.md", "write the README table here (empty: do not)")
	work := flag.String("work", "", "directory for the source file and browser profiles (default: a temporary one)")
	quiet := flag.Bool("q", false, "no progress lines on stderr")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up on one upload (and its browser) after this long")
	profile := flag.String("profile", "", "write a V8 CPU profile of each upload's main thread into this directory")
	candidate := flag.String("candidate", "", "also run the module built in this directory (smh.wasm, wasm_exec.js, smh-upload.js), checks on and off")
	linkFlag := flag.String("link", os.Getenv("BENCH_LINK"), "shape the paths from Chromium: to the emulator (the rate on the upload) and, for start-up, to the pages (the rate on the download); wan (40 ms RTT, 100 Mbit/s), lan (4 ms, 1 Gbit/s) or RTT,RATE like 40ms,10mbit (env BENCH_LINK)")
	variants := flag.String("variants", "", "also run these builds, verified, in their Worker: name=dir,name=dir,…; with -only startup, a start-up row each, in the same rounds")
	flag.Parse()

	size, err := bench.ParseSize(*sizeFlag)
	if err != nil {
		return err
	}
	cs := bench.Contestants()
	if *only != "" {
		cs = append(cs, bench.Extras()...)
	}
	if *candidate != "" {
		cs = append(cs, bench.Candidate(*candidate)...)
	}
	if *variants != "" {
		for _, v := range strings.Split(*variants, ",") {
			name, dir, ok := strings.Cut(v, "=")
			if !ok || name == "" || dir == "" {
				return fmt.Errorf("-variants %q: want name=dir,…", *variants)
			}
			cs = append(cs, bench.Variant(name, dir))
		}
	}
	var startupVariants []bench.Contestant
	if *only == "startup" {
		// No uploads; the variants get start-up rows of their own.
		startupVariants = slices.DeleteFunc(cs, func(c bench.Contestant) bool {
			return c.ModuleDir == "" || c.ID == "candidate-nocheck" || c.ID == "candidate-inpage"
		})
		cs = []bench.Contestant{}
		if *startup <= 0 {
			return fmt.Errorf("-only startup with -startup %d: nothing to run", *startup)
		}
	} else if *only != "" {
		want := strings.Split(*only, ",")
		for _, v := range strings.Split(*variants, ",") {
			if name, _, ok := strings.Cut(v, "="); ok {
				want = append(want, name)
			}
		}
		cs = slices.DeleteFunc(cs, func(c bench.Contestant) bool { return !slices.Contains(want, c.ID) })
		if len(cs) == 0 {
			return fmt.Errorf("-only %q names no contestant (ids: %s,%s)", *only, ids(bench.Contestants()), ids(bench.Extras()))
		}
	}
	var link *bench.Link
	if *linkFlag != "" {
		l, err := bench.ParseLink(*linkFlag)
		if err != nil {
			return err
		}
		link = &l
	}
	cfg := bench.Config{Link: link, Size: size, Rounds: *rounds, Chromium: *chromium, ModuleDir: *dist, COSSDK: *sdk,
		WorkDir: *work, Contestants: cs, ProfileDir: *profile, RunTimeout: *timeout, StartupRounds: *startup,
		StartupTraceDir: *startupTrace, StartupStay: *startupStay,
		StartupImmutable: splitList(*startupImmutable), StartupVariants: startupVariants}
	if !*quiet {
		start := time.Now()
		cfg.Logf = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "%6.1fs  "+format+"\n", append([]any{time.Since(start).Seconds()}, args...)...)
		}
	}
	if *queueMode {
		return runQueue(cfg, *linkFlag)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	rep.WriteText(os.Stdout)
	if *jsonOut != "" {
		if err := rep.WriteJSONFile(*jsonOut); err != nil {
			return err
		}
	}
	if *mdOut != "" {
		f, err := os.Create(*mdOut)
		if err != nil {
			return err
		}
		set := map[string]string{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = f.Value.String() })
		cmd := reproduce(set, *sizeFlag, *rounds, *startup, *linkFlag, *only)
		rep.WriteMarkdown(f, cmd)
		if err := f.Close(); err != nil {
			return err
		}
	}
	for _, r := range rep.Rows {
		if !r.Verified {
			return fmt.Errorf("%s: %d of %d runs failed or stored wrong bytes", r.Name, r.Failed, r.Runs)
		}
	}
	if rep.Startup != nil {
		for _, r := range rep.Startup.Runs {
			if r.Error != "" {
				return fmt.Errorf("start-up %s %s round %d: %s", r.Row, r.Column, r.Round, r.Error)
			}
		}
	}
	return nil
}

// makeFlags are the flags that make bench-browser passes from its variables, and local the ones
// that say where results go or where this machine keeps its tools, not what runs.
var (
	makeFlags = []string{"size", "rounds", "startup", "link", "only", "dist", "cos-sdk", "chromium"}
	local     = []string{"json", "md", "q", "work", "chromium", "cos-sdk"}
)

// reproduce is the command that repeats a run whose command line set the flags in set (name to value):
// the make command while make passes all of them (make bench also runs the native benchmark), else
// smh-bench itself with every flag that changes what runs, sorted, so that a README table of variants
// says how to get it again.
func reproduce(set map[string]string, size string, rounds, startup int, link, only string) string {
	var names []string
	makeDoes := true
	for name := range set {
		if !slices.Contains(local, name) {
			names = append(names, name)
			makeDoes = makeDoes && slices.Contains(makeFlags, name)
		}
	}
	if !makeDoes {
		slices.Sort(names)
		cmd := "go run ./web/bench/cmd/smh-bench"
		for _, name := range names {
			cmd += " -" + name + "=" + set[name]
		}
		return cmd
	}
	cmd := fmt.Sprintf("make bench-browser BENCH_SIZE=%s BENCH_ROUNDS=%d BENCH_STARTUP=%d", size, rounds, startup)
	if link != "" {
		cmd += " BENCH_LINK=" + link
	}
	if only != "" {
		cmd += " BENCH_ONLY=" + only
	}
	return cmd
}

func ids(cs []bench.Contestant) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.ID)
	}
	return strings.Join(s, ",")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func atoi(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n
	}
	return def
}

// splitList is the comma-separated items of s, none when s is empty.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
