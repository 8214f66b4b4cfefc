package emulator

import (
	"encoding/hex"
	"slices"
)

// This file holds an open task: renewing its credentials, its status and part list, cancelling it.

// taskLocked finds the open or confirmed task of the confirm key in the call's path.
func (c *apiCall) taskLocked() *task {
	if len(c.segs) != 1 {
		return nil
	}
	t := c.e.tasks[c.segs[0]]
	if t == nil || t.space != c.space {
		return nil
	}
	return t
}

var errUploadNotFound = errf(404, "UploadNotFound", "the upload task does not exist")

func (c *apiCall) renew() {
	e := c.e
	if _, aerr := c.auth(uploadGrants); aerr != nil {
		c.fail(aerr)
		return
	}
	limit, aerr := parseTrafficLimit(c.q)
	if aerr != nil {
		c.fail(aerr)
		return
	}
	e.mu.Lock()
	t := c.taskLocked()
	switch {
	case t == nil || t.state != taskOpen:
		e.mu.Unlock()
		c.fail(errUploadNotFound)
		return
	case !t.multipart:
		// Simple tasks cannot be renewed (smh-api.md §2.6: "call begin again").
		e.mu.Unlock()
		c.fail(errf(400, "ParamInvalid", "only multipart upload tasks can be renewed"))
		return
	}
	if limit > 0 { // guess: without traffic_limit the renewed headers keep the task's limit
		t.trafficLimit = limit
	}
	info := e.issueLocked(t)
	e.mu.Unlock()
	c.reply(200, info)
}

type partJSON struct {
	PartNumber   int    `json:"PartNumber"`
	LastModified string `json:"LastModified"`
	ETag         string `json:"ETag"`
	Size         int64  `json:"Size"`
}

type statusJSON struct {
	Confirmed                  bool                `json:"confirmed"`
	Path                       []string            `json:"path"`
	Type                       string              `json:"type"`
	CreationTime               string              `json:"creationTime"`
	ConflictResolutionStrategy string              `json:"conflictResolutionStrategy"`
	Force                      bool                `json:"force"`
	AvailableDomainNum         int                 `json:"availableDomainNum"`
	UploadID                   string              `json:"uploadId,omitempty"`
	Parts                      *[]partJSON         `json:"parts,omitempty"`
	UploadPartInfo             *uploadPartInfoJSON `json:"uploadPartInfo,omitempty"`
}

func quotedMD5(sum [16]byte) string { return `"` + hex.EncodeToString(sum[:]) + `"` }

// status answers the task's state; for an open multipart task it lists the stored parts and hands out a
// fresh signature. A confirmed task answers confirmed:true with its final path.
func (c *apiCall) status() {
	e := c.e
	if _, aerr := c.auth(uploadGrants); aerr != nil {
		c.fail(aerr)
		return
	}
	e.mu.Lock()
	t := c.taskLocked()
	if t == nil {
		e.mu.Unlock()
		c.fail(errUploadNotFound)
		return
	}
	out := statusJSON{
		Confirmed:                  t.state == taskConfirmed,
		Path:                       t.segs,
		Type:                       "file",
		CreationTime:               timeMillis(t.created),
		ConflictResolutionStrategy: t.strategy,
		Force:                      false, // guess: force relates to *_force grants in ACL mode, not emulated
		AvailableDomainNum:         1,
	}
	if t.state == taskConfirmed {
		out.Path = t.final
	} else if !e.space(t.space).isDir(t.segs[:len(t.segs)-1]) {
		out.Path = nil // the parent directory is gone
	}
	if t.multipart && t.state == taskOpen {
		out.UploadID = t.uploadID
		parts := make([]partJSON, 0, len(t.parts))
		for _, p := range t.parts {
			parts = append(parts, partJSON{PartNumber: p.n, LastModified: timeMillis(p.modified), ETag: quotedMD5(p.md5), Size: p.size})
		}
		slices.SortFunc(parts, func(a, b partJSON) int { return a.PartNumber - b.PartNumber })
		out.Parts = &parts
		info := e.issueLocked(t)
		out.UploadPartInfo = &uploadPartInfoJSON{Domain: info.Domain, Path: info.Path, UploadID: info.UploadID, Headers: info.Headers, Expiration: info.Expiration}
	}
	e.mu.Unlock()
	c.reply(200, out)
}

// dropLocked forgets an open task's COS side: its upload id, object key, credentials and parts.
func (e *Emulator) dropLocked(t *task) {
	delete(e.uploads, t.uploadID)
	delete(e.objects, t.objectKey)
	for _, ak := range t.aks {
		delete(e.issues, ak)
	}
	t.aks = nil
	t.parts = map[int]*part{}
	t.object = nil
}

// cancel deletes an open task and its parts. Guess: a confirmed task cannot be cancelled and answers 404
// UploadNotFound like an unknown one.
func (c *apiCall) cancel() {
	e := c.e
	if _, aerr := c.auth(uploadGrants); aerr != nil {
		c.fail(aerr)
		return
	}
	e.mu.Lock()
	t := c.taskLocked()
	if t == nil || t.state != taskOpen {
		e.mu.Unlock()
		c.fail(errUploadNotFound)
		return
	}
	e.dropLocked(t)
	delete(e.tasks, t.confirmKey)
	e.mu.Unlock()
	e.removeUploadDir(t.storeID)
	c.reply(204, nil)
}
