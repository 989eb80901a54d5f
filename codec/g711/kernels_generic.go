package g711

// The generic kernels are the reference for the assembly ones and the whole
// implementation elsewhere (kernels_other.go). They work eight samples per
// iteration: reslicing to [:8:8] once lets the compiler prove the eight
// constant indexes in range, and the table indexes are in range by
// construction, so the loop body has no bounds checks. len(dst) == len(src)
// on entry.

func encodeUlawGeneric(dst []byte, src []int16) {
	for len(src) >= 8 && len(dst) >= 8 {
		s, d := src[:8:8], dst[:8:8]
		d[0] = ulawEnc[uint16(s[0])>>2]
		d[1] = ulawEnc[uint16(s[1])>>2]
		d[2] = ulawEnc[uint16(s[2])>>2]
		d[3] = ulawEnc[uint16(s[3])>>2]
		d[4] = ulawEnc[uint16(s[4])>>2]
		d[5] = ulawEnc[uint16(s[5])>>2]
		d[6] = ulawEnc[uint16(s[6])>>2]
		d[7] = ulawEnc[uint16(s[7])>>2]
		src, dst = src[8:], dst[8:]
	}
	for i, x := range src {
		dst[i] = ulawEnc[uint16(x)>>2]
	}
}

func encodeAlawGeneric(dst []byte, src []int16) {
	for len(src) >= 8 && len(dst) >= 8 {
		s, d := src[:8:8], dst[:8:8]
		d[0] = alawEnc[uint16(s[0])>>4]
		d[1] = alawEnc[uint16(s[1])>>4]
		d[2] = alawEnc[uint16(s[2])>>4]
		d[3] = alawEnc[uint16(s[3])>>4]
		d[4] = alawEnc[uint16(s[4])>>4]
		d[5] = alawEnc[uint16(s[5])>>4]
		d[6] = alawEnc[uint16(s[6])>>4]
		d[7] = alawEnc[uint16(s[7])>>4]
		src, dst = src[8:], dst[8:]
	}
	for i, x := range src {
		dst[i] = alawEnc[uint16(x)>>4]
	}
}

func decodeUlawGeneric(dst []int16, src []byte) {
	for len(src) >= 8 && len(dst) >= 8 {
		s, d := src[:8:8], dst[:8:8]
		d[0] = ulawDec[s[0]]
		d[1] = ulawDec[s[1]]
		d[2] = ulawDec[s[2]]
		d[3] = ulawDec[s[3]]
		d[4] = ulawDec[s[4]]
		d[5] = ulawDec[s[5]]
		d[6] = ulawDec[s[6]]
		d[7] = ulawDec[s[7]]
		src, dst = src[8:], dst[8:]
	}
	for i, c := range src {
		dst[i] = ulawDec[c]
	}
}

func decodeAlawGeneric(dst []int16, src []byte) {
	for len(src) >= 8 && len(dst) >= 8 {
		s, d := src[:8:8], dst[:8:8]
		d[0] = alawDec[s[0]]
		d[1] = alawDec[s[1]]
		d[2] = alawDec[s[2]]
		d[3] = alawDec[s[3]]
		d[4] = alawDec[s[4]]
		d[5] = alawDec[s[5]]
		d[6] = alawDec[s[6]]
		d[7] = alawDec[s[7]]
		src, dst = src[8:], dst[8:]
	}
	for i, c := range src {
		dst[i] = alawDec[c]
	}
}
