package emulator

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file holds the token API: create, renew and delete access tokens.

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// tokenPeriod applies the documented rules: default when missing or invalid, raised to the floor. The
// default and the floor come from Config.TokenPeriod when it is below 1200 s (test knob).
func (e *Emulator) tokenPeriod(s string) time.Duration {
	def := e.cfg.TokenPeriod
	floor := min(MinTokenPeriod, def)
	secs, err := strconv.ParseInt(s, 10, 64)
	if err != nil || secs <= 0 || secs > 1<<31 {
		return def
	}
	return max(time.Duration(secs)*time.Second, floor)
}

type tokenJSON struct {
	AccessToken string `json:"accessToken"`
	ExpiresIn   int64  `json:"expiresIn"`
}

func expiresIn(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) }

func (c *apiCall) tokenCreate() {
	e := c.e
	lib, secret := c.q.Get("library_id"), c.q.Get("library_secret")
	switch {
	case lib == "" && secret == "":
		c.fail(errf(400, "EmptyLibraryIdOrSecret", "library_id and library_secret are missing"))
		return
	case lib == "":
		c.fail(errf(400, "EmptyLibraryId", "library_id is missing"))
		return
	case secret == "":
		c.fail(errf(400, "EmptyLibrarySecret", "library_secret is missing"))
		return
	case lib != e.cfg.LibraryID || secret != e.cfg.LibrarySecret:
		c.fail(errf(404, "WrongLibraryIdOrSecret", "wrong library id or secret"))
		return
	}
	t := &token{
		value:  "acctk" + randHex(24),
		userID: c.q.Get("user_id"),
		grants: map[string]bool{},
		period: e.tokenPeriod(c.q.Get("period")),
	}
	for _, g := range splitList(c.q.Get("grant")) { // unknown grants are kept and never match
		t.grants[g] = true
	}
	if sps := splitList(c.q.Get("space_id")); len(sps) > 0 {
		t.spaces = map[string]bool{}
		for _, s := range sps {
			t.spaces[s] = true
		}
	}
	t.expires = e.now().Add(t.period)
	e.mu.Lock()
	e.tokens[t.value] = t
	e.mu.Unlock()
	c.reply(200, tokenJSON{AccessToken: t.value, ExpiresIn: expiresIn(t.period)})
}

// tokenRenew extends a token by its original period; it needs no secret, only the token (in the path).
func (c *apiCall) tokenRenew() {
	e := c.e
	if c.lib != e.cfg.LibraryID {
		c.fail(errf(404, "LibraryNotFound", "library %q does not exist", c.lib))
		return
	}
	value := c.segs[0]
	now := e.now()
	e.mu.Lock()
	t := e.tokens[value]
	if t == nil || !now.Before(t.expires) {
		e.mu.Unlock()
		c.fail(errf(403, "InvalidAccessToken", "the access token is invalid or expired"))
		return
	}
	t.expires = now.Add(t.period)
	out := tokenJSON{AccessToken: t.value, ExpiresIn: expiresIn(t.period)}
	e.mu.Unlock()
	c.reply(200, out)
}

// tokenDelete deletes one token. Guess: an unknown or expired token answers 403 InvalidAccessToken rather
// than an idempotent 204.
func (c *apiCall) tokenDelete() {
	e := c.e
	if c.lib != e.cfg.LibraryID {
		c.fail(errf(404, "LibraryNotFound", "library %q does not exist", c.lib))
		return
	}
	value := c.segs[0]
	now := e.now()
	e.mu.Lock()
	t := e.tokens[value]
	ok := t != nil && now.Before(t.expires)
	delete(e.tokens, value)
	e.mu.Unlock()
	if !ok {
		c.fail(errf(403, "InvalidAccessToken", "the access token is invalid or expired"))
		return
	}
	c.reply(204, nil)
}

// tokenDeleteUser deletes every token of the listed user ids (library_secret required).
func (c *apiCall) tokenDeleteUser() {
	e := c.e
	secret := c.q.Get("library_secret")
	if secret == "" {
		c.fail(errf(400, "EmptyLibrarySecret", "library_secret is missing"))
		return
	}
	if c.lib != e.cfg.LibraryID || secret != e.cfg.LibrarySecret {
		c.fail(errf(404, "WrongLibraryIdOrSecret", "wrong library id or secret"))
		return
	}
	users := splitList(c.q.Get("user_id"))
	e.mu.Lock()
	for k, t := range e.tokens {
		if slices.Contains(users, t.userID) {
			delete(e.tokens, k)
		}
	}
	e.mu.Unlock()
	c.reply(204, nil)
}
