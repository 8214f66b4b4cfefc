//go:build js && wasm

package main

import (
	"syscall/js"

	"github.com/smhupload/smh-upload/smh"
)

// localStore is an smh.ResumeStore in the page's localStorage, which
// outlives a reload. Storage that throws (disabled, full, sandboxed) makes
// resume a no-op, never a failed upload.
type localStore struct{ ls js.Value }

func newLocalStore() smh.ResumeStore {
	ls, err := protect(func() (js.Value, error) { return jsGlobal.Get("localStorage"), nil })
	if err != nil || ls.Type() != js.TypeObject {
		return nil
	}
	return localStore{ls}
}

// Get returns the item under key.
func (s localStore) Get(key string) (string, bool) {
	v, err := protect(func() (js.Value, error) { return s.ls.Call("getItem", key), nil })
	if err != nil || v.Type() != js.TypeString {
		return "", false
	}
	return v.String(), true
}

// Set stores value under key.
func (s localStore) Set(key, value string) error {
	_, err := protect(func() (js.Value, error) { return s.ls.Call("setItem", key, value), nil })
	return err
}

// Delete removes key.
func (s localStore) Delete(key string) {
	_, _ = protect(func() (js.Value, error) { return s.ls.Call("removeItem", key), nil })
}

// recordStore is the queue's smh.ResumeLister: the records that
// smh-upload-run.js loaded from IndexedDB when the module started, with the
// same getItem/setItem/removeItem as localStorage (it writes each change
// back to IndexedDB behind the call) and keys(). IndexedDB, unlike
// localStorage, is there in a Worker too, and holds 10,000 records.
type recordStore struct{ localStore }

func newRecordStore(v js.Value) smh.ResumeStore {
	if v.Type() != js.TypeObject {
		return nil
	}
	return recordStore{localStore{v}}
}

// Keys lists the keys of every record.
func (s recordStore) Keys() []string {
	v, err := protect(func() (js.Value, error) { return s.ls.Call("keys"), nil })
	if err != nil || v.Type() != js.TypeObject {
		return nil
	}
	out := make([]string, v.Length())
	for i := range out {
		out[i] = v.Index(i).String()
	}
	return out
}
