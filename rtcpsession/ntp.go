package rtcpsession

import "time"

// ntpEpochOffset is the number of seconds from the NTP epoch (1900) to the
// Unix epoch (1970).
const ntpEpochOffset = 2208988800

// NTPTime returns t as RFC 3550's 64-bit NTP timestamp (§4): seconds since
// 1900 in the high 32 bits, the fraction of a second in the low 32.
func NTPTime(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// NTPToTime is the inverse of NTPTime (to the nanosecond, within the NTP
// era that starts in 1900).
func NTPToTime(ntp uint64) time.Time {
	secs := int64(ntp>>32) - ntpEpochOffset
	ns := (ntp & 0xffffffff) * uint64(time.Second) >> 32
	return time.Unix(secs, int64(ns))
}

// NTPShort returns the middle 32 bits of an NTP timestamp: the 16.16
// fixed-point seconds of LSR and of round-trip computations (§6.4.1).
func NTPShort(ntp uint64) uint32 { return uint32(ntp >> 16) }

// shortToDuration converts a 16.16 fixed-point number of seconds (DLSR,
// and differences of NTPShort values) to a duration.
func shortToDuration(v uint32) time.Duration {
	return time.Duration(uint64(v) * uint64(time.Second) >> 16)
}

// durationToShort converts a non-negative duration to 16.16 fixed-point
// seconds, saturating.
func durationToShort(d time.Duration) uint32 {
	switch {
	case d <= 0:
		return 0
	case d >= 65536*time.Second:
		return 0xffffffff
	}
	return uint32(uint64(d) << 16 / uint64(time.Second))
}

// Clock maps a session's clock (a time.Duration, as the mixer and the
// jitter buffer keep time, so that tests can run virtual time) to the
// wall-clock NTP timestamps RTCP carries: Epoch is the wall-clock time at
// which that clock reads 0. Round-trip times come out right whatever Epoch
// is, as long as the sending and the receiving side of a session use the
// same Clock; receivers of sender reports use the NTP timestamps to line
// streams up, so Epoch should be the real wall-clock time of 0.
type Clock struct {
	Epoch time.Time
}

// NTP returns the NTP timestamp of now on the session clock.
func (c Clock) NTP(now time.Duration) uint64 { return NTPTime(c.Epoch.Add(now)) }
