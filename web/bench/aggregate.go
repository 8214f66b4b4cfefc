//go:build !js

package bench

// Aggregation: the runs of each contestant into its row.

import (
	"slices"
)

func aggregate(cs []Contestant, runs []RunResult) []Row {
	rows := make([]Row, 0, len(cs))
	for _, c := range cs {
		row := Row{Contestant: c, Verified: true}
		var ok []RunResult
		for _, r := range runs {
			if r.Contestant != c.ID {
				continue
			}
			row.Runs++
			if r.Error != "" || !r.Verified {
				row.Failed++
				row.Verified = false
				continue
			}
			ok = append(ok, r)
		}
		if len(ok) == 0 {
			row.Verified = false
			rows = append(rows, row)
			continue
		}
		speeds := collect(ok, func(r RunResult) float64 { return r.MiBps })
		row.MedianMiB, row.MinMiB, row.MaxMiB = median(speeds), slices.Min(speeds), slices.Max(speeds)
		row.Seconds = median(collect(ok, func(r RunResult) float64 { return r.Seconds }))
		row.MainBusy = median(collect(ok, func(r RunResult) float64 { return r.MainBusy }))
		row.MainScript = median(collect(ok, func(r RunResult) float64 { return r.MainScript }))
		row.MainCPU = median(collect(ok, func(r RunResult) float64 { return r.MainCPU }))
		row.RendererCPU = median(collect(ok, func(r RunResult) float64 { return r.RendererCPU }))
		row.BrowserCPU = median(collect(ok, func(r RunResult) float64 { return r.BrowserCPU }))
		row.ServerCPU = median(collect(ok, func(r RunResult) float64 { return r.ServerCPU }))
		row.PerGiB = medianPerGiB(ok)
		row.ReadyMs = median(collect(ok, func(r RunResult) float64 { return r.ReadyMs }))
		row.StartMs = median(collect(ok, func(r RunResult) float64 { return r.StartMs }))
		row.PerPart = median(collect(ok, func(r RunResult) float64 { return r.PerPart }))
		for _, r := range ok {
			if r.Noisy {
				row.Noisy++
			}
			row.Stalls = max(row.Stalls, r.Stalls)
			row.LongestMs = max(row.LongestMs, r.LongestMs)
			row.HeapPeak = max(row.HeapPeak, r.HeapPeak)
			row.ABGrowth = max(row.ABGrowth, r.ABGrowth)
			row.WasmGrowth = max(row.WasmGrowth, r.WasmGrowth)
			row.RSSGrowth = max(row.RSSGrowth, r.RSSGrowth)
		}
		if c.Kind == KindModule && !c.Verify && slices.ContainsFunc(ok, func(r RunResult) bool { return r.ConfirmCRC }) {
			row.Note = "the JS API ignored disableIntegrityCheck: the file CRC was sent at confirm, so this row ran with checks on"
		}
		rows = append(rows, row)
	}
	var ref float64
	for _, r := range rows {
		if r.Reference {
			ref = max(ref, r.MedianMiB)
		}
	}
	if ref > 0 {
		for i := range rows {
			rows[i].Ratio = rows[i].MedianMiB / ref
		}
	}
	return rows
}

// medianPerGiB is the median of each CPUPerGiB field over runs.
func medianPerGiB(runs []RunResult) CPUPerGiB {
	m := func(f func(CPUPerGiB) float64) float64 {
		return median(collect(runs, func(r RunResult) float64 { return f(r.PerGiB) }))
	}
	return CPUPerGiB{
		Browser:  m(func(c CPUPerGiB) float64 { return c.Browser }),
		Renderer: m(func(c CPUPerGiB) float64 { return c.Renderer }),
		Network:  m(func(c CPUPerGiB) float64 { return c.Network }),
		GPU:      m(func(c CPUPerGiB) float64 { return c.GPU }),
		Other:    m(func(c CPUPerGiB) float64 { return c.Other }),
		Chromium: m(func(c CPUPerGiB) float64 { return c.Chromium }),
		Server:   m(func(c CPUPerGiB) float64 { return c.Server }),
		Total:    m(func(c CPUPerGiB) float64 { return c.Total }),
	}
}

// collect is f of each run, for median and its kin: the upload, queue and start-up tables alike.
func collect[R any](runs []R, f func(R) float64) []float64 {
	out := make([]float64, len(runs))
	for i, r := range runs {
		out[i] = f(r)
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
