package smh

// The signer: the upload parameters in use, renewed ahead of expiration and once per refused expiry.

import (
	"context"
	"sync"
	"time"
)

// uploadParams is one generation of upload parameters.
type uploadParams struct {
	info    *UploadInfo
	gen     int
	issued  time.Time // server time when received
	noAhead bool      // too short-lived to renew ahead of expiration
}

// signer keeps the upload parameters fresh for all parts of a task.
type signer struct {
	t     *Task
	renew func(context.Context) (*UploadInfo, error)
	mu    sync.Mutex // held during a renew, so parts wait for the new parameters
	cur   *uploadParams
}

func (t *Task) newSigner(info *UploadInfo, renew func(context.Context) (*UploadInfo, error)) *signer {
	s := &signer{t: t, renew: renew}
	s.cur = s.params(info, 0)
	return s
}

func (s *signer) params(info *UploadInfo, gen int) *uploadParams {
	p := &uploadParams{info: info, gen: gen, issued: s.t.c.ServerNow()}
	p.noAhead = info.Expiration.IsZero() || info.Expiration.Sub(p.issued) <= renewMargin(p)
	return p
}

// renewMargin is how long before expiration parameters are renewed: five
// minutes, as the SMH SDKs do, but at most a third of the lifetime, or a
// short lifetime would renew in a loop.
func renewMargin(p *uploadParams) time.Duration {
	return min(5*time.Minute, p.info.Expiration.Sub(p.issued)/3)
}

// fresh returns parameters that are not about to expire, renewing ahead.
func (s *signer) fresh(ctx context.Context) (*uploadParams, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.cur
	if p.noAhead || p.info.Expiration.Sub(s.t.c.ServerNow()) > renewMargin(p) {
		return p, nil
	}
	return s.renewLocked(ctx, "expiring")
}

// expired renews after a refusal, once for all parts that used gen: later
// callers with the same stale generation get the parameters already renewed.
func (s *signer) expired(ctx context.Context, gen int) (*uploadParams, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.gen != gen {
		return s.cur, nil
	}
	return s.renewLocked(ctx, "expired")
}

func (s *signer) renewLocked(ctx context.Context, reason string) (*uploadParams, error) {
	info, err := s.renew(ctx)
	if err != nil {
		return nil, err
	}
	s.cur = s.params(info, s.cur.gen+1)
	emit(ctx, Event{Type: EventRenew, Reason: reason, ConfirmKey: info.ConfirmKey})
	return s.cur, nil
}
