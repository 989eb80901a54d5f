package ogg

// Ogg's page checksum (RFC 3533 §6) is a CRC-32 with the generator
// polynomial 0x04c11db7 (the one of IEEE 802.3), but computed MSB first,
// with an initial value of 0 and no final inversion, so hash/crc32, which
// reflects the bits, cannot compute it.
var crcTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

// Checksum returns the Ogg CRC of page, whose CRC field (bytes 22–25) the
// caller has set to zero.
func Checksum(page []byte) uint32 {
	var crc uint32
	for _, b := range page {
		crc = crc<<8 ^ crcTable[byte(crc>>24)^b]
	}
	return crc
}
