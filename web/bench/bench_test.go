//go:build !js

package bench_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/web/bench"
)

// needs returns the harness's inputs, or skips the test when one is missing: the module (make wasm), the
// pinned cos-js-sdk-v5 (npm ci in web/bench) and Chromium. make test sets SMH_REQUIRE_BROWSER, which makes
// a missing input a failure instead, as for the demo's tests in package web.
func needs(t *testing.T) bench.Config {
	t.Helper()
	cfg := bench.Config{
		ModuleDir: filepath.Join("..", "..", "wasm", "dist"),
		COSSDK:    filepath.Join("node_modules", "cos-js-sdk-v5", "dist", "cos-js-sdk-v5.min.js"),
		Chromium:  bench.DefaultChromium(),
	}
	for what, path := range map[string]string{
		"the browser module (make wasm)":         filepath.Join(cfg.ModuleDir, "smh.wasm"),
		"cos-js-sdk-v5 (npm ci in web/bench)":    cfg.COSSDK,
		"Chromium at " + cfg.Chromium:            cfg.Chromium,
		"wasm_exec.js in wasm/dist (make wasm)":  filepath.Join(cfg.ModuleDir, "wasm_exec.js"),
		"smh-upload.js in wasm/dist (make wasm)": filepath.Join(cfg.ModuleDir, "smh-upload.js"),
	} {
		if _, err := os.Stat(path); err != nil {
			if os.Getenv("SMH_REQUIRE_BROWSER") != "" {
				t.Fatalf("needs %s", what)
			}
			t.Skipf("needs %s: run make test", what)
		}
	}
	return cfg
}

// run16 runs contestants (the default rows when nil) once each with a 16 MiB file.
func run16(t *testing.T, contestants []bench.Contestant) (bench.Config, *bench.Report) {
	t.Helper()
	cfg := needs(t)
	cfg.Size, cfg.Rounds = 16*bench.MiB, 1
	cfg.WorkDir = t.TempDir()
	cfg.RunTimeout = 2 * time.Minute
	cfg.Logf = t.Logf
	if contestants != nil {
		cfg.Contestants = contestants
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := bench.Run(ctx, cfg)
	require.NoError(t, err)
	return cfg, rep
}

// TestHarness runs the benchmark small (16 MiB, one round) to prove that it works: every contestant
// completes and the emulator holds the source's bytes (its size and CRC-64). Speeds are not asserted.
func TestHarness(t *testing.T) {
	cfg, rep := run16(t, nil)

	require.Len(t, rep.Runs, len(bench.Contestants()))
	for _, r := range rep.Runs {
		assert.Empty(t, r.Error, "%s", r.Contestant)
		assert.True(t, r.Verified, "%s stored %d bytes, CRC-64 %s; the source has %d, %s", r.Contestant,
			r.StoredSize, r.StoredCRC64, cfg.Size, rep.SourceCRC64)
		assert.Positive(t, r.Parts, "%s", r.Contestant)
		assert.GreaterOrEqual(t, r.Requests["part"], r.Parts, "%s: every part reached the emulator", r.Contestant)
		// The CPU columns come from /proc: the browser and its renderer always work during an upload, and the
		// emulator hashes every byte.
		assert.Positive(t, r.PerGiB.Browser, "%s: browser CPU per GiB", r.Contestant)
		assert.Positive(t, r.PerGiB.Renderer, "%s: renderer CPU per GiB", r.Contestant)
		assert.Positive(t, r.PerGiB.Server, "%s: emulator CPU per GiB", r.Contestant)
		assert.InDelta(t, r.PerGiB.Chromium+r.PerGiB.Server, r.PerGiB.Total, 1e-9, "%s", r.Contestant)
	}
	for _, row := range rep.Rows {
		assert.True(t, row.Verified, row.Name)
		assert.Positive(t, row.MedianMiB, row.Name)
	}
	assert.Positive(t, rep.WasmGzip)
	assert.Positive(t, rep.WasmBrotli, "make wasm writes smh.wasm.br")
	assert.Less(t, rep.WasmBrotli, rep.WasmGzip)
	var text, md strings.Builder
	rep.WriteText(&text)
	rep.WriteMarkdown(&md, "go test ./web/bench")
	for _, c := range bench.Contestants() {
		assert.Contains(t, text.String(), c.Name)
		assert.Contains(t, md.String(), "| "+c.Name+" |")
	}
	assertTable(t, md.String())
}

// assertTable checks that every line of each Markdown table has as many cells as its header: a renderer
// draws no table whose delimiter row is one short.
func assertTable(t *testing.T, md string) {
	t.Helper()
	var tables [][]string
	in := false
	for _, l := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(l, "|") && in:
			tables[len(tables)-1] = append(tables[len(tables)-1], l)
		case strings.HasPrefix(l, "|"):
			tables = append(tables, []string{l})
			in = true
		default:
			in = false
		}
	}
	require.NotEmpty(t, tables)
	for _, lines := range tables {
		require.GreaterOrEqual(t, len(lines), 3, "header, delimiter and rows")
		want := strings.Count(lines[0], "|")
		for _, l := range lines[1:] {
			assert.Equal(t, want, strings.Count(l, "|"), "cells in %q", l)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"256M": 256 << 20, "1G": 1 << 30, "16MiB": 16 << 20, "2GiB": 2 << 30, "1000": 1000, "64k": 64 << 10} {
		got, err := bench.ParseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "x", "-1M", "0"} {
		_, err := bench.ParseSize(in)
		assert.Error(t, err, in)
	}
}

