package smh_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh"
	"github.com/smhupload/smh-upload/smh/emulator"
	"github.com/smhupload/smh-upload/smh/internal/fakeclock"
)

// A burst of updates is one delivery now and one with the latest totals
// after the interval; Flush delivers what is pending at once; fn may
// update again from inside without deadlock, and its update is delivered.
func TestProgressThrottle(t *testing.T) {
	clk := fakeclock.New(epoch)
	got := make(chan smh.QueueProgress, 100)
	var th *smh.ProgressThrottle
	var once sync.Once
	th = smh.NewProgressThrottle(clk, 100*time.Millisecond, func(p smh.QueueProgress) {
		got <- p
		if p.Loaded == 5000 {
			once.Do(func() { th.Update(smh.QueueProgress{Loaded: 6000}) })
		}
	})
	next := func() smh.QueueProgress {
		t.Helper()
		select {
		case p := <-got:
			return p
		case <-time.After(10 * time.Second): // a guard, not a synchronisation
			require.FailNow(t, "no delivery")
			return smh.QueueProgress{}
		}
	}
	for i := 1; i <= 1000; i++ {
		th.Update(smh.QueueProgress{Loaded: int64(i)})
	}
	assert.Equal(t, int64(1), next().Loaded, "the first at once")
	assert.Empty(t, got, "the rest wait for the interval")
	clk.Advance(99 * time.Millisecond)
	assert.Empty(t, got)
	clk.Advance(time.Millisecond)
	assert.Equal(t, int64(1000), next().Loaded, "then the latest, once")

	th.Update(smh.QueueProgress{Loaded: 2000})
	th.Flush()
	assert.Equal(t, int64(2000), next().Loaded, "Flush does not wait")
	th.Flush()
	clk.Advance(time.Second)
	assert.Empty(t, got, "nothing pending: nothing delivered")

	th.Update(smh.QueueProgress{Loaded: 5000}) // its fn updates again
	assert.Equal(t, int64(5000), next().Loaded)
	clk.Advance(100 * time.Millisecond)
	assert.Equal(t, int64(6000), next().Loaded)
	clk.Advance(time.Second)
	assert.Empty(t, got)
}

// Wait covers an add still creating its folders: it returns every file of
// the tree, stored, not the empty queue it would see before the files are
// added. A later add does not request a folder an earlier one created. An
// add after Cancel fails as cancelled and sends nothing.
func TestQueueFeedWaitsForAdds(t *testing.T) {
	e := newEnv(t, emulator.Config{}, smh.ClientConfig{})
	q, err := smh.NewQueue(e.client, e.put, smh.QueueOptions{})
	require.NoError(t, err)
	q.Start()
	feed := smh.NewQueueFeed(q)
	added := feed.AddTree(context.Background(), "feed", []smh.TreeEntry{
		{Path: "a/1.txt", Body: bodyOf([]byte("one"))}, {Path: "b/2.txt", Body: bodyOf([]byte("two"))}}, smh.Options{})
	files, err := feed.Wait(context.Background())
	require.NoError(t, err)
	require.Len(t, files, 2)
	for _, f := range files {
		assert.Equal(t, smh.FileDone, f.State, "%s: %v", f.Path, f.Err)
	}
	n, err := added()
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	creates := e.emu.Count("directory.create")
	n, err = feed.AddTree(context.Background(), "feed", []smh.TreeEntry{{Path: "a/3.txt", Body: bodyOf([]byte("3"))}}, smh.Options{})()
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, creates, e.emu.Count("directory.create"), "feed/a exists: an earlier add created it")
	files, err = feed.Wait(context.Background())
	require.NoError(t, err)
	require.Len(t, files, 3)
	assert.Equal(t, smh.FileDone, files[2].State, "%v", files[2].Err)

	require.NoError(t, feed.Cancel(context.Background()))
	_, err = feed.AddTree(context.Background(), "late", []smh.TreeEntry{{Path: "c/3.txt", Body: bodyOf([]byte("3"))}}, smh.Options{})()
	assert.ErrorIs(t, err, smh.ErrCanceled)
	assert.Equal(t, creates, e.emu.Count("directory.create"))
	files, err = feed.Wait(context.Background())
	require.NoError(t, err)
	assert.Len(t, files, 3, "nothing was added")
}
