//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"syscall/js"
	"time"

	"github.com/norunners/vert"

	"github.com/smhupload/smh-upload/smh"
)

// All conversion between JS values and Go values happens in this file:
// data through vert with js:"camelCase" tags, functions and the AbortSignal
// by hand (vert converts data, not functions).

// uploadOptions is the data part of upload()'s options.
type uploadOptions struct {
	Endpoint     string  `js:"endpoint"`
	LibraryID    string  `js:"libraryId"`
	SpaceID      string  `js:"spaceId"`
	Path         string  `js:"path"`
	AccessToken  string  `js:"accessToken"`
	UserID       string  `js:"userId"`
	Conflict     string  `js:"conflict"`
	TrafficLimit float64 `js:"trafficLimit"`
	PartSize     float64 `js:"partSize"`
	Concurrency  float64 `js:"concurrency"`
	StallTimeout float64 `js:"stallTimeout"` // milliseconds
	Resume       bool    `js:"resume"`
	// InstantUpload and DisableIntegrityCheck are off unless set.
	InstantUpload         bool `js:"instantUpload"`
	DisableIntegrityCheck bool `js:"disableIntegrityCheck"`
}

// uploadArgs are upload()'s arguments in Go terms.
type uploadArgs struct {
	file   js.Value // a Blob or File
	client smh.ClientConfig
	task   smh.Options
	id     smh.FileID // for the resume key
	resume bool

	getAccessToken, onProgress, onEvent js.Value // functions or undefined
	signal                              js.Value // an AbortSignal or undefined
}

// typeError is a JS TypeError: an argument of the wrong JS type.
type typeError struct{ msg string }

func (e *typeError) Error() string { return "smh-upload: " + e.msg }

func typeErrorf(format string, args ...any) error { return &typeError{fmt.Sprintf(format, args...)} }

// convertUploadArgs reads upload(file, options). Only JS types are checked
// here; the values are checked by package smh.
func convertUploadArgs(file, opts js.Value) (*uploadArgs, error) {
	if file.Type() != js.TypeObject || !file.InstanceOf(jsBlob) {
		return nil, typeErrorf("upload: the file must be a File or a Blob")
	}
	a, o, err := convertOptions("upload", opts)
	if err != nil {
		return nil, err
	}
	a.file, a.resume = file, o.Resume
	a.id = smh.FileID{Size: int64(file.Get("size").Float()), Endpoint: o.Endpoint, LibraryID: o.LibraryID,
		SpaceID: o.SpaceID, UserID: o.UserID, Path: o.Path}
	if n := file.Get("name"); n.Type() == js.TypeString {
		a.id.Name = n.String()
	}
	if m := file.Get("lastModified"); m.Type() == js.TypeNumber {
		a.id.LastModified = int64(m.Float())
	}
	return a, nil
}

// convertOptions reads the options upload() and queue() share: the
// connection, the per-file upload options and the callbacks. what names the
// call in errors.
func convertOptions(what string, opts js.Value) (*uploadArgs, *uploadOptions, error) {
	if opts.Type() != js.TypeObject {
		return nil, nil, typeErrorf("%s: the options must be an object", what)
	}
	var o uploadOptions
	if err := vert.ValueOf(opts).AssignTo(&o); err != nil {
		return nil, nil, typeErrorf("%s options: %v", what, err)
	}
	var ints [4]int64
	for i, f := range []struct {
		name string
		v    float64
	}{{"trafficLimit", o.TrafficLimit}, {"partSize", o.PartSize}, {"concurrency", o.Concurrency}, {"stallTimeout", o.StallTimeout}} {
		n, err := toInt(what, f.name, f.v)
		if err != nil {
			return nil, nil, err
		}
		ints[i] = n
	}
	traffic, partSize, conc, stall := ints[0], ints[1], ints[2], ints[3]
	a := &uploadArgs{}
	for name, p := range map[string]*js.Value{"getAccessToken": &a.getAccessToken, "onProgress": &a.onProgress, "onEvent": &a.onEvent} {
		v := opts.Get(name)
		if !v.IsUndefined() && !v.IsNull() && v.Type() != js.TypeFunction {
			return nil, nil, typeErrorf("%s options: %s must be a function", what, name)
		}
		*p = v
	}
	createParents := true // the one option whose default is on
	switch v := opts.Get("createParents"); v.Type() {
	case js.TypeUndefined, js.TypeNull:
	case js.TypeBoolean:
		createParents = v.Bool()
	default:
		return nil, nil, typeErrorf("%s options: createParents must be a boolean", what)
	}
	a.signal = opts.Get("signal")
	if a.signal.IsNull() {
		a.signal = js.Undefined()
	}
	if !a.signal.IsUndefined() && (a.signal.Type() != js.TypeObject || !a.signal.InstanceOf(jsGlobal.Get("AbortSignal"))) {
		return nil, nil, typeErrorf("%s options: signal must be an AbortSignal", what)
	}
	a.client = smh.ClientConfig{Endpoint: o.Endpoint, LibraryID: o.LibraryID, SpaceID: o.SpaceID, UserID: o.UserID, AccessToken: o.AccessToken}
	a.task = smh.Options{Path: o.Path, Conflict: o.Conflict, TrafficLimit: traffic, PartSize: partSize, Concurrency: int(conc),
		StallTimeout:          time.Duration(min(stall, int64(math.MaxInt64/time.Millisecond))) * time.Millisecond,
		DisableCreateParents:  !createParents,
		InstantUpload:         o.InstantUpload,
		DisableIntegrityCheck: o.DisableIntegrityCheck}
	return a, &o, nil
}

