//go:build !js

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/smhupload/smh-upload/smh/emulator"
)

// startEmu starts an emulator and the fronts the page reaches it through:
// one listener per host on 127.0.0.1 that serves the emulator's own
// handlers, counting what arrives and holding API calls a rule names. The
// emulator hands out the COS front's address as the storage domain, so part
// PUTs go through it too. The emulator's own listeners stay up (Server.Close
// is what ends its stalled parts) but the page never uses them.
func startEmu(cfg emulator.Config) (*emu, error) {
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cosLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		apiLn.Close()
		return nil, err
	}
	cfg.COSDomain = cosLn.Addr().String()
	s, err := emulator.Start(cfg)
	if err != nil {
		apiLn.Close()
		cosLn.Close()
		return nil, err
	}
	e := &emu{Server: s, token: cfg.AccessToken, endpoint: "http://" + apiLn.Addr().String(),
		rules: map[int]rule{}, apiRules: map[string]rule{}, held: map[string]chan struct{}{}, gone: map[string]chan struct{}{},
		release: make(chan struct{}), closed: make(chan struct{})}
	e.apiFront = &http.Server{Handler: e.front(s.API(), true), ReadHeaderTimeout: 30 * time.Second}
	e.cosFront = &http.Server{Handler: e.front(s.COS(), false), ReadHeaderTimeout: 30 * time.Second}
	go e.apiFront.Serve(apiLn)
	go e.cosFront.Serve(cosLn)
	s.OnPart(e.onPart)
	return e, nil
}

// front counts a request (CORS preflights aside) and the body bytes the
// emulator reads from it, which is what reached the server: a part cut by a
// reset counts what arrived. An API call named by a rule fires it first.
func (e *emu) front(h http.Handler, api bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodOptions {
			e.requests.Add(1)
			r.Body = &countingBody{ReadCloser: r.Body, n: &e.bytes}
			if api && e.apiRule(r) {
				defer e.apiHeld.Done() // once the emulator has answered
			}
		}
		h.ServeHTTP(w, r)
	})
}

// apiRule fires the rule for the call's selector (the valueless first query
// parameter SMH uses: renew, confirm, multipart, upload, …), once. It
// reports a hold, counted in apiHeld until the caller is done.
func (e *emu) apiRule(r *http.Request) (held bool) {
	e.mu.Lock()
	var ru rule
	found := false
	for sel := range r.URL.Query() {
		if ru, found = e.apiRules[sel]; found {
			delete(e.apiRules, sel)
			break
		}
	}
	held = found && ru.Action == "hold"
	var gone chan struct{}
	if held {
		e.apiHeld.Add(1)
		gone = e.gone[heldKey(0, ru.API)]
	}
	e.mu.Unlock()
	if gone != nil {
		// net/http notices a client that went away only once the body is
		// read: read it now, so that the abort is seen while the call is held.
		if b, err := io.ReadAll(r.Body); err == nil {
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		go func() {
			select {
			case <-r.Context().Done():
				close(gone)
			case <-e.closed:
			}
		}()
	}
	if found {
		e.fire(ru)
	}
	return held
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	k, err := b.ReadCloser.Read(p)
	b.n.Add(int64(k))
	return k, err
}

// fault is one of the emulator's fault knobs, as /faults takes it.
type fault struct {
	Kind       string `json:"kind"` // parts, api, reset, stall, corrupt, latency
	Op         string `json:"op"`   // for api: the operation, as in the emulator's counters
	N          int    `json:"n"`
	Status     int    `json:"status"`
	Code       string `json:"code"`
	RetryAfter string `json:"retryAfter"` // time.ParseDuration syntax
	Delay      string `json:"delay"`      // for latency
}

func (f fault) apply(e *emulator.Emulator) error {
	var retryAfter, delay time.Duration
	var err error
	if f.RetryAfter != "" {
		if retryAfter, err = time.ParseDuration(f.RetryAfter); err != nil {
			return err
		}
	}
	if f.Delay != "" {
		if delay, err = time.ParseDuration(f.Delay); err != nil {
			return err
		}
	}
	switch f.Kind {
	case "parts":
		e.FailParts(f.N, f.Status, f.Code, retryAfter)
	case "api":
		if f.Op == "" {
			return errors.New("an api fault needs op")
		}
		e.FailAPI(f.Op, f.N, f.Status, f.Code, retryAfter)
	case "reset":
		e.ResetParts(f.N)
	case "stall":
		e.StallParts(f.N)
	case "corrupt":
		e.CorruptParts(f.N)
	case "latency":
		e.SetLatency(delay)
	default:
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	return nil
}
