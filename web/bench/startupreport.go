//go:build !js

package bench

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// The start-up table: medians per row and column, the module's critical
// path, and the report's text and Markdown.

// aggregateStartup makes the table's cells: medians per row and column, and each row's difference
// from the bare page's median in the same column.
func aggregateStartup(rows []StartupRow, runs []StartupRun) []StartupResult {
	out := make([]StartupResult, 0, len(rows))
	for _, row := range rows {
		res := StartupResult{StartupRow: row, Cells: map[StartupColumn]StartupCell{}}
		for _, col := range StartupColumns {
			var c StartupCell
			var ok []StartupRun
			for _, r := range runs {
				if r.Row != row.ID || r.Column != col {
					continue
				}
				c.Runs++
				if r.Error != "" {
					c.Failed++
					continue
				}
				ok = append(ok, r)
				if r.Wasm.CacheHit > 0 {
					c.CacheHits++
				}
				if r.Wasm.Compiled > 0 {
					c.Compiles++
				}
				c.WasmRequests = max(c.WasmRequests, r.Requests[row.wasmPath()])
			}
			c.ReadyMs = median(collect(ok, func(r StartupRun) float64 { return r.ReadyMs }))
			c.CPUMs = median(collect(ok, func(r StartupRun) float64 {
				var sum float64
				for _, v := range r.CPUMs {
					sum += v
				}
				return sum
			}))
			if len(ok) > 0 {
				c.Processes = processMedians(ok)
			}
			if row.hasWasm() && len(ok) > 0 {
				c.Path = criticalPath(ok)
				c.Threads = threadMedians(ok)
			}
			res.Cells[col] = c
		}
		out = append(out, res)
	}
	var bare StartupResult
	for _, r := range out {
		if r.Kind == KindBare {
			bare = r
		}
	}
	for i := range out {
		for _, col := range StartupColumns {
			c := out[i].Cells[col]
			if b := bare.Cells[col]; b.Runs > b.Failed && c.Runs > c.Failed {
				c.OverBare = c.ReadyMs - b.ReadyMs
				c.CPUOverBare = c.CPUMs - b.CPUMs
			}
			out[i].Cells[col] = c
		}
	}
	return out
}

// threadMedians is the median CPU time of each thread group over runs (0 in a run that lacks it),
// leaving out those under 2 ms.
func threadMedians(runs []StartupRun) map[string]float64 {
	out := map[string]float64{}
	for _, r := range runs {
		for k := range r.CPUMs {
			out[k] = 0
		}
	}
	for k := range out {
		m := median(collect(runs, func(r StartupRun) float64 { return r.CPUMs[k] }))
		if m < 2 {
			delete(out, k)
			continue
		}
		out[k] = m
	}
	return out
}

// processClasses are the process classes of StartupRun.CPUMs's keys ("<class> <thread group>"), in
// the order the by-process table gives them.
var processClasses = []string{ClassBrowser, ClassRenderer, ClassNetwork, ClassGPU, ClassOther}

// processMedians is the median CPU time of each process class over runs: per run, the sum of the
// class's thread groups (0 in a run that lacks it).
func processMedians(runs []StartupRun) map[string]float64 {
	out := map[string]float64{}
	for _, class := range processClasses {
		out[class] = median(collect(runs, func(r StartupRun) float64 {
			var sum float64
			for k, v := range r.CPUMs {
				if keyClass(k) == class {
					sum += v
				}
			}
			return sum
		}))
	}
	return out
}

// startupProcessCell is the median CPU ms of each process class, "browser / renderer / … ".
func startupProcessCell(row StartupResult, col StartupColumn) string {
	c := row.Cells[col]
	if c.Runs == 0 || c.Failed == c.Runs {
		return startupCell(row, col)
	}
	parts := make([]string, len(processClasses))
	for i, class := range processClasses {
		parts[i] = fmt.Sprintf("%.0f", c.Processes[class])
	}
	return strings.Join(parts, " / ")
}

// criticalPath is the median arrival of each file the module fetches, of its compiled module and of
// its ready time, over runs.
func criticalPath(runs []StartupRun) map[string]float64 {
	p := map[string]float64{}
	names := map[string]bool{}
	for _, r := range runs {
		for n := range r.Resources {
			names[n] = true
		}
	}
	for n := range names {
		if !isModuleFile(n) {
			continue
		}
		var v []float64
		for _, r := range runs {
			if t, ok := r.Resources[n]; ok {
				v = append(v, t.EndMs)
			}
		}
		p[n] = median(v)
	}
	var compiled []float64
	for _, r := range runs {
		if r.Wasm.CompiledMs > 0 {
			compiled = append(compiled, r.Wasm.CompiledMs)
		}
	}
	if len(compiled) > 0 {
		p["compiled"] = median(compiled)
	}
	p["ready"] = median(collect(runs, func(r StartupRun) float64 { return r.ReadyMs }))
	return p
}