// TestExtras runs the rows that only -only selects, so that none of them breaks unseen: each must store the
// source's bytes.
func TestExtras(t *testing.T) {
	cfg, rep := run16(t, bench.Extras())
	require.Len(t, rep.Runs, len(bench.Extras()))
	for _, r := range rep.Runs {
		assert.Empty(t, r.Error, "%s", r.Contestant)
		assert.True(t, r.Verified, "%s stored %d bytes, CRC-64 %s; the source has %d, %s", r.Contestant,
			r.StoredSize, r.StoredCRC64, cfg.Size, rep.SourceCRC64)
		assert.GreaterOrEqual(t, r.Requests["part"], r.Parts, "%s: every part reached the emulator", r.Contestant)
	}
}

// TestStartup runs the start-up table once (one round, no uploads) to prove that it measures: every
// row has a figure above zero in every column, its CPU time too, the module's row has its critical
// path and its CPU time by thread, the page's and the Worker's among them, and the table renders
// with one cell per column. Times are not asserted.
func TestStartup(t *testing.T) {
	cfg := needs(t)
	cfg.Contestants = []bench.Contestant{}
	cfg.StartupRounds = 1
	cfg.WorkDir = t.TempDir()
	cfg.Logf = t.Logf
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := bench.Run(ctx, cfg)
	require.NoError(t, err)
	require.NotNil(t, rep.Startup)
	assert.Empty(t, rep.Runs, "no uploads")
	st := rep.Startup
	require.Len(t, st.Rows, len(bench.StartupRows()))
	require.Len(t, st.Runs, len(bench.StartupRows())*len(bench.StartupColumns))
	for _, r := range st.Runs {
		assert.Empty(t, r.Error, "%s %s", r.Row, r.Column)
		assert.Positive(t, r.ReadyMs, "%s %s", r.Row, r.Column)
	}
	for _, row := range st.Rows {
		for _, col := range bench.StartupColumns {
			c := row.Cells[col]
			assert.Equal(t, 1, c.Runs, "%s %s", row.ID, col)
			assert.Zero(t, c.Failed, "%s %s", row.ID, col)
			assert.Positive(t, c.ReadyMs, "%s %s", row.ID, col)
			assert.Positive(t, c.CPUMs, "%s %s: CPU time", row.ID, col)
			assert.Positive(t, c.Processes["browser"], "%s %s: the browser process's CPU time", row.ID, col)
			assert.Positive(t, c.Processes["renderer"], "%s %s: the renderer's CPU time", row.ID, col)
			if row.ID == bench.StartupModule {
				assert.Positive(t, c.Threads["renderer DedicatedWorker"], "%s: the Worker's CPU time", col)
				assert.Positive(t, c.Threads["renderer main"], "%s: the page's main thread's CPU time", col)
				for _, f := range []string{"smh-upload.js", "smh-upload-worker.js", "smh.wasm", "ready"} {
					assert.Positive(t, c.Path[f], "%s: %s on the critical path", col, f)
				}
				// Each is one bundle: the page and the Worker fetch nothing else.
				for f := range c.Path {
					assert.NotContains(t, []string{"smh-upload-run.js", "smh-upload-folders.js", "wasm_exec.js", "worker:wasm_exec.js", "worker:smh-upload-run.js"}, f, "%s: fetched %s", col, f)
				}
				assert.Equal(t, 1, c.WasmRequests, "%s: smh.wasm fetched once (a preload is reused)", col)
			}
			if row.ID == bench.StartupInPage {
				assert.Zero(t, c.Threads["renderer DedicatedWorker"], "%s: in the page, no Worker ran", col)
				assert.Positive(t, c.Threads["renderer main"], "%s: the page's main thread's CPU time", col)
				for _, f := range []string{"smh-upload.js", "wasm_exec.js", "smh.wasm", "ready"} {
					assert.Positive(t, c.Path[f], "%s: %s on the in-page critical path", col, f)
				}
				assert.NotContains(t, c.Path, "smh-upload-worker.js", "%s: no Worker script", col)
				assert.Equal(t, 1, c.WasmRequests, "%s: smh.wasm fetched once in the page", col)
			}
			if row.ID == bench.StartupFloor {
				assert.Positive(t, c.Path["smh.wasm"], "%s: the floor fetched smh.wasm", col)
				assert.Equal(t, 1, c.WasmRequests, "%s: the floor fetched smh.wasm once", col)
				assert.Equal(t, 1, c.Compiles+c.CacheHits, "%s: the floor compiled smh.wasm or took it from the code cache", col)
			}
		}
	}
	var text, md strings.Builder
	rep.WriteText(&text)
	rep.WriteMarkdown(&md, "go test ./web/bench")
	assert.Contains(t, md.String(), "over the floor", "the loader's cost over compiling its file alone")
	assert.Contains(t, md.String(), "| start-up CPU per visit by process: ms, browser / renderer / network / gpu / other, median |")
	for _, row := range bench.StartupRows() {
		assert.Contains(t, text.String(), row.Name)
		assert.Contains(t, md.String(), "| "+row.Name+" |")
	}
	assertTable(t, md.String())
}
