//go:build !js

package bench

// The queue benchmark's rows (medians of the runs of each contestant, scenario, link and protocol) and its
// Markdown: one table per scenario, and the small files' requests by kind.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

// QueueReport is the outcome of RunQueue.
type QueueReport struct {
	Date   time.Time `json:"date"`
	Rounds int       `json:"rounds"`
	Link   string    `json:"link"` // the small scenario's shaped link
	// Protocols are the small scenario's (ProtoHTTP1, ProtoH2).
	Protocols []string   `json:"protocols"`
	Small     string     `json:"small"`
	Large     string     `json:"large"`
	Many      string     `json:"many"`
	Machine   Machine    `json:"machine"`
	Module    string     `json:"moduleVersion"`
	COSSDK    string     `json:"cosSdkVersion"`
	Rows      []QueueRow `json:"rows"`
	Runs      []QueueRun `json:"runs"`
}

// QueueRow aggregates the runs of one contestant in one scenario on one link over one protocol: medians
// for speed, CPU and requests, the worst run for stalls.
type QueueRow struct {
	QueueContestant
	Scenario string `json:"scenario"`
	Link     string `json:"link,omitempty"`
	Protocol string `json:"protocol"`
	// NextHop is what Chromium reported in the runs that succeeded: each host's distinct values, joined
	// by ",".
	NextHop NextHop `json:"nextHopProtocol"`
	Runs    int     `json:"runs"`
	Failed  int     `json:"failed"`
	Files   int     `json:"files"`

	FilesPerSec float64 `json:"medianFilesPerSecond"`
	MinFiles    float64 `json:"minFilesPerSecond"`
	MaxFiles    float64 `json:"maxFilesPerSecond"`
	MedianMiB   float64 `json:"medianMiBps"`
	MinMiB      float64 `json:"minMiBps"`
	MaxMiB      float64 `json:"maxMiBps"`
	Ratio       float64 `json:"ratioToReference"` // median speed over the reference row's, same scenario, link and protocol
	Seconds     float64 `json:"medianSeconds"`
	AddMs       float64 `json:"medianAddMs"`

	Cores
	PerFile CPUPerGiB `json:"cpuMsPerFile"` // core·milliseconds per file, by process class
	PerGiB  CPUPerGiB `json:"cpuPerGiB"`    // core·seconds per GiB
	Noisy   int       `json:"noisyRuns"`

	Stalls        int     `json:"stalls"`
	LongestMs     float64 `json:"longestStallMs"`
	AddStalls     int     `json:"addStalls"`
	AddLongestMs  float64 `json:"addLongestStallMs"`
	LongTasks     int     `json:"longTasks"`
	ProgressCalls float64 `json:"medianProgressCalls"`
	FileEvents    float64 `json:"medianFileEvents"`

	RequestsPerFile map[string]float64 `json:"requestsPerFile"` // by the emulator's operation names
	RequestsAll     float64            `json:"requestsPerFileTotal"`
	PutPeak         int                `json:"putPeak"` // the most PUTs in flight at once, of any run
	// Connections are the most connections to each host ("api", "cos") a run opened.
	Connections map[string]int `json:"connections"`

	Stored   int  `json:"stored"` // the fewest files stored right in a run
	Verified bool `json:"bytesVerified"`
}

func aggregateQueue(cfg QueueConfig, runs []QueueRun) []QueueRow {
	var rows []QueueRow
	type leg struct{ link, proto string }
	for _, sc := range cfg.Scenarios {
		var legs []leg
		for _, r := range runs {
			if l := (leg{r.Link, r.Protocol}); r.Scenario == sc && !slices.Contains(legs, l) {
				legs = append(legs, l)
			}
		}
		for _, l := range legs {
			first := len(rows)
			for _, c := range queueContestants(cfg, sc) {
				rows = append(rows, queueRow(c, sc, l.link, l.proto, runs))
			}
			var ref float64
			for _, r := range rows[first:] {
				if r.Reference {
					ref = r.MedianMiB
				}
			}
			if ref > 0 {
				for i := first; i < len(rows); i++ {
					rows[i].Ratio = rows[i].MedianMiB / ref
				}
			}
		}
	}
	return rows
}