// toInt takes a JS number option as an integer; 0 (or absent) means the default.
func toInt(what, name string, f float64) (int64, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, typeErrorf("%s options: %s must be an integer", what, name)
	}
	return int64(f), nil
}

type progressJS struct {
	Loaded         float64 `js:"loaded"`
	Total          float64 `js:"total"`
	BytesPerSecond float64 `js:"bytesPerSecond"`
	PartsDone      int     `js:"partsDone"`
	PartsTotal     int     `js:"partsTotal"`
}

func progressValue(p smh.Progress) js.Value {
	return vert.ValueOf(progressJS{Loaded: float64(p.Loaded), Total: float64(p.Total), BytesPerSecond: p.BytesPerSecond,
		PartsDone: p.PartsDone, PartsTotal: p.PartsTotal}).Value
}

type eventJS struct {
	Type       string  `js:"type"`
	State      string  `js:"state"`
	Op         string  `js:"op"`
	PartNumber int     `js:"partNumber"`
	Attempt    int     `js:"attempt"`
	Delay      float64 `js:"delay"` // milliseconds
	Status     int     `js:"status"`
	Code       string  `js:"code"`
	Reason     string  `js:"reason"`
	PartsDone  int     `js:"partsDone"`
	ConfirmKey string  `js:"confirmKey"`
}

func eventValue(ev smh.Event) js.Value {
	return vert.ValueOf(eventJS{Type: ev.Type, State: ev.State, Op: ev.Op, PartNumber: ev.PartNumber, Attempt: ev.Attempt,
		Delay: float64(ev.Delay) / float64(time.Millisecond), Status: ev.Status, Code: ev.Code, Reason: ev.Reason,
		PartsDone: ev.PartsDone, ConfirmKey: ev.ConfirmKey}).Value
}

// fileInfoJS is confirm's answer with the same keys; size is a number.
type fileInfoJS struct {
	Path             []string          `js:"path"`
	Name             string            `js:"name"`
	Type             string            `js:"type"`
	CreationTime     string            `js:"creationTime"`
	ModificationTime string            `js:"modificationTime"`
	ContentType      string            `js:"contentType"`
	Size             float64           `js:"size"`
	ETag             string            `js:"eTag"`
	CRC64            string            `js:"crc64"`
	MetaData         map[string]string `js:"metaData"`
}

func fileInfoValue(fi *smh.FileInfo) js.Value {
	return vert.ValueOf(fileInfoJS{Path: fi.Path, Name: fi.Name, Type: fi.Type, CreationTime: fi.CreationTime,
		ModificationTime: fi.ModificationTime, ContentType: fi.ContentType, Size: float64(fi.SizeBytes()), ETag: fi.ETag,
		CRC64: fi.CRC64, MetaData: fi.MetaData}).Value
}

// errorFields are the properties of every Error the module rejects with,
// besides name and message.
type errorFields struct {
	Code       string `js:"code"`
	Status     int    `js:"status"`
	RequestID  string `js:"requestId"`
	Retryable  bool   `js:"retryable"`
	ConfirmKey string `js:"confirmKey"`
	Op         string `js:"op"`
	PartNumber int    `js:"partNumber"`
	Attempts   int    `js:"attempts"`
}