// isModuleFile reports whether a resource name is one of the module's files.
func isModuleFile(name string) bool {
	n := strings.TrimPrefix(name, "worker:")
	return n == "smh.wasm" || n == "wasm_exec.js" || strings.HasPrefix(n, "smh-upload")
}

// PathOrder sorts a critical path's names by arrival.
func PathOrder(p map[string]float64) []string {
	names := make([]string, 0, len(p))
	for n := range p {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		switch {
		case p[a] < p[b]:
			return -1
		case p[a] > p[b]:
			return 1
		}
		return strings.Compare(a, b)
	})
	return names
}

// startupCell is "ready (+over the bare page)" ms, or what went wrong.
func startupCell(row StartupResult, col StartupColumn) string {
	c := row.Cells[col]
	switch {
	case c.Runs == 0:
		return "—"
	case c.Failed == c.Runs:
		return "failed"
	}
	s := fmt.Sprintf("%.0f", c.ReadyMs)
	if row.Kind != KindBare {
		s += fmt.Sprintf(" (%+.0f)", c.OverBare)
	}
	if c.Failed > 0 {
		s += fmt.Sprintf(", %d of %d failed", c.Failed, c.Runs)
	}
	return s
}

// startupCPUCell is "CPU ms (+over the bare page)", or what went wrong.
func startupCPUCell(row StartupResult, col StartupColumn) string {
	c := row.Cells[col]
	if c.Runs == 0 || c.Failed == c.Runs {
		return startupCell(row, col)
	}
	s := fmt.Sprintf("%.0f", c.CPUMs)
	if row.Kind != KindBare {
		s += fmt.Sprintf(" (%+.0f)", c.CPUOverBare)
	}
	return s
}

var startupHeads = map[StartupColumn]string{
	StartCold:        "cold, no preload",
	StartColdPreload: "cold, README's preload tags",
	StartWarm:        "warm (second visit, same profile)",
}

// writeStartupNotes writes what the table's cells do not say: sizes, the code cache, the preload's
// reuse and the module's critical path, one line each, each prefixed by lead.
func (rep *Report) writeStartupNotes(w io.Writer, lead string) {
	st := rep.Startup
	fmt.Fprintf(w, "%ssmh.wasm%s: %d bytes raw, %d gzip -9, %d Brotli 11 (served precompressed, Brotli first, by the demo's static handler).\n",
		lead, strings.TrimRight(" "+rep.Module, " "), rep.WasmRaw, rep.WasmGzip, rep.WasmBrotli)
	rep.writeOverFloor(w, lead)
	for _, row := range st.Rows {
		if !row.hasWasm() {
			continue
		}
		cold, pre, warm := row.Cells[StartCold], row.Cells[StartColdPreload], row.Cells[StartWarm]
		cached := 0
		var stays []float64
		for _, r := range st.Runs {
			if r.Row == row.ID && r.Column == StartCold && r.Error == "" {
				if r.Wasm.Cached > 0 {
					cached++
				}
				stays = append(stays, r.StayMs)
			}
		}
		if row.Kind == KindModule {
			fmt.Fprintf(w, "%s%s: V8's wasm code cache written after %d of %d cold visits, which stayed on the page until it was (at most %s; median %.1f s); the warm visit took smh.wasm from it in %d of %d runs and compiled it in %d.\n",
				lead, row.Name, cached, cold.Runs, cmp.Or(st.Stay, DefaultStartupStay), median(stays)/1000, warm.CacheHits, warm.Runs, warm.Compiles)
		}
		fmt.Fprintf(w, "%s%s: smh.wasm requests per visit, at most: %d cold, %d with the preload tags (1: the preload was reused), %d warm (a 304 counts).\n",
			lead, row.Name, cold.WasmRequests, pre.WasmRequests, warm.WasmRequests)
		for _, col := range StartupColumns {
			p := row.Cells[col].Path
			if len(p) == 0 {
				continue
			}
			var steps []string
			for _, n := range PathOrder(p) {
				steps = append(steps, fmt.Sprintf("%s %.0f", n, p[n]))
			}
			fmt.Fprintf(w, "%s%s, %s: %s.\n", lead, row.Name, startupHeads[col], strings.Join(steps, " → "))
		}
		for _, col := range StartupColumns {
			th := row.Cells[col].Threads
			if len(th) == 0 {
				continue
			}
			names := slices.Collect(maps.Keys(th))
			slices.SortFunc(names, func(a, b string) int { return cmp.Compare(th[b], th[a]) })
			var parts []string
			for _, n := range names {
				parts = append(parts, fmt.Sprintf("%s %.0f", n, th[n]))
			}
			fmt.Fprintf(w, "%s%s, %s, CPU ms by thread: %s.\n", lead, row.Name, startupHeads[col], strings.Join(parts, ", "))
		}
	}
}

