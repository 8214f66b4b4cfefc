package smh

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const MiB = 1 << 20

// stepClock moves by a second at each Now, so every update passes the throttle.
type stepClock struct{ t time.Time }

func (c *stepClock) Now() time.Time                                   { c.t = c.t.Add(time.Second); return c.t }
func (c *stepClock) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }
func (c *stepClock) AfterFunc(time.Duration, func()) func() bool      { return func() bool { return false } }

// A run paused with part 5 half sent reported 4.5 MiB; the resumed run keeps
// the 4 stored parts. Its first report must not say 4 MiB: a progress bar
// would jump back at every resume.
func TestProgressHoldsItsMarkAcrossRuns(t *testing.T) {
	var mark atomic.Int64
	var seen []int64
	fn := func(p Progress) { seen = append(seen, p.Loaded) }
	clk := &stepClock{}

	first := newProgress(fn, clk, time.Millisecond, 10*MiB, 10, &mark)
	for n := 1; n <= 4; n++ {
		first.done(n, MiB)
	}
	first.update(5, MiB/2) // then paused: part 5 is lost
	require.Equal(t, int64(4*MiB+MiB/2), seen[len(seen)-1])

	second := newProgress(fn, clk, time.Millisecond, 10*MiB, 10, &mark)
	second.keep(4, 4*MiB)
	second.update(5, MiB/4)
	second.update(5, MiB*3/4)
	second.done(5, MiB)
	for i := 1; i < len(seen); i++ {
		assert.GreaterOrEqual(t, seen[i], seen[i-1], "progress went back at report %d: %v", i, seen)
	}
	assert.Equal(t, []int64{4*MiB + MiB/2, 4*MiB + MiB*3/4, 5 * MiB}, seen[len(seen)-3:], "held, then on from the mark")
}
