//go:build !js

package bench_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/web/bench"
)

// tables splits Markdown into its tables: runs of lines that start with "|".
func tables(md string) []string {
	var out []string
	var cur []string
	for _, l := range append(strings.Split(md, "\n"), "") {
		if strings.HasPrefix(l, "|") {
			cur = append(cur, l)
			continue
		}
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	return out
}

// assertQueueTables checks the queue report's Markdown: a table for each scenario that ran (two for the
// small files: the rows and their requests by kind), each row with its header's cell count, every row
// named, and the load average and the command given.
func assertQueueTables(t *testing.T, rep *bench.QueueReport, scenarios []string) string {
	t.Helper()
	var md strings.Builder
	rep.WriteMarkdown(&md, "make bench-queue")
	want := len(scenarios)
	for _, s := range scenarios {
		if s == bench.ScenarioSmall {
			want++
		}
	}
	ts := tables(md.String())
	require.Len(t, ts, want, md.String())
	for _, tb := range ts {
		assertTable(t, tb)
	}
	for _, r := range rep.Rows {
		assert.Contains(t, md.String(), "| "+r.Name+" |")
	}
	assert.Contains(t, md.String(), "load average "+rep.Machine.LoadStart)
	assert.Contains(t, md.String(), "`make bench-queue`")
	return md.String()
}

// The report draws well-formed tables from rows alone, failed ones included.
func TestQueueReportTables(t *testing.T) {
	rep := &bench.QueueReport{Rounds: 1, Link: "40 ms RTT, 100 Mbit/s", Small: "2 × 16 KiB", Large: "2 × 1 MiB", Many: "3 × 1 byte",
		Machine: bench.Machine{LoadStart: "0.10 0.20 0.30", LoadEnd: "0.40 0.50 0.60"}}
	rep.Protocols = bench.QueueProtocols
	for _, sc := range bench.QueueScenarios {
		protos := []string{bench.ProtoHTTP1}
		if sc == bench.ScenarioSmall {
			protos = bench.QueueProtocols
		}
		for _, proto := range protos {
			for _, c := range bench.QueueContestants(sc, false) {
				row := bench.QueueRow{QueueContestant: c, Scenario: sc, Protocol: proto, NextHop: bench.NextHop{API: proto, COS: proto},
					Runs: 1, Files: 2, Stored: 2, Verified: true, MedianMiB: 1, FilesPerSec: 3,
					RequestsPerFile: map[string]float64{"object.put": 1, "begin.simple": 1}, RequestsAll: 2}
				if c.Kind == bench.QueueKindCOS {
					row.NextHop.API = ""
					row.RequestsPerFile = map[string]float64{"object.put": 1, "cos.preflight": 1}
				}
				rep.Rows = append(rep.Rows, row)
			}
		}
	}
	rep.Rows[0].Failed, rep.Rows[0].Verified = 1, false
	rep.Runs = []bench.QueueRun{{Scenario: bench.ScenarioSmall, Protocol: bench.ProtoH2, Contestant: "queue", Round: 1, Error: "prepare: Error: x\n    at y"}}
	md := assertQueueTables(t, rep, bench.QueueScenarios)
	assert.Contains(t, md, "over HTTP/1.1 and HTTP/2")
	assert.Contains(t, md, "| smh-upload queue() (defaults) | loopback | h2 (h2 / h2) |", "the protocol of each row and what Chromium reported")
	assert.Contains(t, md, " | loopback | h2 (— / h2) |", "cos-js-sdk-v5 never calls the API host")
	assert.Contains(t, md, "| begin.simple | cos.preflight | object.put | total | PUTs in flight, peak |", "requests by kind: every kind any row used")
	assert.Contains(t, md, "Failed, small loopback h2 queue round 1: prepare: Error: x\n", "a stack's first line only")
}
