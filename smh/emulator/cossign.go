package emulator

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// COS request signatures (q-sign-algorithm=sha1): how the emulated COS host
// checks the Authorization that SMH handed out, its key and sign windows,
// and expiry.

// cosEscape percent-encodes everything but the unreserved characters, as COS signing does.
func cosEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

func hmacSHA1Hex(key []byte, msg string) string {
	m := hmac.New(sha1.New, key)
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// cosSignature computes q-signature (smh-api.md §6.2):
// SignKey = HMAC-SHA1(SecretKey, KeyTime); HttpString = method\nuripath\nparams\nheaders\n;
// StringToSign = sha1\nSignTime\nSHA1(HttpString)\n; Signature = HMAC-SHA1(SignKey, StringToSign).
func cosSignature(secret []byte, keyTime, signTime, method, uriPath, params, headers string) string {
	signKey := hmacSHA1Hex(secret, keyTime)
	httpString := method + "\n" + uriPath + "\n" + params + "\n" + headers + "\n"
	sum := sha1.Sum([]byte(httpString))
	return hmacSHA1Hex([]byte(signKey), "sha1\n"+signTime+"\n"+hex.EncodeToString(sum[:])+"\n")
}

// signedList renders the listed query parameters or headers as COS signs them: key=value pairs with
// lower-case keys and encoded values, joined by "&", in list order.
func signedList(list string, get func(string) string) string {
	if list == "" {
		return ""
	}
	var parts []string
	for _, k := range strings.Split(list, ";") {
		parts = append(parts, cosEscape(strings.ToLower(k))+"="+cosEscape(get(k)))
	}
	return strings.Join(parts, "&")
}

// queryGet looks a query parameter up case-insensitively (COS signs lower-cased keys).
func queryGet(q url.Values, key string) (string, bool) {
	if v, ok := q[key]; ok && len(v) > 0 {
		return v[0], true
	}
	for k, v := range q {
		if strings.EqualFold(k, key) && len(v) > 0 {
			return v[0], true
		}
	}
	return "", false
}

func parseWindow(s string) (int64, int64, bool) {
	a, b, ok := strings.Cut(s, ";")
	if !ok {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	return start, end, err1 == nil && err2 == nil && start <= end
}

// parseAuth splits a COS authorization string ("q-sign-algorithm=sha1&q-ak=…&q-signature=…").
func parseAuth(auth string) map[string]string {
	f := map[string]string{}
	for _, kv := range strings.Split(auth, "&") {
		k, v, _ := strings.Cut(kv, "=")
		f[k] = v
	}
	return f
}

var (
	errNoAuth   = &cosError{status: 403, code: "AccessDenied", msg: "Access Denied."}
	errMismatch = &cosError{status: 403, code: "SignatureDoesNotMatch",
		msg: "The Signature you specified does not match what we calculated."}
)

// verifyLocked checks the Authorization and x-cos-security-token of a PUT for task t.
func (e *Emulator) verifyLocked(r *http.Request, t *task) *cosError {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return errNoAuth
	}
	f := parseAuth(auth)
	is := e.issues[f["q-ak"]]
	if is == nil || is.task != t {
		return errMismatch
	}
	return e.checkSignatureLocked(r, f, is, r.Header.Get("x-cos-security-token"))
}

// checkSignatureLocked checks the signature fields f made with the credentials is for request r, the
// session token that came with them, and the signature window against the server clock.
func (e *Emulator) checkSignatureLocked(r *http.Request, f map[string]string, is *issue, token string) *cosError {
	if f["q-sign-algorithm"] != "sha1" {
		return errMismatch
	}
	signStart, signEnd, ok1 := parseWindow(f["q-sign-time"])
	keyStart, keyEnd, ok2 := parseWindow(f["q-key-time"])
	if !ok1 || !ok2 {
		return errMismatch
	}
	q := r.URL.Query()
	params := signedList(f["q-url-param-list"], func(k string) string { v, _ := queryGet(q, k); return v })
	headers := signedList(f["q-header-list"], func(k string) string {
		if strings.EqualFold(k, "host") { // net/http moves Host out of the header map
			return r.Host
		}
		return r.Header.Get(k)
	})
	want := cosSignature(is.secret, f["q-key-time"], f["q-sign-time"], strings.ToLower(r.Method), r.URL.Path, params, headers)
	if !hmac.Equal([]byte(want), []byte(f["q-signature"])) {
		return errMismatch
	}
	if token != is.token {
		// Guess: a temporary key whose session token is missing or wrong is an unknown key to COS.
		return &cosError{status: 403, code: "InvalidAccessKeyId", msg: "The access key Id format you provided is invalid."}
	}
	now := e.now().Unix()
	if now < max(signStart, keyStart) {
		// Guess: a window that starts in the server's future is reported as clock skew.
		return &cosError{status: 403, code: "RequestTimeTooSkewed",
			msg: "The difference between the request time and the server's time is too large.", serverTime: true}
	}
	if now >= min(signEnd, keyEnd) || is.gen < e.expiredGen {
		return errExpired
	}
	return nil
}
