package emulator

import "time"

// SetSignatureTTL changes the lifetime of the part signatures issued from
// now on (begin, renew, status); signatures already issued keep theirs. The
// demo uses it to let a visitor watch a renewal happen.
func (e *Emulator) SetSignatureTTL(d time.Duration) {
	if d <= 0 {
		d = DefaultSignatureTTL
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg.SignatureTTL = d // read only by issueLocked, under e.mu
}
