package srtp

import (
	"fmt"
	"strconv"

	pionsrtp "github.com/pion/srtp/v3"
)

// Profile is an SRTP protection profile: cipher, key sizes and tag lengths.
// Its values are the DTLS-SRTP protection profile identifiers of the IANA
// registry (RFC 5764 §4.1.2, RFC 7714 §14.2), so a profile negotiated by a
// DTLS stack converts with a plain conversion. A Profile is a value; it is
// safe for concurrent use.
type Profile uint16

// The supported profiles. The zero Profile is invalid.
const (
	// ProfileAESCM128HMACSHA1_80 is AES-128 counter mode with an 80-bit
	// HMAC-SHA1 tag (RFC 3711): the default of SDES and of most SIP peers.
	ProfileAESCM128HMACSHA1_80 Profile = 0x0001
	// ProfileAESCM128HMACSHA1_32 is the same with a 32-bit tag on SRTP
	// (SRTCP keeps 80 bits, RFC 3711 §5.2).
	ProfileAESCM128HMACSHA1_32 Profile = 0x0002
	// ProfileAEADAES128GCM is AES-128-GCM with a 16-byte tag (RFC 7714).
	ProfileAEADAES128GCM Profile = 0x0007
	// ProfileAEADAES256GCM is AES-256-GCM with a 16-byte tag (RFC 7714).
	ProfileAEADAES256GCM Profile = 0x0008
)

// DTLSExporterLabel is the TLS exporter label for DTLS-SRTP keying material
// (RFC 5764 §4.2); export Profile.KeyingMaterialLen bytes with it and no
// context, then call KeysFromDTLS.
const DTLSExporterLabel = "EXTRACTOR-dtls_srtp"

// Profiles returns the supported profiles, strongest first, as an offerer
// would list them.
func Profiles() []Profile {
	return []Profile{
		ProfileAEADAES256GCM, ProfileAEADAES128GCM,
		ProfileAESCM128HMACSHA1_80, ProfileAESCM128HMACSHA1_32,
	}
}

// profileInfo holds everything the package needs to know about a profile.
type profileInfo struct {
	sdes, dtls  string
	key, salt   int
	rtpTag      int // authentication tag (or AEAD tag) appended to SRTP
	rtcpTag     int // the same for SRTCP, which also carries a 4-byte index
	aead        bool
	maxLifetime uint64
}

func (p Profile) info() *profileInfo {
	switch p {
	case ProfileAESCM128HMACSHA1_80:
		return &infoAESCM80
	case ProfileAESCM128HMACSHA1_32:
		return &infoAESCM32
	case ProfileAEADAES128GCM:
		return &infoGCM128
	case ProfileAEADAES256GCM:
		return &infoGCM256
	}
	return nil
}

var (
	infoAESCM80 = profileInfo{"AES_CM_128_HMAC_SHA1_80", "SRTP_AES128_CM_HMAC_SHA1_80", 16, 14, 10, 10, false, 1 << 48}
	infoAESCM32 = profileInfo{"AES_CM_128_HMAC_SHA1_32", "SRTP_AES128_CM_HMAC_SHA1_32", 16, 14, 4, 10, false, 1 << 48}
	infoGCM128  = profileInfo{"AEAD_AES_128_GCM", "SRTP_AEAD_AES_128_GCM", 16, 12, 16, 16, true, 1 << 48}
	infoGCM256  = profileInfo{"AEAD_AES_256_GCM", "SRTP_AEAD_AES_256_GCM", 32, 12, 16, 16, true, 1 << 48}
)

// String returns the SDES crypto-suite name (RFC 4568, RFC 7714 §12), as
// written in a=crypto lines and understood by ffmpeg's -srtp_out_suite.
func (p Profile) String() string {
	if in := p.info(); in != nil {
		return in.sdes
	}
	return "Profile(0x" + strconv.FormatUint(uint64(p), 16) + ")"
}

// DTLSName returns the DTLS-SRTP protection profile name (RFC 5764, RFC
// 7714), or "" for an invalid profile.
func (p Profile) DTLSName() string {
	if in := p.info(); in != nil {
		return in.dtls
	}
	return ""
}

// Valid reports whether p is one of the supported profiles.
func (p Profile) Valid() bool { return p.info() != nil }

// KeyLen is the master key length in bytes (0 for an invalid profile).
func (p Profile) KeyLen() int {
	if in := p.info(); in != nil {
		return in.key
	}
	return 0
}

// SaltLen is the master salt length in bytes (0 for an invalid profile).
func (p Profile) SaltLen() int {
	if in := p.info(); in != nil {
		return in.salt
	}
	return 0
}

// RTPOverhead is the number of bytes protection adds to an RTP packet,
// not counting an MKI: the authentication tag, or the AEAD tag.
func (p Profile) RTPOverhead() int {
	if in := p.info(); in != nil {
		return in.rtpTag
	}
	return 0
}

// RTCPOverhead is the number of bytes protection adds to an RTCP packet,
// not counting an MKI: the tag and the 4-byte E flag and SRTCP index.
func (p Profile) RTCPOverhead() int {
	if in := p.info(); in != nil {
		return in.rtcpTag + 4
	}
	return 0
}

// KeyingMaterialLen is the number of bytes to export from DTLS for this
// profile: client and server key and salt (RFC 5764 §4.2).
func (p Profile) KeyingMaterialLen() int {
	return 2 * (p.KeyLen() + p.SaltLen())
}

// ParseProfile maps an SDES suite name ("AES_CM_128_HMAC_SHA1_80") or a
// DTLS-SRTP profile name ("SRTP_AES128_CM_HMAC_SHA1_80") to its Profile.
// Names of suites this package does not implement give an error wrapping
// ErrUnsupported.
func ParseProfile(name string) (Profile, error) {
	for _, p := range []Profile{ProfileAESCM128HMACSHA1_80, ProfileAESCM128HMACSHA1_32,
		ProfileAEADAES128GCM, ProfileAEADAES256GCM} {
		in := p.info()
		if name == in.sdes || name == in.dtls {
			return p, nil
		}
	}
	switch name {
	case "F8_128_HMAC_SHA1_80", "AES_192_CM_HMAC_SHA1_80", "AES_192_CM_HMAC_SHA1_32",
		"AES_256_CM_HMAC_SHA1_80", "AES_256_CM_HMAC_SHA1_32",
		"SRTP_AES256_CM_HMAC_SHA1_80", "SRTP_AES256_CM_HMAC_SHA1_32",
		"SRTP_NULL_HMAC_SHA1_80", "SRTP_NULL_HMAC_SHA1_32",
		"AES_CM_128_NULL_AUTH", "NULL_HMAC_SHA1_80", "NULL_HMAC_SHA1_32":
		return 0, fmt.Errorf("%w: crypto suite %q is known but not implemented", ErrUnsupported, name)
	}
	return 0, fmt.Errorf("%w: unknown crypto suite %q", ErrUnsupported, name)
}

// pion converts p to pion's identifier; the numbering is shared.
func (p Profile) pion() pionsrtp.ProtectionProfile { return pionsrtp.ProtectionProfile(p) }