// writeOverFloor writes what each module row adds to its floor (the floor of the same folder's
// smh.wasm, compiled alone, or the floor variant named after it with "floor" appended, as make
// wasm-gohello's pair is run): its loader's own cost, which the file's size does not set. Other
// floors (-variants of a .wasm alone) are no module's.
func (rep *Report) writeOverFloor(w io.Writer, lead string) {
	floors := map[string]StartupResult{}
	for _, row := range rep.Startup.Rows {
		if row.Kind == KindFloor {
			floors[strings.TrimSuffix(row.Base, "floor")] = row
		}
	}
	for _, row := range rep.Startup.Rows {
		floor, ok := floors[row.Base]
		if row.Kind != KindModule || !ok {
			continue
		}
		var parts []string
		for _, col := range StartupColumns {
			c, f := row.Cells[col], floor.Cells[col]
			if c.Runs == c.Failed || f.Runs == f.Failed {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %+.0f ms (CPU %+.0f)", startupHeads[col], c.ReadyMs-f.ReadyMs, c.CPUMs-f.CPUMs))
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "%s%s over the floor (what the loader adds to compiling its smh.wasm): %s.\n", lead, row.Name, strings.Join(parts, ", "))
		}
	}
}

// writeStartupText writes the start-up table for a terminal.
func (rep *Report) writeStartupText(w io.Writer) {
	st := rep.Startup
	fmt.Fprintf(w, "\nstart-up, ms from navigation to ready (+ over the bare page), median of %d round(s):\n", st.Rounds)
	fmt.Fprintf(w, "%-42s", "")
	for _, col := range StartupColumns {
		fmt.Fprintf(w, " %34s", startupHeads[col])
	}
	fmt.Fprintln(w)
	rows := func(cell func(StartupResult, StartupColumn) string) {
		for _, row := range st.Rows {
			fmt.Fprintf(w, "%-42s", row.Name)
			for _, col := range StartupColumns {
				fmt.Fprintf(w, " %34s", cell(row, col))
			}
			fmt.Fprintln(w)
		}
	}
	rows(startupCell)
	fmt.Fprintf(w, "\nstart-up CPU, ms that Chromium's threads ran from navigation to ready (+ over the bare page), median:\n")
	rows(startupCPUCell)
	fmt.Fprintf(w, "\nstart-up CPU per visit by process, ms (%s), median:\n", strings.Join(processClasses, " / "))
	rows(startupProcessCell)
	rep.writeStartupNotes(w, "")
	for _, r := range st.Runs {
		if r.Error != "" {
			fmt.Fprintf(w, "failed, start-up %s %s round %d: %s\n", r.Row, r.Column, r.Round, r.Error)
		}
	}
}

// writeStartupMarkdown writes the README's start-up table.
func (rep *Report) writeStartupMarkdown(w io.Writer, command string) {
	st := rep.Startup
	table := func(title string, cell func(StartupResult, StartupColumn) string) {
		header := []string{title}
		for _, col := range StartupColumns {
			header = append(header, startupHeads[col])
		}
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
		for _, row := range st.Rows {
			cells := []string{row.Name}
			for _, col := range StartupColumns {
				cells = append(cells, cell(row, col))
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		}
	}
	table(fmt.Sprintf("start-up: ms from navigation to ready (+ over the bare page), median of %d rounds", st.Rounds), startupCell)
	fmt.Fprintln(w)
	table("start-up CPU: ms that Chromium's threads ran from navigation to ready (+ over the bare page), median", startupCPUCell)
	fmt.Fprintln(w)
	table("start-up CPU per visit by process: ms, "+strings.Join(processClasses, " / ")+", median", startupProcessCell)
	path := "loopback"
	if st.Link != "" {
		path = st.Link + " (the download's rate, shared by every connection)"
	}
	fmt.Fprintf(w, "\nHeadless %s, %d CPUs (load average %s at the start, %s at the end), %s. `%s`, %s.\n\n",
		rep.Machine.Chromium, rep.Machine.CPUs, rep.Machine.LoadStart, rep.Machine.LoadEnd, path, command, rep.Date.Format("2006-01-02"))
	rep.writeStartupNotes(w, "- ")
}
