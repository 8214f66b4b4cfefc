package smh_test

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc64"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/smhupload/smh-upload/smh"
	"github.com/smhupload/smh-upload/smh/emulator"
)

// newFormEnv is newEnv with a part transport that sends forms, as the
// browser's does.
func newFormEnv(t *testing.T, cfg emulator.Config) *env {
	e := newEnv(t, cfg, smh.ClientConfig{})
	e.put.forms = true
	return e
}

// With a FormPutter a file under FormThreshold goes as a form upload: a
// begin by POST, one form POST of the file and the confirm, and nothing
// else; a bigger one is a simple upload (its PUT reports progress) or, from
// 1 MiB, a multipart one, as before.
func TestFormUploadOfSmallFiles(t *testing.T) {
	for _, size := range []int{0, 1, 100 << 10, int(smh.FormThreshold) - 1, int(smh.FormThreshold), MiB - 1, MiB} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			e := newFormEnv(t, emulator.Config{})
			data := randomBytes(size, uint64(size)+3)
			fi, err := e.upload(data, smh.Options{Path: "f.bin", PartSize: MiB})
			require.NoError(t, err)
			assert.Equal(t, smh.FormatCRC64(crc64.Checksum(data, smh.ECMATable)), fi.CRC64)
			e.assertStored("f.bin", data)
			counts := e.emu.Counts()
			delete(counts, "put.peak")
			delete(counts, "part.peak")
			delete(counts, "object.peak")
			switch {
			case int64(size) < smh.FormThreshold:
				assert.Equal(t, map[string]int{"begin.form": 1, "object.post": 1, "confirm": 1}, counts)
			case size < MiB:
				assert.Equal(t, map[string]int{"begin.simple": 1, "object.put": 1, "confirm": 1}, counts)
			default:
				assert.Equal(t, 1, counts["begin.multipart"])
				assert.Zero(t, counts["begin.form"])
			}
		})
	}
}

// A form's parameters cannot be renewed: an expired one begins the upload
// again and drops the stale task, as a simple upload does.
func TestFormUploadRestartsWhenExpired(t *testing.T) {
	e := newFormEnv(t, emulator.Config{})
	var once sync.Once
	f := func(*smh.PutRequest) { once.Do(e.emu.ExpireSignatures) }
	e.put.before.Store(&f)
	data := randomBytes(1000, 21)
	_, err := e.upload(data, smh.Options{Path: "small.txt"})
	require.NoError(t, err)
	assert.Equal(t, 2, e.emu.Count("begin.form"), "begin again")
	assert.Equal(t, 1, e.emu.Count("part.expired"))
	assert.Equal(t, 1, e.emu.Count("cancel"), "the stale task is dropped")
	assert.Equal(t, 0, e.emu.OpenUploads())
	e.assertStored("small.txt", data)
}

// The form's answer carries the stored object's CRC-64, which is checked
// as a PUT's: a corrupted store is sent again, a refused form fails with
// COS's error, and neither leaves a file behind.
func TestFormUploadChecksWhatWasStored(t *testing.T) {
	t.Run("corrupted", func(t *testing.T) {
		e := newFormEnv(t, emulator.Config{})
		e.emu.CorruptParts(1)
		data := randomBytes(5000, 22)
		_, err := e.upload(data, smh.Options{Path: "c.bin"})
		require.NoError(t, err)
		assert.Equal(t, 2, e.emu.Count("object.post"), "the corrupted object was sent again")
		e.assertStored("c.bin", data)
	})
	t.Run("refused", func(t *testing.T) {
		e := newFormEnv(t, emulator.Config{})
		tamper := func(r *smh.PutRequest) {
			for i := range r.Form {
				if r.Form[i].Name == "acl" {
					r.Form[i].Value = "public-read" // not what the policy signed
				}
			}
		}
		e.put.before.Store(&tamper)
		_, err := e.upload([]byte("x"), smh.Options{Path: "r.bin"})
		var se *smh.Error
		require.ErrorAs(t, err, &se)
		assert.Equal(t, 403, se.Status)
		assert.Equal(t, "AccessDenied", se.Code)
		_, rerr := e.emu.ReadFile("-", "r.bin")
		assert.Error(t, rerr, "no file stored")
	})
}

// A queue of small files over forms: every file stored with its bytes,
// three requests each.
func TestQueueOfFormUploads(t *testing.T) {
	e := newFormEnv(t, emulator.Config{})
	q, err := smh.NewQueue(e.client, e.put, smh.QueueOptions{SmallFiles: 4})
	require.NoError(t, err)
	data := make([][]byte, 30)
	for i := range data {
		data[i] = randomBytes(i*700, uint64(500+i))
		_, err := q.Add(smh.NewReaderAtBody(bytes.NewReader(data[i]), int64(len(data[i]))), smh.Options{Path: fmt.Sprintf("fq-%02d.bin", i)})
		require.NoError(t, err)
	}
	q.Start()
	files, err := q.Wait(context.Background())
	require.NoError(t, err)
	for i, f := range files {
		require.Equal(t, smh.FileDone, f.State, "%s: %v", f.Path, f.Err)
		e.assertStored(f.Path, data[i])
	}
	assert.Equal(t, 30, e.emu.Count("begin.form"))
	assert.Equal(t, 30, e.emu.Count("object.post"))
	assert.Equal(t, 30, e.emu.Count("confirm"))
	assert.LessOrEqual(t, e.emu.Count("object.peak"), 4)
}

// A ResumableTask passes its transport's forms on: a small file it
// uploads is a form upload too.
func TestResumableTaskUsesForms(t *testing.T) {
	e := newFormEnv(t, emulator.Config{})
	data := randomBytes(3000, 23)
	rt, err := smh.NewResumableTask(e.client, e.put, smh.NewReaderAtBody(bytes.NewReader(data), int64(len(data))),
		smh.Options{Path: "rt.bin"}, &smh.MemoryResumeStore{}, "k")
	require.NoError(t, err)
	_, err = rt.Run(context.Background())
	require.NoError(t, err)
	e.assertStored("rt.bin", data)
	assert.Equal(t, 1, e.emu.Count("begin.form"))
	assert.Equal(t, 1, e.emu.Count("object.post"))
}
