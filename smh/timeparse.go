package smh

import (
	"strings"
	"time"
)

// The module reads two kinds of time: RFC 3339 in JSON (SMH's expiration,
// a resume record's saved) and HTTP dates (Date, Retry-After). time.Parse
// would read both, but it links time's general layout parser, about 58 KB
// of smh.wasm (16 KB gzip). These read the same strings to the same
// instants; the tests check them against time.Parse.

// parseRFC3339 reads an RFC 3339 time as time.Parse(time.RFC3339Nano, s)
// does on its fast path: Go 1.26.8's time.parseRFC3339, copied, with the
// local zone found through time's exported API. time.Parse falls back to
// its general parser for what this refuses, which takes a few malformed
// forms (a one-digit hour, a comma before the fraction, a zone hour of 24
// or more); SMH writes the canonical form, as does ResumeRecord.
func parseRFC3339(s string) (time.Time, bool) {
	// parseUint parses s as an unsigned decimal integer and
	// verifies that it is within some range.
	// If it is invalid or out-of-range,
	// it sets ok to false and returns the min value.
	ok := true
	parseUint := func(s string, min, max int) (x int) {
		for _, c := range []byte(s) {
			if c < '0' || '9' < c {
				ok = false
				return min
			}
			x = x*10 + int(c) - '0'
		}
		if x < min || max < x {
			ok = false
			return min
		}
		return x
	}

	// Parse the date and time.
	if len(s) < len("2006-01-02T15:04:05") {
		return time.Time{}, false
	}
	year := parseUint(s[0:4], 0, 9999)                            // e.g., 2006
	month := parseUint(s[5:7], 1, 12)                             // e.g., 01
	day := parseUint(s[8:10], 1, daysIn(time.Month(month), year)) // e.g., 02
	hour := parseUint(s[11:13], 0, 23)                            // e.g., 15
	min := parseUint(s[14:16], 0, 59)                             // e.g., 04
	sec := parseUint(s[17:19], 0, 59)                             // e.g., 05
	if !ok || !(s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':') {
		return time.Time{}, false
	}
	s = s[19:]

	// Parse the fractional second.
	var nsec int
	if len(s) >= 2 && s[0] == '.' && isDigit(s, 1) {
		n := 2
		for ; n < len(s) && isDigit(s, n); n++ {
		}
		nsec = parseNanoseconds(s, n)
		s = s[n:]
	}

	// Parse the time zone.
	t := time.Date(year, time.Month(month), day, hour, min, sec, nsec, time.UTC)
	if len(s) != 1 || s[0] != 'Z' {
		if len(s) != len("-07:00") {
			return time.Time{}, false
		}
		hr := parseUint(s[1:3], 0, 23) // e.g., 07
		mm := parseUint(s[4:6], 0, 59) // e.g., 00
		if !ok || !((s[0] == '-' || s[0] == '+') && s[3] == ':') {
			return time.Time{}, false
		}
		zoneOffset := (hr*60 + mm) * 60
		if s[0] == '-' {
			zoneOffset *= -1
		}
		t = t.Add(-time.Duration(zoneOffset) * time.Second)

		// Use local zone with the given offset if possible.
		if _, offset := t.In(time.Local).Zone(); offset == zoneOffset {
			t = t.In(time.Local)
		} else {
			t = t.In(time.FixedZone("", zoneOffset))
		}
	}
	return t, true
}

// parseHTTPDate reads an HTTP date as time.Parse(time.RFC1123, s) does
// (IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT": names in any case, runs
// of spaces, a one-digit hour and a fraction of a second are taken too),
// for the zones HTTP allows, GMT and UTC. time.Parse would take any zone
// abbreviation, and one it does not know (EST in a browser) as UTC, hours
// off: a clock offset learned from it would break every signature.
func parseHTTPDate(s string) (time.Time, bool) {
	p := dateScanner{s: s, ok: true}
	p.name("SunMonTueWedThuFriSat")
	p.lit(',')
	p.spaces()
	day := p.num(2, 2)
	p.spaces()
	month := p.name("JanFebMarAprMayJunJulAugSepOctNovDec") + 1
	p.spaces()
	year := p.num(4, 4)
	p.spaces()
	hour := p.num(1, 2)
	p.lit(':')
	min := p.num(2, 2)
	p.lit(':')
	sec := p.num(2, 2)
	var nsec int
	if p.ok && len(p.s) >= 2 && (p.s[0] == '.' || p.s[0] == ',') && isDigit(p.s, 1) {
		n := 2
		for ; n < len(p.s) && isDigit(p.s, n); n++ {
		}
		nsec = parseNanoseconds(p.s, n)
		p.s = p.s[n:]
	}
	p.spaces()
	if !p.ok || (p.s != "GMT" && p.s != "UTC") || day < 1 || day > daysIn(time.Month(month), year) ||
		hour > 23 || min > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, min, sec, nsec, time.UTC), true
}

// dateScanner reads an HTTP date left to right; ok turns false at the
// first thing out of place and stays so. Its methods are go:noinline:
// parseHTTPDate calls each several times, once a response, and inlined
// they made it 5 KB of smh.wasm's code.
type dateScanner struct {
	s  string
	ok bool
}

//go:noinline
func (p *dateScanner) lit(c byte) {
	if !p.ok || len(p.s) == 0 || p.s[0] != c {
		p.ok = false
		return
	}
	p.s = p.s[1:]
}

// spaces takes one or more spaces, as time.Parse does for a layout's one.
//
//go:noinline
func (p *dateScanner) spaces() {
	if !p.ok || len(p.s) == 0 || p.s[0] != ' ' {
		p.ok = false
		return
	}
	p.s = strings.TrimLeft(p.s, " ")
}

// num reads between least and most decimal digits.
//
//go:noinline
func (p *dateScanner) num(least, most int) int {
	n, x := 0, 0
	for ; p.ok && n < most && isDigit(p.s, n); n++ {
		x = x*10 + int(p.s[n]-'0')
	}
	if n < least {
		p.ok = false
		return 0
	}
	p.s = p.s[n:]
	return x
}

// name returns the index of the next three letters, in any case, among
// names (three letters each), as time.Parse matches day and month names.
//
//go:noinline
func (p *dateScanner) name(names string) int {
	if p.ok && len(p.s) >= 3 {
		for i := 0; i < len(names); i += 3 {
			if strings.EqualFold(p.s[:3], names[i:i+3]) {
				p.s = p.s[3:]
				return i / 3
			}
		}
	}
	p.ok = false
	return 0
}

func isDigit(s string, i int) bool {
	return i < len(s) && '0' <= s[i] && s[i] <= '9'
}

// parseNanoseconds reads the fraction s[1:n] (s[0] is its separator) as
// nanoseconds, its first nine digits: time's parseNanoseconds, for digits
// already checked.
func parseNanoseconds(s string, n int) int {
	n = min(n, 10)
	ns := 0
	for i := 1; i < n; i++ {
		ns = ns*10 + int(s[i]-'0')
	}
	for i := n; i < 10; i++ {
		ns *= 10
	}
	return ns
}

// daysIn is the number of days in month m of year.
func daysIn(m time.Month, year int) int {
	if m == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	// With the special case of February eliminated, the pattern is
	//	31 30 31 30 31 30 31 31 30 31 30 31
	// Adding m&1 produces the basic alternation;
	// adding (m>>3)&1 inverts the alternation starting in August.
	return 30 + int((m+m>>3)&1)
}
