//go:build !js

package main

// smh-bench -queue: the queue benchmark of issue #17 (package web/bench, RunQueue), alone.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/smhupload/smh-upload/web/bench"
)

var (
	queueMode      = flag.Bool("queue", os.Getenv("BENCH_QUEUE") != "", "run the queue benchmark instead (env BENCH_QUEUE): many small files, large files, 10,000 files queued")
	queueScenarios = flag.String("queue-scenarios", os.Getenv("BENCH_QUEUE_SCENARIOS"), "with -queue: comma-separated scenarios (default small,large,many)")
	queueSmall     = flag.String("queue-small", "1000x16K", "with -queue: the small scenario's files, COUNTxSIZE")
	queueLarge     = flag.String("queue-large", "20x32M", "with -queue: the large scenario's files, COUNTxSIZE")
	queueMany      = flag.String("queue-many", "10000x1", "with -queue: the many scenario's files, COUNTxSIZE")
	queueProtos    = flag.String("queue-protocols", os.Getenv("BENCH_QUEUE_PROTOCOLS"), "with -queue: the small scenario's protocols, comma-separated: http/1.1 (or h1: plain HTTP), h2 (HTTPS, HTTP/2 by ALPN); default both (env BENCH_QUEUE_PROTOCOLS)")
	queueVariant   = flag.String("queue-variant", os.Getenv("BENCH_QUEUE_VARIANT"), `with -queue: also run the small and large scenarios' queue with these smh.queue() options, a JSON object such as {"files":32} (env BENCH_QUEUE_VARIANT)`)
	queueInPage    = flag.Bool("queue-inpage", os.Getenv("BENCH_QUEUE_INPAGE") != "", "with -queue: run the module in the page (worker: false) instead of its Worker (env BENCH_QUEUE_INPAGE)")
	queueTrace     = flag.String("queue-trace", "", "with -queue: write Chromium's trace of each run into this directory")
	queueJSON      = flag.String("queue-json", "web/bench/queue-results.json", "with -queue: write the whole report here (empty: do not)")
	queueMD        = flag.String("queue-md", "web/bench/queue-results.md", "with -queue: write the Markdown tables here (empty: do not)")
)

// parseFiles reads COUNTxSIZE, such as 1000x16K.
func parseFiles(s string) (int, int64, error) {
	n, sz, ok := strings.Cut(strings.ToLower(s), "x")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count <= 0 {
		return 0, 0, fmt.Errorf("files %q: want COUNTxSIZE such as 1000x16K", s)
	}
	size, err := bench.ParseSize(sz)
	if err != nil {
		return 0, 0, err
	}
	return count, size, nil
}

// runQueue runs the queue benchmark with the shared flags of cfg (its Link is the small scenario's,
// default wan) and writes its report; command repeats it.
func runQueue(cfg bench.Config, linkFlag string) error {
	qc := bench.QueueConfig{Config: cfg, InPage: *queueInPage, TraceDir: *queueTrace}
	var err error
	if qc.SmallFiles, qc.SmallSize, err = parseFiles(*queueSmall); err != nil {
		return err
	}
	if qc.LargeFiles, qc.LargeSize, err = parseFiles(*queueLarge); err != nil {
		return err
	}
	if qc.ManyFiles, qc.ManySize, err = parseFiles(*queueMany); err != nil {
		return err
	}
	if *queueScenarios != "" {
		qc.Scenarios = strings.Split(*queueScenarios, ",")
	}
	if *queueProtos != "" {
		for _, p := range strings.Split(*queueProtos, ",") {
			if p == "h1" {
				p = bench.ProtoHTTP1
			}
			qc.Protocols = append(qc.Protocols, p)
		}
	}
	if *queueVariant != "" {
		if err := json.Unmarshal([]byte(*queueVariant), &qc.Variant); err != nil {
			return fmt.Errorf("-queue-variant %q: want a JSON object: %w", *queueVariant, err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := bench.RunQueue(ctx, qc)
	if err != nil {
		return err
	}
	cmd := fmt.Sprintf("make bench-queue BENCH_ROUNDS=%d", rep.Rounds)
	if linkFlag != "" {
		cmd += " BENCH_LINK=" + linkFlag
	}
	if *queueInPage {
		cmd += " BENCH_QUEUE_INPAGE=1"
	}
	if *queueScenarios != "" {
		cmd += " BENCH_QUEUE_SCENARIOS=" + *queueScenarios
	}
	if *queueProtos != "" {
		cmd += " BENCH_QUEUE_PROTOCOLS=" + *queueProtos
	}
	if *queueVariant != "" {
		cmd += " BENCH_QUEUE_VARIANT='" + *queueVariant + "'"
	}
	rep.WriteMarkdown(os.Stdout, cmd)
	if *queueJSON != "" {
		if err := rep.WriteJSONFile(*queueJSON); err != nil {
			return err
		}
	}
	if *queueMD != "" {
		f, err := os.Create(*queueMD)
		if err != nil {
			return err
		}
		rep.WriteMarkdown(f, cmd)
		if err := f.Close(); err != nil {
			return err
		}
	}
	for _, r := range rep.Rows {
		if !r.Verified {
			return fmt.Errorf("%s %s: %d of %d runs failed or stored wrong bytes", r.Scenario, r.Name, r.Failed, r.Runs)
		}
	}
	return nil
}
