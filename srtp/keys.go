package srtp

import (
	"bytes"
	"crypto/rand"
	"fmt"
)

// Keys is one master key of a profile: what both ends of one direction of
// an SRTP session must share. Keys from ParseSDES, GenerateKeys and
// KeysFromDTLS own their slices. A Keys value is safe to read from many
// goroutines; contexts copy what they need, so it may be discarded or
// zeroed after NewProtector or NewUnprotector returns.
type Keys struct {
	Profile    Profile
	MasterKey  []byte // Profile.KeyLen() bytes
	MasterSalt []byte // Profile.SaltLen() bytes
	// MKI is the optional master key identifier carried in every packet
	// (RFC 3711 §3.1), 1..128 bytes; empty when the session uses none.
	MKI []byte
	// Lifetime is the number of packets the key may protect, as signalled
	// in SDES; 0 means not signalled (the suite maximum, 2^48). It is
	// informational: contexts stop only at the suite maximum.
	Lifetime uint64
}

// Validate reports whether k is usable: a supported profile, key and salt
// of that profile's lengths, an MKI of 1..128 bytes if any, and a lifetime
// within the suite maximum.
func (k Keys) Validate() error {
	in := k.Profile.info()
	if in == nil {
		return fmt.Errorf("%w: 0x%04x", errProfile, uint16(k.Profile))
	}
	if len(k.MasterKey) != in.key {
		return fmt.Errorf("%w: %s needs %d bytes, got %d", errKeyLen, k.Profile, in.key, len(k.MasterKey))
	}
	if len(k.MasterSalt) != in.salt {
		return fmt.Errorf("%w: %s needs %d bytes, got %d", errSaltLen, k.Profile, in.salt, len(k.MasterSalt))
	}
	if len(k.MKI) > maxMKILen {
		return fmt.Errorf("%w: got %d", errMKILen, len(k.MKI))
	}
	if k.Lifetime > in.maxLifetime {
		return fmt.Errorf("%w: %d > 2^48", errLifetime, k.Lifetime)
	}
	return nil
}

// Equal reports whether k and o hold the same profile, key, salt, MKI and
// lifetime.
func (k Keys) Equal(o Keys) bool {
	return k.Profile == o.Profile && bytes.Equal(k.MasterKey, o.MasterKey) &&
		bytes.Equal(k.MasterSalt, o.MasterSalt) && bytes.Equal(k.MKI, o.MKI) &&
		k.Lifetime == o.Lifetime
}

// clone returns a deep copy so that callers may reuse their slices.
func (k Keys) clone() Keys {
	k.MasterKey = bytes.Clone(k.MasterKey)
	k.MasterSalt = bytes.Clone(k.MasterSalt)
	k.MKI = bytes.Clone(k.MKI)
	return k
}

const maxMKILen = 128 // RFC 4568 §6.1: MKI length 1..128 bytes

// GenerateKeys returns a fresh master key and salt for p from crypto/rand,
// for offering in SDES.
func GenerateKeys(p Profile) (Keys, error) {
	in := p.info()
	if in == nil {
		return Keys{}, fmt.Errorf("%w: 0x%04x", errProfile, uint16(p))
	}
	b := make([]byte, in.key+in.salt)
	if _, err := rand.Read(b); err != nil {
		return Keys{}, fmt.Errorf("srtp: reading crypto/rand: %w", err)
	}
	return Keys{Profile: p, MasterKey: b[:in.key:in.key], MasterSalt: b[in.key:]}, nil
}

// KeysFromDTLS splits DTLS-SRTP exported keying material (label
// DTLSExporterLabel, p.KeyingMaterialLen() bytes) into the keys this end
// protects with (local) and unprotects with (remote). The layout is client
// write key, server write key, client write salt, server write salt (RFC
// 5764 §4.2); isClient is this end's DTLS role. The results do not alias
// material.
func KeysFromDTLS(material []byte, p Profile, isClient bool) (local, remote Keys, err error) {
	in := p.info()
	if in == nil {
		return Keys{}, Keys{}, fmt.Errorf("%w: 0x%04x", errProfile, uint16(p))
	}
	if len(material) != 2*(in.key+in.salt) {
		return Keys{}, Keys{}, fmt.Errorf("%w: %s needs %d bytes, got %d",
			errMaterialLen, p, 2*(in.key+in.salt), len(material))
	}
	m := bytes.Clone(material)
	k, s := in.key, in.salt
	client := Keys{Profile: p, MasterKey: m[0:k:k], MasterSalt: m[2*k : 2*k+s : 2*k+s]}
	server := Keys{Profile: p, MasterKey: m[k : 2*k : 2*k], MasterSalt: m[2*k+s : 2*k+2*s : 2*k+2*s]}
	if isClient {
		return client, server, nil
	}
	return server, client, nil
}
