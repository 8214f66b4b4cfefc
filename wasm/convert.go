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
	if opts.Type() != js.TypeObject {
		return nil, typeErrorf("upload: the options must be an object")
	}
	var o uploadOptions
	if err := vert.ValueOf(opts).AssignTo(&o); err != nil {
		return nil, typeErrorf("upload options: %v", err)
	}
	traffic, err := toInt("trafficLimit", o.TrafficLimit)
	if err != nil {
		return nil, err
	}
	partSize, err := toInt("partSize", o.PartSize)
	if err != nil {
		return nil, err
	}
	conc, err := toInt("concurrency", o.Concurrency)
	if err != nil {
		return nil, err
	}
	stall, err := toInt("stallTimeout", o.StallTimeout)
	if err != nil {
		return nil, err
	}
	a := &uploadArgs{file: file, resume: o.Resume}
	for name, p := range map[string]*js.Value{"getAccessToken": &a.getAccessToken, "onProgress": &a.onProgress, "onEvent": &a.onEvent} {
		v := opts.Get(name)
		if !v.IsUndefined() && !v.IsNull() && v.Type() != js.TypeFunction {
			return nil, typeErrorf("upload options: %s must be a function", name)
		}
		*p = v
	}
	createParents := true // the one option whose default is on
	switch v := opts.Get("createParents"); v.Type() {
	case js.TypeUndefined, js.TypeNull:
	case js.TypeBoolean:
		createParents = v.Bool()
	default:
		return nil, typeErrorf("upload options: createParents must be a boolean")
	}
	a.signal = opts.Get("signal")
	if a.signal.IsNull() {
		a.signal = js.Undefined()
	}
	if !a.signal.IsUndefined() && (a.signal.Type() != js.TypeObject || !a.signal.InstanceOf(jsGlobal.Get("AbortSignal"))) {
		return nil, typeErrorf("upload options: signal must be an AbortSignal")
	}
	a.client = smh.ClientConfig{Endpoint: o.Endpoint, LibraryID: o.LibraryID, SpaceID: o.SpaceID, UserID: o.UserID, AccessToken: o.AccessToken}
	a.task = smh.Options{Path: o.Path, Conflict: o.Conflict, TrafficLimit: traffic, PartSize: partSize, Concurrency: int(conc),
		StallTimeout:          time.Duration(min(stall, int64(math.MaxInt64/time.Millisecond))) * time.Millisecond,
		DisableCreateParents:  !createParents,
		InstantUpload:         o.InstantUpload,
		DisableIntegrityCheck: o.DisableIntegrityCheck}
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

// toInt takes a JS number option as an integer; 0 (or absent) means the default.
func toInt(name string, f float64) (int64, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, typeErrorf("upload options: %s must be an integer", name)
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
