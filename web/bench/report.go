//go:build !js

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// This file renders a Report: a table for the terminal, the README's markdown table, and JSON.

// WriteText writes the table for a terminal.
func (rep *Report) WriteText(w io.Writer) {
	if len(rep.Rows) > 0 {
		fmt.Fprintf(w, "%s, %d round(s), source CRC-64 %s; ", size(rep.Size), rep.Rounds, rep.SourceCRC64)
	}
	fmt.Fprintf(w, "%s, %d CPUs, %s; load %s → %s\n", rep.Machine.Chromium, rep.Machine.CPUs, rep.Machine.Go,
		rep.Machine.LoadStart, rep.Machine.LoadEnd)
	if rep.Startup != nil {
		rep.writeStartupText(w) // with smh.wasm's sizes
	} else {
		fmt.Fprintf(w, "smh.wasm %s: %d bytes, %d gzipped, %d Brotli; cos-js-sdk-v5 %s\n", rep.Module, rep.WasmRaw, rep.WasmGzip, rep.WasmBrotli, rep.COSSDK)
	}
	if len(rep.Rows) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-42s %18s %6s %8s %31s %5s %6s %13s %11s %6s %6s %6s %6s %11s %6s %5s %4s\n",
		"uploader", "MiB/s med (range)", "ratio", "done s", "CPU/GiB brw/rnd/net/oth=chrome", "×lim", "server",
		"main cpu/busy", "stalls", "heap", "AB+", "wasm+", "rss+", "ready (own)", "req/pt", "noisy", "ok")
	lim := rep.limitCPU()
	for _, r := range rep.Rows {
		fmt.Fprintf(w, "%-42s %18s %6s %8.1f %31s %5s %6.2f %13s %11s %6.1f %6.1f %6.1f %6.1f %11s %6.2f %5d %4s\n",
			r.Name, speed(r), ratio(r), r.Seconds, r.PerGiB.breakdown(), cpuRatio(r, lim), r.PerGiB.Server,
			fmt.Sprintf("%.3f/%.3f", r.MainCPU, r.MainBusy), stalls(r), mib(r.HeapPeak), mib(r.ABGrowth),
			mib(r.WasmGrowth), mib(r.RSSGrowth), ready(r), r.PerPart, r.Noisy, okText(r))
	}
	fmt.Fprintln(w, "\nratio: median over the faster median of the reference rows; done s: median seconds to done;")
	fmt.Fprintln(w, "CPU/GiB: core·seconds per GiB uploaded of Chromium's browser, renderer, network-service and other")
	fmt.Fprintln(w, "processes (= their total); ×lim: that total over the limit row's; server: the emulator's (this")
	fmt.Fprintln(w, "process's) core·s per GiB; noisy: runs in which processes outside the benchmark used > 0.1 core;")
	fmt.Fprintln(w, "main cpu/busy: the page's main thread, cores")
	fmt.Fprintln(w, "(ThreadTime / TaskDuration over wall time); rend./chrome/server: CPU cores of the renderer, of all")
	fmt.Fprintln(w, "Chromium processes and of the emulator; stalls: 10 ms timer ticks > 50 ms late (longest lateness);")
	fmt.Fprintln(w, "heap: JS heap peak; AB+/wasm+/rss+: growth of ArrayBuffer backing stores, WebAssembly memory and")
	fmt.Fprintln(w, "renderer RSS, MiB; ready: ms from navigation (own start-up after the page's script started);")
	fmt.Fprintln(w, "req/pt: requests at the emulator, CORS preflights included, per part. Speed and CPU are medians;")
	fmt.Fprintln(w, "stalls and memory are the worst run.")
	for _, r := range rep.Rows {
		if r.Note != "" {
			fmt.Fprintf(w, "note, %s: %s\n", r.Name, r.Note)
		}
	}
	for _, r := range rep.Runs {
		if r.Error != "" {
			fmt.Fprintf(w, "failed, %s round %d: %s\n", r.Contestant, r.Round, r.Error)
		}
	}
}

