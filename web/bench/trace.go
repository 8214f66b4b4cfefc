//go:build !js

package bench

// Chromium's trace, collected over DevTools: the start-up table reads V8's wasm events from it, and
// -startup-trace and -queue-trace write it whole for chrome://tracing or Perfetto.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
)

// tracer collects the browser's trace events, one session at a time.
type tracer struct {
	mu       sync.Mutex
	events   []traceEvent
	complete chan struct{}
	// keep keeps the events as they came too, for write.
	keep bool
	raw  []json.RawMessage
}

// write writes the raw events kept as a trace file (Chrome's JSON trace format), and keeps no more.
// The file's folder is made when missing.
func (tr *tracer) write(name string) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	tr.mu.Lock()
	raw := tr.raw
	tr.raw, tr.keep = nil, false
	tr.mu.Unlock()
	b, err := json.Marshal(struct {
		TraceEvents []json.RawMessage `json:"traceEvents"`
	}{raw})
	if err != nil {
		return err
	}
	return os.WriteFile(name, b, 0o644)
}

func newTracer(ctx context.Context) (*tracer, error) {
	tr := &tracer{complete: make(chan struct{}, 1)}
	err := chromedp.ListenBrowser(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *tracing.EventDataCollected:
			tr.mu.Lock()
			for _, v := range ev.Value {
				if tr.keep {
					tr.raw = append(tr.raw, json.RawMessage(v))
				}
				var e traceEvent
				if json.Unmarshal(v, &e) == nil {
					tr.events = append(tr.events, e)
				}
			}
			tr.mu.Unlock()
		case *tracing.EventTracingComplete:
			select {
			case tr.complete <- struct{}{}:
			default:
			}
		}
	})
	return tr, err
}

func (tr *tracer) start(ctx context.Context, categories ...string) error {
	_, err := chromedp.CallBrowser(ctx, tracing.Start, tracing.StartParams{TransferMode: tracing.StartTransferModeReportEvents,
		TraceConfig: &tracing.TraceConfig{IncludedCategories: categories}})
	return err
}

// stop ends the session and returns its events, every one of which has arrived before the
// browser says that the trace is complete.
func (tr *tracer) stop(ctx context.Context) ([]traceEvent, error) {
	if _, err := chromedp.CallBrowser(ctx, tracing.End, cdp.Empty{}); err != nil {
		return nil, err
	}
	select {
	case <-tr.complete:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := tr.events
	tr.events = nil
	return out, nil
}

// traceEvent is the part of a Chromium trace event that wasmTrace reads.
type traceEvent struct {
	Name string  `json:"name"`
	Cat  string  `json:"cat"`
	Ph   string  `json:"ph"`
	Ts   float64 `json:"ts"` // µs
	Dur  float64 `json:"dur"`
}

// queueTrace are the categories of QueueConfig.TraceDir's traces.
var queueTrace = []string{"toplevel", "toplevel.flow", "devtools.timeline", "disabled-by-default-devtools.timeline",
	"blink", "loading", "mojom", "ipc", "v8.execute"}

func (h *queueHarness) startTrace(ctx context.Context) (*tracer, error) {
	tr, err := newTracer(ctx)
	if err != nil {
		return nil, err
	}
	tr.keep = true
	return tr, tr.start(ctx, queueTrace...)
}

func (h *queueHarness) stopTrace(ctx context.Context, tr *tracer, name string) error {
	if _, err := tr.stop(ctx); err != nil {
		return err
	}
	return tr.write(filepath.Join(h.trace, name))
}