func queueRow(c QueueContestant, sc, link, proto string, runs []QueueRun) QueueRow {
	row := QueueRow{QueueContestant: c, Scenario: sc, Link: link, Protocol: proto, Verified: true, Stored: -1}
	var ok []QueueRun
	for _, r := range runs {
		if r.Scenario != sc || r.Link != link || r.Protocol != proto || r.Contestant != c.ID {
			continue
		}
		row.Runs++
		row.Files = r.Files
		if row.Stored < 0 || r.Stored < row.Stored {
			row.Stored = r.Stored
		}
		if r.Error != "" || !r.Verified {
			row.Failed++
			row.Verified = false
			continue
		}
		ok = append(ok, r)
	}
	row.Stored = max(row.Stored, 0)
	if len(ok) == 0 {
		row.Verified = false
		return row
	}
	m := func(f func(QueueRun) float64) float64 { return median(collect(ok, f)) }
	fps := collect(ok, func(r QueueRun) float64 { return r.FilesPerSec })
	mbs := collect(ok, func(r QueueRun) float64 { return r.MiBps })
	row.FilesPerSec, row.MinFiles, row.MaxFiles = median(fps), slices.Min(fps), slices.Max(fps)
	row.MedianMiB, row.MinMiB, row.MaxMiB = median(mbs), slices.Min(mbs), slices.Max(mbs)
	row.Seconds = m(func(r QueueRun) float64 { return r.Seconds })
	row.AddMs = m(func(r QueueRun) float64 { return r.AddMs })
	row.MainBusy = m(func(r QueueRun) float64 { return r.MainBusy })
	row.MainScript = m(func(r QueueRun) float64 { return r.MainScript })
	row.MainCPU = m(func(r QueueRun) float64 { return r.MainCPU })
	row.RendererCPU = m(func(r QueueRun) float64 { return r.RendererCPU })
	row.BrowserCPU = m(func(r QueueRun) float64 { return r.BrowserCPU })
	row.ServerCPU = m(func(r QueueRun) float64 { return r.ServerCPU })
	row.ProgressCalls = m(func(r QueueRun) float64 { return float64(r.ProgressCalls) })
	row.FileEvents = m(func(r QueueRun) float64 { return float64(r.FileEvents) })
	scaled := func(per func(QueueRun) float64) CPUPerGiB {
		f := func(g func(CPUPerGiB) float64) float64 {
			return m(func(r QueueRun) float64 { return g(r.CPU) * per(r) })
		}
		return CPUPerGiB{
			Browser: f(func(c CPUPerGiB) float64 { return c.Browser }), Renderer: f(func(c CPUPerGiB) float64 { return c.Renderer }),
			Network: f(func(c CPUPerGiB) float64 { return c.Network }), GPU: f(func(c CPUPerGiB) float64 { return c.GPU }),
			Other: f(func(c CPUPerGiB) float64 { return c.Other }), Chromium: f(func(c CPUPerGiB) float64 { return c.Chromium }),
			Server: f(func(c CPUPerGiB) float64 { return c.Server }), Total: f(func(c CPUPerGiB) float64 { return c.Total }),
		}
	}
	row.PerFile = scaled(func(r QueueRun) float64 { return 1000 / float64(max(r.Files, 1)) })
	row.PerGiB = scaled(func(r QueueRun) float64 { return (1 << 30) / float64(max(r.Bytes, 1)) })
	kinds := map[string]bool{}
	for _, r := range ok {
		for k := range r.Requests {
			if !notRequest[k] {
				kinds[k] = true
			}
		}
	}
	row.RequestsPerFile = map[string]float64{}
	for k := range kinds {
		row.RequestsPerFile[k] = m(func(r QueueRun) float64 { return float64(r.Requests[k]) / float64(max(r.Files, 1)) })
	}
	row.RequestsAll = m(func(r QueueRun) float64 { return float64(r.RequestsAll) / float64(max(r.Files, 1)) })
	var apiHops, cosHops []string
	for _, r := range ok {
		if !slices.Contains(apiHops, r.NextHop.API) {
			apiHops = append(apiHops, r.NextHop.API)
		}
		if !slices.Contains(cosHops, r.NextHop.COS) {
			cosHops = append(cosHops, r.NextHop.COS)
		}
	}
	row.NextHop = NextHop{API: strings.Join(apiHops, ","), COS: strings.Join(cosHops, ",")}
	for _, r := range ok {
		if r.Noisy {
			row.Noisy++
		}
		row.Stalls = max(row.Stalls, r.Stalls)
		row.LongestMs = max(row.LongestMs, r.LongestMs)
		row.AddStalls = max(row.AddStalls, r.AddStalls)
		row.AddLongestMs = max(row.AddLongestMs, r.AddLongestMs)
		row.LongTasks = max(row.LongTasks, r.LongTasks)
		row.PutPeak = max(row.PutPeak, r.PutPeak)
		for host, n := range r.Connections {
			if row.Connections == nil {
				row.Connections = map[string]int{}
			}
			row.Connections[host] = max(row.Connections[host], n)
		}
	}
	return row
}