// WriteMarkdown writes the README's tables (the uploads', the start-up's), with the command that made
// them.
func (rep *Report) WriteMarkdown(w io.Writer, command string) {
	if rep.Startup != nil {
		rep.writeStartupMarkdown(w, command) // with smh.wasm's sizes
		if len(rep.Rows) == 0 {
			return
		}
		fmt.Fprintln(w)
	}
	header := []string{fmt.Sprintf("uploader (%s, %d rounds%s)", size(rep.Size), rep.Rounds, rep.linkText()),
		"MiB/s, median (min–max)", "vs the faster of limit and cos 8 MiB × 4", "seconds to done",
		"browser-side CPU per GiB, core·s: browser / renderer / network / other = total", "vs the limit's CPU",
		"emulator CPU per GiB", "main thread, cores: CPU (busy)", "stalls > 50 ms (longest)", "JS heap peak",
		"ArrayBuffer growth", "Wasm memory growth", "renderer RSS growth", "ready after navigation (own start-up)",
		"requests per part", "bytes verified"}
	fmt.Fprintf(w, "| %s |\n", strings.Join(header, " | "))
	// The delimiter row must have one cell per header cell, or no Markdown renderer draws the table.
	fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(header)))
	lim := rep.limitCPU()
	for _, r := range rep.Rows {
		fmt.Fprintf(w, "| %s | %s | %s | %.1f | %s | %s | %.1f | %.3f (%.3f) | %s | %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB | %s | %.2f | %s |\n",
			r.Name, speed(r), ratio(r), r.Seconds, r.PerGiB.breakdown(), cpuRatio(r, lim), r.PerGiB.Server, r.MainCPU, r.MainBusy, stalls(r), mib(r.HeapPeak), mib(r.ABGrowth),
			mib(r.WasmGrowth), mib(r.RSSGrowth), ready(r), r.PerPart, okText(r))
	}
	fmt.Fprintf(w, "\nHeadless %s, %d CPUs (load average %s at the start, %s at the end), %s",
		rep.Machine.Chromium, rep.Machine.CPUs, rep.Machine.LoadStart, rep.Machine.LoadEnd, rep.Machine.Go)
	if rep.Startup == nil { // else the start-up table gives them
		fmt.Fprintf(w, "; smh.wasm %.2f MiB, %.2f MiB gzipped, %.2f MiB Brotli", mib(rep.WasmRaw), mib(rep.WasmGzip), mib(rep.WasmBrotli))
	}
	fmt.Fprint(w, ".")
	fmt.Fprintf(w, " Speed and CPU are medians, stalls and memory the worst run. `%s`, %s.", command, rep.Date.Format("2006-01-02"))
	if n := rep.noisyRuns(); n > 0 {
		fmt.Fprintf(w, " %d of %d runs were noisy (processes outside the benchmark used more than %.1f core).", n, len(rep.Runs), NoisyCores)
	} else {
		fmt.Fprintf(w, " No run was noisy (processes outside the benchmark used at most %.1f core).", NoisyCores)
	}
	fmt.Fprintln(w)
	for _, r := range rep.Rows {
		if r.Note != "" {
			fmt.Fprintf(w, "\n%s: %s.\n", r.Name, r.Note)
		}
	}
}

// WriteJSONFile writes the whole report, every run included.
func (rep *Report) WriteJSONFile(path string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// breakdown is "browser / renderer / network / other = total", other including the GPU process.
func (c CPUPerGiB) breakdown() string {
	return fmt.Sprintf("%.1f / %.1f / %.1f / %.1f = %.1f", c.Browser, c.Renderer, c.Network, c.GPU+c.Other, c.Chromium)
}

// limitCPU is the Chromium CPU per GiB of the limit row, 0 if it did not run.
func (rep *Report) limitCPU() float64 {
	for _, r := range rep.Rows {
		if r.ID == IDLimit && r.Runs > r.Failed {
			return r.PerGiB.Chromium
		}
	}
	return 0
}

func cpuRatio(r Row, limit float64) string {
	if limit == 0 || r.Runs == r.Failed {
		return "—"
	}
	return fmt.Sprintf("%.2f×", r.PerGiB.Chromium/limit)
}

func (rep *Report) noisyRuns() int {
	n := 0
	for _, r := range rep.Runs {
		if r.Noisy {
			n++
		}
	}
	return n
}

// linkText is ", <link>" for a shaped run, "" on loopback.
func (rep *Report) linkText() string {
	if rep.Link == "" {
		return ""
	}
	return ", " + rep.Link
}

func speed(r Row) string {
	if r.Runs == r.Failed {
		return "failed"
	}
	return fmt.Sprintf("%.0f (%.0f–%.0f)", r.MedianMiB, r.MinMiB, r.MaxMiB)
}

func ratio(r Row) string {
	if r.Ratio == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", r.Ratio)
}

func stalls(r Row) string { return fmt.Sprintf("%d (%.0f ms)", r.Stalls, r.LongestMs) }

func ready(r Row) string { return fmt.Sprintf("%.0f (%.0f)", r.ReadyMs, r.StartMs) }

func okText(r Row) string {
	switch {
	case r.Failed == 0:
		return "yes"
	case r.Failed == r.Runs:
		return "no"
	}
	return fmt.Sprintf("%d of %d failed", r.Failed, r.Runs)
}

func size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= MiB && n%MiB == 0:
		return fmt.Sprintf("%d MiB", n/MiB)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ParseSize reads "256M", "1G", "16MiB", "1GiB" or a number of bytes.
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	switch {
	case strings.HasSuffix(t, "K"):
		mult, t = 1<<10, t[:len(t)-1]
	case strings.HasSuffix(t, "M"):
		mult, t = MiB, t[:len(t)-1]
	case strings.HasSuffix(t, "G"):
		mult, t = 1<<30, t[:len(t)-1]
	}
	var n int64
	if _, err := fmt.Sscan(t, &n); err != nil || n <= 0 {
		return 0, fmt.Errorf("bench: size %q: want e.g. 256M, 1G or bytes", s)
	}
	return n * mult, nil
}
