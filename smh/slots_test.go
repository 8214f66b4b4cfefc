package smh_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh"
	"github.com/smhupload/smh-upload/smh/emulator"
)

// Three files sharing a pool of two slots: never more than two PUTs in
// flight across them (each alone would send four), both slots used at once
// by different files, and every file stored.
func TestSlotsAreSharedAcrossTasks(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	slots := smh.NewSlots(2)
	var inFlight, most atomic.Int32
	second := make(chan struct{})
	var once sync.Once
	before := func(*smh.PutRequest) {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if n == 2 {
			once.Do(func() { close(second) })
		}
		if n == 1 {
			// Hold the first PUT until a second is in flight: the pool must
			// let two through, from whichever files.
			select {
			case <-second:
			case <-time.After(10 * time.Second):
			}
		}
	}
	after := func(*smh.PutRequest) { inFlight.Add(-1) }
	e.put.before.Store(&before)
	e.put.after.Store(&after)

	files := map[string][]byte{"a.bin": randomBytes(5*MiB, 1), "b.bin": randomBytes(4*MiB+3, 2), "c.bin": randomBytes(100<<10, 3)}
	var wg sync.WaitGroup
	errs := make(chan error, len(files))
	for name, data := range files {
		task := e.task(data, smh.Options{Path: "q/" + name, PartSize: MiB, Concurrency: 4, Slots: slots})
		wg.Go(func() {
			_, err := task.Run(context.Background())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int32(2), most.Load(), "PUTs in flight across the files")
	for name, data := range files {
		e.assertStored("q/"+name, data)
	}
	assert.Equal(t, 5+5, e.emu.Count("part"), "each part sent once")
	assert.Equal(t, 1, e.emu.Count("object.put"), "the small file's one PUT")
}

// A task waiting for a slot that a paused or cancelled run never gets ends
// with a typed cancellation, and the file can be run again once a slot frees.
func TestSlotsWaitEndsWithTheRun(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	slots := smh.NewSlots(1)
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	before := func(r *smh.PutRequest) {
		once.Do(func() { close(held); <-release })
	}
	e.put.before.Store(&before)

	first := randomBytes(2*MiB, 4)
	holder := e.task(first, smh.Options{Path: "hold.bin", PartSize: MiB, Slots: slots})
	done := make(chan error, 1)
	go func() { _, err := holder.Run(context.Background()); done <- err }()
	<-held // the pool's one slot is taken

	data := randomBytes(3*MiB, 5)
	waiting := e.task(data, smh.Options{Path: "wait.bin", PartSize: MiB, Slots: slots})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { _, err := waiting.Run(ctx); ran <- err }()
	// Its begin reaches the server before it asks for a slot; then end the run.
	require.Eventually(t, func() bool { return waiting.ConfirmKey() != "" }, 10*time.Second, time.Millisecond)
	cancel()
	err := <-ran
	var se *smh.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, smh.CodeCanceled, se.Code, fmt.Sprint(err))

	close(release)
	require.NoError(t, <-done)
	_, err = waiting.Run(context.Background())
	require.NoError(t, err)
	e.assertStored("hold.bin", first)
	e.assertStored("wait.bin", data)
}
