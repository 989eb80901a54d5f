package g711

// This file transcribes the ITU-T G.191 Software Tool Library's g711.c
// (functions alaw_compress, alaw_expand, ulaw_compress, ulaw_expand) one
// sample at a time, keeping its branches and loops, so that the expected
// values in the tests come from the standard's algorithm and not from the
// tables or SIMD code under test. Variable names follow g711.c. C's "short"
// arithmetic is done in int32 here; every intermediate fits in 16 bits, as
// in the original.

// g191AlawCompress is alaw_compress for one sample.
func g191AlawCompress(lin int16) byte {
	x := int32(lin)
	var ix int32
	if x < 0 {
		ix = (^x) >> 4 // one's complement for negative values: 0 <= ix < 2048
	} else {
		ix = x >> 4
	}
	// Exponent 0 for ix <= 15; otherwise shift the mantissa down until it
	// is 5 bits long, counting the shifts into the exponent.
	if ix > 15 {
		iexp := int32(1)
		for ix > 16+15 {
			ix >>= 1
			iexp++
		}
		ix -= 16 // drop the leading 1 of the mantissa
		ix += iexp << 4
	}
	if x >= 0 {
		ix |= 0x80 // sign bit set for positive samples
	}
	return byte(ix ^ 0x55) // toggle the even bits
}

// g191AlawExpand is alaw_expand for one code.
func g191AlawExpand(code byte) int16 {
	ix := int32(code) ^ 0x55 // undo the toggling of the even bits
	ix &= 0x7F               // drop the sign bit
	iexp := ix >> 4
	mant := ix & 0x0F
	if iexp > 0 {
		mant += 16 // restore the leading 1
	}
	mant = (mant << 4) + 0x08 // left-justify and add half a quantisation step
	if iexp > 1 {
		mant <<= iexp - 1
	}
	if code > 127 {
		return int16(mant)
	}
	return int16(-mant)
}

// g191UlawCompress is ulaw_compress for one sample.
func g191UlawCompress(lin int16) byte {
	x := int32(lin)
	// 14-bit magnitude (one's complement for negative samples) plus 33,
	// the offset between the A-law and μ-law segment thresholds.
	var absno int32
	if x < 0 {
		absno = ((^x) >> 2) + 33
	} else {
		absno = (x >> 2) + 33
	}
	if absno > 0x1FFF {
		absno = 0x1FFF
	}
	// Segment number: 1 plus the bit length of absno>>6.
	i := absno >> 6
	segno := int32(1)
	for i != 0 {
		segno++
		i >>= 1
	}
	highNibble := 0x08 - segno
	lowNibble := (absno >> segno) & 0x0F // mantissa without its leading 1
	lowNibble = 0x0F - lowNibble
	out := (highNibble << 4) | lowNibble
	if x >= 0 {
		out |= 0x80
	}
	return byte(out)
}

// g191UlawExpand is ulaw_expand for one code.
func g191UlawExpand(code byte) int16 {
	sign := int32(1)
	if code < 0x80 {
		sign = -1
	}
	mantissa := ^int32(code) // one's complement of the code
	exponent := (mantissa >> 4) & 0x07
	segment := exponent + 1
	mantissa &= 0x0F
	step := int32(4) << segment // one quantisation step
	return int16(sign * ((0x80 << exponent) + step*mantissa + step/2 - 4*33))
}
