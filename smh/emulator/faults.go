package emulator

import (
	"net/http"
	"time"
)

// Fault knobs: what tests and the demo inject into the next answers (expired
// signatures and tokens, failing, resetting, stalling or corrupting parts,
// latency and clock skew).

type fault struct {
	n          int
	status     int
	code       string
	retryAfter time.Duration
}

// takeFault consumes one use of the first pending fault in list.
func takeFault(list *[]*fault) *fault {
	for len(*list) > 0 {
		f := (*list)[0]
		if f.n <= 0 {
			*list = (*list)[1:]
			continue
		}
		f.n--
		out := *f
		if f.n == 0 {
			*list = (*list)[1:]
		}
		return &out
	}
	return nil
}

// ExpireSignatures makes every part signature issued so far expired from now on: part PUTs carrying one get
// 403 AccessDenied "Request has expired". Signatures issued later (renew, status, begin) are valid.
func (e *Emulator) ExpireSignatures() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.gen++
	e.expiredGen = e.gen
}

// ExpireTokens makes every access token issued so far (including Config.AccessToken) invalid: calls with
// one get 403 InvalidAccessToken, as after expiry.
func (e *Emulator) ExpireTokens() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.tokens)
}

// FailParts makes the next n COS part or object PUTs read and discard their body, then answer status with a
// COS XML error of code (and a Retry-After header in whole seconds when retryAfter > 0). Calls queue up;
// n <= 0 drops the pending ones.
func (e *Emulator) FailParts(n int, status int, code string, retryAfter time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n <= 0 {
		e.cosFaults = nil
		return
	}
	e.cosFaults = append(e.cosFaults, &fault{n: n, status: status, code: code, retryAfter: retryAfter})
}

// FailAPI makes the next n calls of the SMH operation op (a name as in Count) answer status with an SMH JSON
// error of code (and Retry-After when retryAfter > 0), before any other check. Calls queue up per op;
// n <= 0 drops the pending ones of op.
func (e *Emulator) FailAPI(op string, n int, status int, code string, retryAfter time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n <= 0 {
		delete(e.apiFaults, op)
		return
	}
	list := e.apiFaults[op]
	e.apiFaults[op] = append(list, &fault{n: n, status: status, code: code, retryAfter: retryAfter})
}

func (e *Emulator) takeAPIFault(op string) *fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	list := e.apiFaults[op]
	f := takeFault(&list)
	if len(list) == 0 {
		delete(e.apiFaults, op)
	} else {
		e.apiFaults[op] = list
	}
	return f
}

// ResetParts makes the next n COS part or object PUTs read some of the body, then close the connection
// without an answer (the client sees a reset or an unexpected EOF). Nothing is stored.
func (e *Emulator) ResetParts(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resets = max(n, 0)
}

// StallParts makes the next n COS part or object PUTs read a little of the body, then block until the
// request's context ends or the server closes. Nothing is stored.
func (e *Emulator) StallParts(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stalls = max(n, 0)
}

// CorruptParts makes the next n stored parts (or simple objects) get one byte flipped before they are
// stored. The ETag and x-cos-hash-crc64ecma answered describe the stored, corrupted bytes, as real storage
// would, so only a client that checks the CRC against its own notices.
func (e *Emulator) CorruptParts(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.corrupts = max(n, 0)
}

// SetLatency adds d before answering each request on both hosts (0 turns it off).
func (e *Emulator) SetLatency(d time.Duration) { e.latency.Store(int64(max(d, 0))) }

// SetSkew sets the server clock to Now()+d: it shows in the Date header, in expiration, in signature
// windows, in <ServerTime> and in token expiry.
func (e *Emulator) SetSkew(d time.Duration) { e.skew.Store(int64(d)) }

// SetExposeHeaders sets whether the COS host's answers carry Access-Control-Expose-Headers (default true).
// False mimics a misconfigured bucket: a browser cannot read ETag or x-cos-hash-crc64ecma. The API host
// always keeps it.
func (e *Emulator) SetExposeHeaders(expose bool) { e.hideExp.Store(!expose) }

// OnPart sets a hook called when a part PUT arrives, before faults and the signature check. It runs on the
// request's goroutine and may block, e.g. as a barrier. nil removes it.
func (e *Emulator) OnPart(fn func(PartInfo)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onPart = fn
}

// delay waits for the configured latency; false means the request or the server ended meanwhile.
func (e *Emulator) delay(r *http.Request) bool {
	d := time.Duration(e.latency.Load())
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-e.closed:
		return false
	}
}