// toJSError makes a real Error: a TypeError for arguments of the wrong JS
// type, name "AbortError" for a cancel or an abort (as fetch rejects), else
// name "SMHError", with the fields of *smh.Error.
func toJSError(err error) js.Value {
	var te *typeError
	if errors.As(err, &te) {
		v := jsTypeError.New(te.Error())
		v.Set("code", smh.CodeInvalidInput)
		return v
	}
	var e *smh.Error
	if !errors.As(err, &e) {
		e = &smh.Error{Op: "internal", Code: "InternalError", Message: err.Error()}
		err = e
	}
	name := "SMHError"
	if errors.Is(err, smh.ErrCanceled) {
		name = "AbortError"
	}
	v := jsError.New(err.Error())
	v.Set("name", name)
	jsObject.Call("assign", v, vert.ValueOf(errorFields{Code: e.Code, Status: e.Status, RequestID: e.RequestID,
		Retryable: e.Retryable, ConfirmKey: e.ConfirmKey, Op: e.Op, PartNumber: e.PartNumber, Attempts: e.Attempts}).Value)
	return v
}

// tokenFunc makes getAccessToken (returning a string or a Promise of one)
// the Client's RefreshToken.
func tokenFunc(fn js.Value) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		v, err := protect(func() (js.Value, error) { return fn.Invoke(), nil })
		if err != nil {
			return "", err
		}
		if v, err = await(ctx, v, nil); err != nil {
			return "", err
		}
		if v.Type() != js.TypeString {
			return "", errors.New("getAccessToken did not give a string")
		}
		return v.String(), nil
	}
}

// callbacks plugs the JS callbacks and the token function into the smh
// configuration.
func (a *uploadArgs) callbacks() {
	if a.getAccessToken.Type() == js.TypeFunction {
		a.client.RefreshToken = tokenFunc(a.getAccessToken)
	}
	if fn := a.onProgress; fn.Type() == js.TypeFunction {
		a.task.OnProgress = func(p smh.Progress) { callUser(fn, progressValue(p)) }
	}
	if fn := a.onEvent; fn.Type() == js.TypeFunction {
		a.task.OnEvent = func(ev smh.Event) { callUser(fn, eventValue(ev)) }
	}
}

// queueArgs are queue()'s options in Go terms.
type queueArgs struct {
	*uploadArgs
	queue  smh.QueueOptions
	target string
	onFile js.Value // a function or undefined
}

// queueOnly is the data of queue()'s options that upload() has not.
type queueOnly struct {
	Files      float64 `js:"files"`
	SmallFiles float64 `js:"smallFiles"`
}

// convertQueueArgs reads queue(options): upload()'s options, path as the
// target folder, files, smallFiles, onFile, and resume on unless false.
func convertQueueArgs(opts js.Value) (*queueArgs, error) {
	a, o, err := convertOptions("queue", opts)
	if err != nil {
		return nil, err
	}
	var qo queueOnly
	if err := vert.ValueOf(opts).AssignTo(&qo); err != nil {
		return nil, typeErrorf("queue options: %v", err)
	}
	files, err := toInt("queue", "files", qo.Files)
	if err != nil {
		return nil, err
	}
	small, err := toInt("queue", "smallFiles", qo.SmallFiles)
	if err != nil {
		return nil, err
	}
	q := &queueArgs{uploadArgs: a, target: o.Path, onFile: opts.Get("onFile")}
	if f := q.onFile; !f.IsUndefined() && !f.IsNull() && f.Type() != js.TypeFunction {
		return nil, typeErrorf("queue options: onFile must be a function")
	}
	switch v := opts.Get("resume"); v.Type() {
	case js.TypeUndefined, js.TypeNull:
		q.resume = true
	case js.TypeBoolean:
		q.resume = v.Bool()
	default:
		return nil, typeErrorf("queue options: resume must be a boolean")
	}
	q.queue = smh.QueueOptions{Concurrency: a.task.Concurrency, Files: int(files), SmallFiles: int(small),
		Clock: smh.SystemClock{}}
	q.task.Path, q.task.Concurrency = "", 0 // the target is the tree's; the queue's slots count parts
	return q, nil
}

