package g711

import "math/bits"

// The tables are computed at init from the closed-form functions below
// rather than generated into source: 20.5 KiB of literals would be unreadable
// and could drift from the formula, while computing them takes about 30 µs
// once per process. The tests check every entry against a separate
// transcription of G.191's g711.c.
//
// The encode tables exploit what G.191's ulaw_compress and alaw_compress
// actually look at: μ-law only ever uses x>>2 (one's complement for negative
// samples, which equals the arithmetic x>>2 with its bits inverted) and
// A-law only x>>4. Indexing by uint16(x)>>2 and uint16(x)>>4 therefore loses
// nothing and shrinks the tables to 16 KiB and 4 KiB, which stay in L1
// where a 64 Ki-entry table would not. The index is provably in range, so
// the compiler drops the bounds checks.
var (
	ulawEnc [1 << 14]byte
	alawEnc [1 << 12]byte
	ulawDec [256]int16
	alawDec [256]int16
)

func init() {
	for i := range ulawEnc {
		ulawEnc[i] = ulawCompress(int16(uint16(i) << 2))
	}
	for i := range alawEnc {
		alawEnc[i] = alawCompress(int16(uint16(i) << 4))
	}
	for c := range 256 {
		ulawDec[c] = ulawExpand(byte(c))
		alawDec[c] = alawExpand(byte(c))
	}
}

// ulawCompress is G.191's ulaw_compress in closed form: the segment search
// loop becomes a bit length.
func ulawCompress(x int16) byte {
	s := int32(x) >> 31                    // -1 for negative samples, else 0
	a := (int32(x)^s)>>2 + 33              // biased 14-bit magnitude, 33..8224
	a = min(a, 0x1FFF)                     // G.191 clips the biased magnitude
	b := int32(bits.Len32(uint32(a >> 6))) // segment number minus one, 0..7
	// a>>(b+1) is 16..31: the mantissa with its leading 1. μ-law sends the
	// segment and mantissa inverted.
	code := 0x7F - (b<<4 | (a>>(b+1))&0x0F)
	if s == 0 {
		code |= 0x80
	}
	return byte(code)
}

// ulawExpand is G.191's ulaw_expand in closed form.
func ulawExpand(c byte) int16 {
	n := ^int32(c)
	e := (n >> 4) & 7
	m := n & 0x0F
	// (0x80<<e) + step*m + step/2 - 132 with step = 8<<e, factored.
	v := (m<<3+0x84)<<e - 0x84
	if c < 0x80 {
		v = -v
	}
	return int16(v)
}

// alawCompress is G.191's alaw_compress in closed form. With
// ix = |x|>>4 (one's complement), sh = bitlen(ix>>5) is the exponent minus
// one (0 for the two lowest segments, which share a step size), and
// ix>>sh is then the mantissa with its leading 1 in exactly the place that
// adds the rest of the exponent.
func alawCompress(x int16) byte {
	s := int32(x) >> 31
	ix := (int32(x) ^ s) >> 4 // 0..2047
	sh := int32(bits.Len32(uint32(ix >> 5)))
	code := sh<<4 + ix>>sh
	if s == 0 {
		code |= 0x80
	}
	return byte(code ^ 0x55)
}

// alawExpand is G.191's alaw_expand in closed form.
func alawExpand(c byte) int16 {
	ix := int32(c^0x55) & 0x7F
	e := ix >> 4
	m := ix & 0x0F
	if e > 0 {
		m += 16
	}
	v := m<<4 + 8
	if e > 1 {
		v <<= e - 1
	}
	if c < 0x80 {
		v = -v
	}
	return int16(v)
}

// LinearToUlaw encodes one sample to a μ-law code, as G.191 ulaw_compress.
func LinearToUlaw(x int16) byte { return ulawEnc[uint16(x)>>2] }

// UlawToLinear decodes one μ-law code, as G.191 ulaw_expand.
func UlawToLinear(code byte) int16 { return ulawDec[code] }

// LinearToAlaw encodes one sample to an A-law code, as G.191 alaw_compress.
func LinearToAlaw(x int16) byte { return alawEnc[uint16(x)>>4] }

// AlawToLinear decodes one A-law code, as G.191 alaw_expand.
func AlawToLinear(code byte) int16 { return alawDec[code] }

// EncodeUlaw appends the μ-law codes of pcm to dst[:0] and returns it, one
// byte per sample. It allocates only when cap(dst) < len(pcm).
func EncodeUlaw(dst []byte, pcm []int16) []byte {
	dst = growBytes(dst, len(pcm))
	encodeUlaw(dst, pcm)
	return dst
}

// EncodeAlaw appends the A-law codes of pcm to dst[:0] and returns it, one
// byte per sample. It allocates only when cap(dst) < len(pcm).
func EncodeAlaw(dst []byte, pcm []int16) []byte {
	dst = growBytes(dst, len(pcm))
	encodeAlaw(dst, pcm)
	return dst
}

// DecodeUlaw appends the samples of the μ-law codes to dst[:0] and returns
// it. It allocates only when cap(dst) < len(codes).
func DecodeUlaw(dst []int16, codes []byte) []int16 {
	dst = growInt16(dst, len(codes))
	decodeUlaw(dst, codes)
	return dst
}

// DecodeAlaw appends the samples of the A-law codes to dst[:0] and returns
// it. It allocates only when cap(dst) < len(codes).
func DecodeAlaw(dst []int16, codes []byte) []int16 {
	dst = growInt16(dst, len(codes))
	decodeAlaw(dst, codes)
	return dst
}

func growBytes(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

func growInt16(b []int16, n int) []int16 {
	if cap(b) < n {
		return make([]int16, n)
	}
	return b[:n]
}