// WriteJSONFile writes the whole report, every run included.
func (rep *QueueReport) WriteJSONFile(path string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// mdTable writes a Markdown table; every row must have the header's cell count, or no renderer draws it.
// dashFailed blanks the figures of a row whose every run failed (cells between the first keep and the
// last), which would otherwise read as zeros.
func dashFailed(r QueueRow, cells []string, keep int) []string {
	if r.Runs > r.Failed {
		return cells
	}
	for i := keep; i < len(cells)-1; i++ {
		cells[i] = "—"
	}
	return cells
}

func mdTable(w io.Writer, header []string, rows [][]string) {
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
	for _, r := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
	fmt.Fprintln(w)
}

func (rep *QueueReport) rows(sc string) []QueueRow {
	var out []QueueRow
	for _, r := range rep.Rows {
		if r.Scenario == sc {
			out = append(out, r)
		}
	}
	return out
}

func qSpeed(lo, med, hi float64, r QueueRow, format string) string {
	if r.Kind == QueueKindIdle {
		return "—"
	}
	if r.Runs == r.Failed {
		return "failed"
	}
	return fmt.Sprintf(format+" ("+format+"–"+format+")", med, lo, hi)
}

func qRatio(r QueueRow) string {
	if r.Ratio == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", r.Ratio)
}

func qStored(r QueueRow) string {
	if r.Kind == QueueKindIdle {
		return "—"
	}
	s := fmt.Sprintf("%d of %d", r.Stored, r.Files)
	if r.Failed > 0 {
		s += fmt.Sprintf(", %d of %d runs failed", r.Failed, r.Runs)
	}
	return s
}

// protocolsText is "HTTP/1.1 and HTTP/2".
func protocolsText(ps []string) string {
	names := map[string]string{ProtoHTTP1: "HTTP/1.1", ProtoH2: "HTTP/2"}
	var out []string
	for _, p := range ps {
		out = append(out, cmp.Or(names[p], p))
	}
	return strings.Join(out, " and ")
}

// qProtocol is "h2 (h2 / h2)": the leg's protocol, then what Chromium reported for each host.
func qProtocol(r QueueRow) string {
	dash := func(s string) string { return cmp.Or(s, "—") }
	return fmt.Sprintf("%s (%s / %s)", r.Protocol, dash(r.NextHop.API), dash(r.NextHop.COS))
}

func qMain(r QueueRow) string { return fmt.Sprintf("%.3f (%.3f)", r.MainCPU, r.MainBusy) }

func qStalls(r QueueRow) string { return fmt.Sprintf("%d (%.0f ms)", r.Stalls, r.LongestMs) }

// WriteMarkdown writes a table per scenario that ran, the small files' requests by kind, and what the
// figures were measured on, with the command.
func (rep *QueueReport) WriteMarkdown(w io.Writer, command string) {
	if rows := rep.rows(ScenarioSmall); len(rows) > 0 {
		fmt.Fprintf(w, "#### Many small files: %s, loopback and %s, over %s\n\n", rep.Small, rep.Link, protocolsText(rep.Protocols))
		var cells [][]string
		for _, r := range rows {
			cells = append(cells, dashFailed(r, []string{r.Name, linkName(r.Link), qProtocol(r), qSpeed(r.MinFiles, r.FilesPerSec, r.MaxFiles, r, "%.0f"), qRatio(r),
				fmt.Sprintf("%.1f", r.Seconds), r.PerFile.breakdown(), fmt.Sprintf("%.2f", r.PerFile.Server), qMain(r), qStalls(r),
				fmt.Sprintf("%.2f", r.RequestsAll), qStored(r)}, 3))
		}
		mdTable(w, []string{fmt.Sprintf("uploader (%s, %d rounds)", rep.Small, rep.Rounds), "link", "protocol (Chromium's nextHopProtocol: API / COS)", "files/s, median (min–max)",
			"vs cos-js-sdk-v5 uploadFiles (target ≥ 1.5× on the link)", "seconds to done", "browser-side CPU per file, core·ms: browser / renderer / network / other = total",
			"emulator CPU per file, core·ms", "main thread, cores: CPU (busy)", "stalls > 50 ms (longest)", "requests per file", "files stored"}, cells)

		fmt.Fprintln(w, "Requests per small file, by kind, as the emulator counted them (CORS preflights included; medians):")
		fmt.Fprintln(w)
		kinds := map[string]bool{}
		for _, r := range rows {
			for k := range r.RequestsPerFile {
				kinds[k] = true
			}
		}
		ks := slices.Sorted(maps.Keys(kinds))
		cells = nil
		for _, r := range rows {
			c := []string{r.Name, linkName(r.Link), r.Protocol}
			for _, k := range ks {
				c = append(c, fmt.Sprintf("%.3f", r.RequestsPerFile[k]))
			}
			cells = append(cells, dashFailed(r, append(c, fmt.Sprintf("%.2f", r.RequestsAll), fmt.Sprint(r.PutPeak),
				fmt.Sprintf("%d / %d", r.Connections["api"], r.Connections["cos"]), qStored(r)), 3))
		}
		mdTable(w, append(append([]string{"uploader", "link", "protocol"}, ks...), "total", "PUTs in flight, peak",
			"connections opened, most of a run: API / COS", "files stored"), cells)
		fmt.Fprintln(w, "HTTP/1.1 is plain HTTP, at most 6 connections per host in Chromium; h2 is HTTPS with a throwaway certificate that")
		fmt.Fprintln(w, "this browser alone accepts (--ignore-certificate-errors-spki-list), HTTP/2 by ALPN, one connection per host, as the")
		fmt.Fprintln(w, "real SMH and COS hosts speak it. A run fails unless every request the emulator received and the first request to")
		fmt.Fprintln(w, "each host as Chromium reports it (nextHopProtocol; \"—\": the uploader never calls that host) used the row's protocol.")
		fmt.Fprintln(w)
	}
	if rows := rep.rows(ScenarioLarge); len(rows) > 0 {
		fmt.Fprintf(w, "#### Large files: %s, loopback\n\n", rep.Large)
		var cells [][]string
		for _, r := range rows {
			cells = append(cells, dashFailed(r, []string{r.Name, qSpeed(r.MinMiB, r.MedianMiB, r.MaxMiB, r, "%.0f"), qRatio(r),
				fmt.Sprintf("%.1f", r.Seconds), r.PerGiB.breakdown(), fmt.Sprintf("%.1f", r.PerGiB.Server), qMain(r), qStalls(r),
				fmt.Sprintf("%.2f", r.RequestsAll), qStored(r)}, 1))
		}
		mdTable(w, []string{fmt.Sprintf("uploader (%s, %d rounds)", rep.Large, rep.Rounds), "MiB/s, median (min–max)",
			"vs upload() of one file of the same bytes (target ≥ 0.9×)", "seconds to done", "browser-side CPU per GiB, core·s: browser / renderer / network / other = total",
			"emulator CPU per GiB", "main thread, cores: CPU (busy)", "stalls > 50 ms (longest)", "requests per file", "files stored"}, cells)
		fmt.Fprintln(w, "The baseline is one upload() of the file the queued files are pieces of: the same bytes in the same parts (the module's")
		fmt.Fprintln(w, "defaults, 8 MiB × 4 in flight), so the ratio is what the queue costs on top of the module's own single-file figure (its")
		fmt.Fprintln(w, "begins, confirms and scheduling). upload() of each file in turn is what a page without the queue would do: it idles")
		fmt.Fprintln(w, "between files and runs fewer parts in flight at each file's end, so it is the weaker baseline.")
		fmt.Fprintln(w)
	}
	if rows := rep.rows(ScenarioMany); len(rows) > 0 {
		fmt.Fprintf(w, "#### Many files queued: %s, loopback, the page rendering the progress\n\n", rep.Many)
		var cells [][]string
		for _, r := range rows {
			cells = append(cells, dashFailed(r, []string{r.Name, fmt.Sprintf("%.1f", r.Seconds), qSpeed(r.MinFiles, r.FilesPerSec, r.MaxFiles, r, "%.0f"),
				qMain(r), qStalls(r), fmt.Sprintf("%.0f ms, %d (%.0f ms)", r.AddMs, r.AddStalls, r.AddLongestMs), fmt.Sprintf("%d", r.LongTasks),
				fmt.Sprintf("%.0f", r.ProgressCalls), fmt.Sprintf("%.0f", r.FileEvents), fmt.Sprintf("%.2f", r.RequestsAll), qStored(r)}, 1))
		}
		mdTable(w, []string{fmt.Sprintf("uploader (%s, %d rounds)", rep.Many, rep.Rounds), "seconds to done", "files/s, median (min–max)",
			"main thread, cores: CPU (busy) (target < 0.1)", "stalls > 50 ms (longest) (target 0)", "add(): ms, stalls (longest)", "long tasks",
			"progress calls", "file events", "requests per file", "files stored"}, cells)
		var idle *QueueRow
		for i := range rows {
			if rows[i].Kind == QueueKindIdle && rows[i].Verified {
				idle = &rows[i]
			}
		}
		if idle != nil {
			fmt.Fprintf(w, "The page alone is the same page for %.0f s with its stall probe (a 10 ms timer) and no uploader: the floor that the\n", idle.Seconds)
			fmt.Fprintln(w, "measuring puts under every row's main thread. Net of it, in the same run:")
			for _, r := range rows {
				if r.Kind != QueueKindIdle && r.Verified {
					fmt.Fprintf(w, "%s %.3f cores.", r.Name, r.MainCPU-idle.MainCPU)
				}
			}
			fmt.Fprintln(w)
			fmt.Fprintln(w)
		}
	}
	cos := "" // the many scenario runs no cos-js-sdk-v5
	if rep.COSSDK != "" {
		cos = ", cos-js-sdk-v5 " + rep.COSSDK
	}
	fmt.Fprintf(w, "Headless %s, %d CPUs (load average %s at the start, %s at the end), %s; smh-upload %s%s.",
		rep.Machine.Chromium, rep.Machine.CPUs, rep.Machine.LoadStart, rep.Machine.LoadEnd, rep.Machine.Go, rep.Module, cos)
	fmt.Fprintf(w, " Speed, CPU and requests are medians, stalls the worst run; main thread: ThreadTime (TaskDuration) over the wall time; stalls: 10 ms timer ticks > 50 ms late. `%s`, %s.", command, rep.Date.Format("2006-01-02"))
	n := 0
	for _, r := range rep.Runs {
		if r.Noisy {
			n++
		}
	}
	fmt.Fprintf(w, " %d of %d runs were noisy (processes outside the benchmark used more than %.1f core).\n", n, len(rep.Runs), NoisyCores)
	for _, r := range rep.Runs {
		if r.Error != "" {
			msg, _, _ := strings.Cut(r.Error, "\n") // a stack's first line
			leg := linkName(r.Link)
			if r.Scenario == ScenarioSmall && r.Protocol != "" {
				leg += " " + r.Protocol
			}
			fmt.Fprintf(w, "\nFailed, %s %s %s round %d: %s\n", r.Scenario, leg, r.Contestant, r.Round, msg)
		}
	}
}
