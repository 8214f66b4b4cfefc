package smh

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// timeCases are times in zones time.Parse renders differently: UTC, whole
// and fractional hours east and west, a named zone, and nanoseconds that
// RFC3339Nano trims.
func timeCases(t *testing.T) []time.Time {
	rng := rand.New(rand.NewPCG(3, 4))
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("", 8*3600), time.FixedZone("", -(3*3600 + 30*60)),
		time.FixedZone("X", 5*3600+45*60)}
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		zones = append(zones, ny)
	}
	out := []time.Time{
		time.Date(2021, 7, 24, 10, 34, 32, 0, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC),
		time.Date(2000, 1, 1, 0, 0, 0, 1000000, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 120000000, time.UTC),
	}
	for range 300 {
		sec := rng.Int64N(253402300799) // years 1970 to 9999
		ns := []int64{0, rng.Int64N(1e9), rng.Int64N(1000) * 1e6}[rng.IntN(3)]
		out = append(out, time.Unix(sec, ns).In(zones[rng.IntN(len(zones))]))
	}
	require.NotEmpty(t, out)
	return out
}

// mutations returns s with each byte replaced by a few others, dropped and
// doubled: near misses that either parser may refuse.
func mutations(s string) []string {
	var out []string
	for i := range len(s) {
		for _, c := range []byte{'0', '1', '2', '3', '4', '5', '6', '9', ' ', ',', '.', ':', '-', '+', 'Z', 'z', 't', 'T', 'x', 'G'} {
			if s[i] != c {
				out = append(out, s[:i]+string(c)+s[i+1:])
			}
		}
		out = append(out, s[:i]+s[i+1:], s[:i]+s[i:i+1]+s[i:])
	}
	return append(out, "", " "+s, s+" ", s+"Z")
}

func TestParseRFC3339MatchesTimeParse(t *testing.T) {
	for _, tm := range timeCases(t) {
		for _, s := range []string{tm.Format(time.RFC3339Nano), tm.Format(time.RFC3339), tm.Format("2006-01-02T15:04:05.000Z07:00")} {
			want, err := time.Parse(time.RFC3339Nano, s)
			require.NoError(t, err, s)
			got, ok := parseRFC3339(s)
			if assert.True(t, ok, s) {
				assert.True(t, want.Equal(got), "%s: %v, want %v", s, got, want)
				assert.Equal(t, want.String(), got.String(), s)
			}
			// Whatever this takes, time.Parse takes too, as the same time.
			for _, m := range mutations(s) {
				got, ok := parseRFC3339(m)
				want, err := time.Parse(time.RFC3339Nano, m)
				if ok {
					if assert.NoError(t, err, "%q: taken here, refused by time.Parse", m) {
						assert.Equal(t, want.String(), got.String(), m)
					}
				}
			}
		}
	}
}

// TestParseRFC3339RefusesWhatOnlyTimeParseSlowPathTakes pins the forms
// time.Parse takes through its general parser only (and json.go therefore
// refuses now): none is RFC 3339.
func TestParseRFC3339RefusesWhatOnlyTimeParseSlowPathTakes(t *testing.T) {
	for _, s := range []string{"2021-07-24T1:34:32Z", "2021-07-24T10:34:32,5Z", "2021-07-24T10:34:32+24:00"} {
		_, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err, s)
		_, ok := parseRFC3339(s)
		assert.False(t, ok, s)
	}
}

func TestParseHTTPDateMatchesTimeParse(t *testing.T) {
	layouts := []string{time.RFC1123, "Mon, 02 Jan 2006 15:04:05 GMT", "Mon, 02 Jan 2006 15:04:05.000 GMT",
		"mon, 02 jan 2006 3:04:05 GMT", "MON,  02  JAN 2006   15:04:05.999999999999   UTC"}
	for _, tm := range timeCases(t) {
		tm = tm.UTC()
		for _, l := range layouts {
			s := tm.Format(l)
			want, err := time.Parse(time.RFC1123, s)
			require.NoError(t, err, s)
			got, ok := parseHTTPDate(s)
			if assert.True(t, ok, s) {
				assert.True(t, want.Equal(got), "%s: %v, want %v", s, got, want)
			}
			for _, m := range mutations(s) {
				got, ok := parseHTTPDate(m)
				want, err := time.Parse(time.RFC1123, m)
				zone, off := want.Zone()
				switch {
				case ok:
					if assert.NoError(t, err, "%q: taken here, refused by time.Parse", m) {
						assert.True(t, want.Equal(got), "%s: %v, want %v", m, got, want)
					}
				case err == nil && off == 0 && (zone == "GMT" || zone == "UTC"):
					assert.Fail(t, "refused here, taken by time.Parse", "%q", m)
				}
			}
		}
	}
}

// TestParseHTTPDateRefusesOtherZones: HTTP dates are in GMT. time.Parse
// reads a zone it does not know as UTC, hours off the server's clock.
func TestParseHTTPDateRefusesOtherZones(t *testing.T) {
	for _, s := range []string{"Sun, 06 Nov 1994 08:49:37 EST", "Sun, 06 Nov 1994 08:49:37 GMT+3", "Sun, 06 Nov 1994 08:49:37 CEST"} {
		_, ok := parseHTTPDate(s)
		assert.False(t, ok, s)
	}
	got, ok := parseHTTPDate("Sun, 06 Nov 1994 08:49:37 GMT")
	require.True(t, ok)
	assert.Equal(t, time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC), got)
}
