package emulator

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// This file holds form uploads (smh-api.md §2.6, #2 and #15): a begin by POST without a flag hands out
// the fields of a COS POST Object form, and the object comes as multipart/form-data to the COS host,
// the form's fields first and the file last. Both are CORS simple requests, with no preflight: a POST
// whose body is a form, and a begin with no body.

type formInfoJSON struct {
	Domain     string            `json:"domain"`
	Form       map[string]string `json:"form"`
	ConfirmKey string            `json:"confirmKey"`
	Expiration string            `json:"expiration"`
}

// formPolicy is the POST policy that the form's q-signature signs (guess: COS's shape, as documented
// for its POST Object; only this emulator checks it).
type formPolicy struct {
	Expiration string              `json:"expiration"`
	Conditions []map[string]string `json:"conditions"`
}

// issueFormLocked hands out fresh form credentials for t, like issueLocked for a PUT: a new access key
// id with its own secret, valid for SignatureTTL from now.
func (e *Emulator) issueFormLocked(t *task) formInfoJSON {
	ak, is, keyTime, end := e.credentialsLocked(t)
	form := map[string]string{
		"key":                  t.objectKey,
		"acl":                  "default",
		"Content-Type":         contentTypeOf(t.segs[len(t.segs)-1]),
		"x-cos-security-token": t.securityToken,
		"q-sign-algorithm":     "sha1",
		"q-ak":                 ak,
		"q-key-time":           keyTime,
	}
	var conds []map[string]string
	for _, k := range []string{"key", "acl", "x-cos-security-token", "q-sign-algorithm", "q-ak", "q-key-time"} {
		conds = append(conds, map[string]string{k: form[k]})
	}
	policy, _ := json.Marshal(formPolicy{Expiration: time.Unix(end, 0).UTC().Format(time.RFC3339), Conditions: conds})
	form["policy"] = base64.StdEncoding.EncodeToString(policy)
	form["q-signature"] = formSignature(is.secret, keyTime, policy)
	return formInfoJSON{Domain: e.cosDomain, Form: form, ConfirmKey: t.confirmKey, Expiration: timeMillis(time.Unix(end, 0))}
}

// formSignature signs a POST policy as COS does: the key of q-key-time signs the policy's SHA-1.
func formSignature(secret []byte, keyTime string, policy []byte) string {
	sum := sha1.Sum(policy)
	return hmacSHA1Hex([]byte(hmacSHA1Hex(secret, keyTime)), hex.EncodeToString(sum[:]))
}

// maxFormField bounds a form field that is not the file.
const maxFormField = 64 << 10

var errBadForm = &cosError{status: 400, code: "InvalidArgument", msg: "The form is not a valid POST Object request."}

// post stores an object from a form upload (POST / with multipart/form-data) and answers 204 with its
// ETag and CRC-64, as a PUT's 200 does. The fields must come before the file, as COS requires.
func (c *cosCall) post() {
	e, r := c.e, c.r
	e.count("object.post")
	defer e.putStarted("object.post")()
	if !e.delay(r) {
		abort()
	}
	if c.injectedFault() {
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		c.failDrained(errBadForm)
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		c.failDrained(errBadForm)
		return
	}
	fields := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err != nil {
			// No file field, or a broken body: nothing is stored.
			c.failDrained(errBadForm)
			return
		}
		name := p.FormName()
		if name != "file" {
			b, err := io.ReadAll(io.LimitReader(p, maxFormField+1))
			if err != nil || len(b) > maxFormField {
				c.failDrained(errBadForm)
				return
			}
			fields[name] = string(b)
			continue
		}
		c.postFile(fields, p)
		return
	}
}

// postFile checks the form's fields and stores the file read from body, the form's last field.
func (c *cosCall) postFile(fields map[string]string, body io.Reader) {
	e := c.e
	key := fields["key"]
	e.mu.Lock()
	t := e.objects[key]
	if t == nil || !t.form {
		// Guess: as for a simple PUT, the fields of a cancelled, confirmed or unknown task are not valid.
		c.refuseLocked(errNoAuth)
		return
	}
	if ce := e.verifyFormLocked(fields, t); ce != nil {
		c.refuseLocked(ce)
		return
	}
	corrupt := e.takeCorruptLocked()
	storeID := t.storeID
	e.mu.Unlock()

	st, d, ok := c.receiveFrom(body, -1, e.uploadDir(storeID), corrupt)
	if !ok {
		return
	}
	e.mu.Lock()
	if t.state != taskOpen || e.tasks[t.confirmKey] != t || e.objects[key] != t { // cancelled or confirmed meanwhile
		e.mu.Unlock()
		e.discard(st)
		c.fail(errNoAuth)
		return
	}
	b, err := e.commit(st, e.objectPath(storeID))
	if err != nil {
		e.mu.Unlock()
		e.discard(st)
		c.fail(&cosError{status: 500, code: "InternalError", msg: err.Error()})
		return
	}
	t.object = &part{n: 1, size: d.size, md5: d.md5, crc: d.crc, modified: e.now(), blob: b}
	e.mu.Unlock()
	c.answerStored(d, http.StatusNoContent)
}

// verifyFormLocked checks a form's signature, its policy's conditions against the fields sent, the
// session token and the expiry (as errExpired, which a client takes for a signature to renew).
func (e *Emulator) verifyFormLocked(fields map[string]string, t *task) *cosError {
	is := e.issues[fields["q-ak"]]
	if is == nil || is.task != t || fields["q-sign-algorithm"] != "sha1" {
		return errMismatch
	}
	policy, err := base64.StdEncoding.DecodeString(fields["policy"])
	if err != nil {
		return errBadForm
	}
	if want := formSignature(is.secret, fields["q-key-time"], policy); !hmac.Equal([]byte(want), []byte(fields["q-signature"])) {
		return errMismatch
	}
	var p formPolicy
	if json.Unmarshal(policy, &p) != nil {
		return errBadForm
	}
	for _, cond := range p.Conditions {
		for k, v := range cond {
			if fields[k] != v {
				return &cosError{status: 403, code: "AccessDenied", msg: "Invalid according to Policy: Policy Condition failed: " + k}
			}
		}
	}
	if fields["x-cos-security-token"] != is.token {
		return &cosError{status: 403, code: "InvalidAccessKeyId", msg: "The access key Id format you provided is invalid."}
	}
	_, keyEnd, ok := parseWindow(fields["q-key-time"])
	expires, err := time.Parse(time.RFC3339, p.Expiration)
	if !ok || err != nil {
		return errBadForm
	}
	if now := e.now(); now.Unix() >= keyEnd || !now.Before(expires) || is.gen < e.expiredGen {
		return errExpired
	}
	return nil
}

// isFormPost reports whether r is a form upload: a POST of multipart/form-data to the bucket's root.
func isFormPost(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/" &&
		strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "multipart/form-data")
}