// convertItems reads add(items): a File or Blob (its path its name), or a
// FileList or any iterable of Files (path: webkitRelativePath, else name),
// of { file, path }, of { path, directory: true } (a folder, which may be
// empty) and of { path, error } (an entry that could not be read).
// smh-upload-folders.js has walked a DataTransfer into such a list.
func convertItems(items js.Value) ([]smh.TreeEntry, error) {
	if items.Type() == js.TypeObject && items.InstanceOf(jsBlob) {
		return []smh.TreeEntry{fileEntry(items, "")}, nil
	}
	if items.Type() != js.TypeObject || !jsGlobal.Get("Reflect").Call("has", items, jsGlobal.Get("Symbol").Get("iterator")).Bool() {
		return nil, typeErrorf("add: items must be a File, a Blob, a FileList or an iterable of them or of { file, path }")
	}
	list := jsGlobal.Get("Array").Call("from", items)
	n := list.Length()
	out := make([]smh.TreeEntry, 0, n)
	for i := range n {
		v := list.Index(i)
		switch {
		case v.Type() != js.TypeObject:
			return nil, typeErrorf("add: item %d is not a File or an object", i)
		case v.InstanceOf(jsBlob):
			out = append(out, fileEntry(v, ""))
		case v.Get("error").Type() == js.TypeString && v.Get("path").Type() == js.TypeString:
			// smh-upload-folders.js could not read this entry of a drop
			p := v.Get("path").String()
			out = append(out, smh.TreeEntry{Path: p, Err: &smh.Error{Op: "upload", Code: smh.CodeSourceRead,
				Message: "reading " + p + ": " + v.Get("error").String(), Err: smh.ErrSourceRead}})
		case v.Get("directory").Type() == js.TypeBoolean && v.Get("directory").Bool():
			p := v.Get("path")
			if p.Type() != js.TypeString {
				return nil, typeErrorf("add: item %d: a folder's path must be a string", i)
			}
			out = append(out, smh.TreeEntry{Path: p.String()})
		default:
			f, p := v.Get("file"), v.Get("path")
			if f.Type() != js.TypeObject || !f.InstanceOf(jsBlob) {
				return nil, typeErrorf("add: item %d: file must be a File or a Blob", i)
			}
			if !p.IsUndefined() && p.Type() != js.TypeString {
				return nil, typeErrorf("add: item %d: path must be a string", i)
			}
			path := ""
			if p.Type() == js.TypeString {
				path = p.String()
			}
			out = append(out, fileEntry(f, path))
		}
	}
	return out, nil
}

// fileEntry is a Blob at path, or, when path is "", at the File's
// webkitRelativePath or name.
func fileEntry(b js.Value, path string) smh.TreeEntry {
	for _, k := range []string{"webkitRelativePath", "name"} {
		if path != "" {
			break
		}
		if v := b.Get(k); v.Type() == js.TypeString {
			path = v.String()
		}
	}
	e := smh.TreeEntry{Path: path, Body: newBlobBody(b)}
	// A File (not a bare Blob) is known again after a reload by its name,
	// size and modification time: the queue's resume records key on them.
	if n, m := b.Get("name"), b.Get("lastModified"); n.Type() == js.TypeString && m.Type() == js.TypeNumber {
		e.ID = &smh.FileID{Name: n.String(), LastModified: int64(m.Float())}
	}
	return e
}

type queueProgressJS struct {
	Loaded         float64 `js:"loaded"`
	Total          float64 `js:"total"`
	Done           int     `js:"done"`
	Failed         int     `js:"failed"`
	Left           int     `js:"left"`
	Canceled       int     `js:"canceled"`
	Added          int     `js:"added"`
	Skipped        int     `js:"skipped"`
	BytesPerSecond float64 `js:"bytesPerSecond"`
	ETASeconds     float64 `js:"etaSeconds"`
}

func queueProgressValue(p smh.QueueProgress) js.Value {
	return vert.ValueOf(queueProgressJS{Loaded: float64(p.Loaded), Total: float64(p.Total), Done: p.Done, Failed: p.Failed,
		Left: p.Left, Canceled: p.Canceled, Added: p.FilesAdded, Skipped: p.Skipped, BytesPerSecond: p.BytesPerSecond,
		ETASeconds: p.ETA.Seconds()}).Value
}

type queueFileJS struct {
	Index int     `js:"index"`
	Path  string  `js:"path"`
	Size  float64 `js:"size"`
	State string  `js:"state"`
}

// queueFileValue is { index, path, size, state, result?, error? }.
func queueFileValue(f smh.QueueFile) js.Value {
	v := vert.ValueOf(queueFileJS{Index: f.Index, Path: f.Path, Size: float64(f.Size), State: f.State}).Value
	if f.Info != nil {
		v.Set("result", fileInfoValue(f.Info))
	}
	if f.Err != nil {
		v.Set("error", toJSError(f.Err))
	}
	return v
}

func queueFilesValue(files []smh.QueueFile) js.Value {
	arr := jsGlobal.Get("Array").New(len(files))
	for i, f := range files {
		arr.SetIndex(i, queueFileValue(f))
	}
	return arr
}
