package opuspacket

// AppendSilence appends to dst an Opus packet of dur 48 kHz samples (a
// multiple of 120 up to 960, or 1920, 2880, ..., 5760) that decodes to
// digital silence, and returns it; it returns dst unchanged for any other
// duration. The packet holds CELT-only fullband frames (configs 28–31,
// 2.5–20 ms) whose two bytes 0xFF 0xFE code the silence flag (RFC 6716
// §4.3: the first symbol of a CELT frame, probability 1/32768), so that a
// decoder outputs exact zeros without running the codec: 3 bytes per
// 20 ms. Longer durations are code 1 (two 20 ms frames) or code 3 (CBR,
// a frame-count byte). It allocates nothing when dst has room (8 bytes
// for 60 ms).
func AppendSilence(dst []byte, dur int, stereo bool) []byte {
	var s byte
	if stereo {
		s = 0x04
	}
	switch {
	case dur <= 0 || dur%120 != 0 || dur > 5760:
		return dst
	case dur <= 960:
		cfg := byte(28)
		d := 120
		for ; d < dur; d <<= 1 {
			cfg++
		}
		if d != dur {
			return dst
		}
		return append(dst, cfg<<3|s, 0xFF, 0xFE)
	case dur == 1920: // code 1: two 20 ms frames of equal size
		return append(dst, 31<<3|s|1, 0xFF, 0xFE, 0xFF, 0xFE)
	case dur%960 != 0:
		return dst
	}
	// Code 3, CBR: a frame-count byte then the frames.
	n := dur / 960
	dst = append(dst, 31<<3|s|3, byte(n))
	for range n {
		dst = append(dst, 0xFF, 0xFE)
	}
	return dst
}
