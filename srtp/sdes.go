package srtp

import (
	"encoding/base64"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Crypto is one SDES crypto attribute (RFC 4568):
//
//	a=crypto:<tag> <crypto-suite> inline:<key||salt>[|lifetime][|MKI:length][;inline:...] [WSH=n]
//
// Keys holds the suite (as its Profile) and the first key-params;
// ExtraKeys holds further key-params, which RFC 4568 allows only when
// every key carries an MKI of the same length (load them into an
// Unprotector with AddKey). A Crypto is a value; it is safe to read from
// many goroutines.
type Crypto struct {
	// Tag is the attribute's decimal tag, 1..999999999; an answer echoes
	// the tag of the offer line it accepts.
	Tag       int
	Keys      Keys
	ExtraKeys []Keys
	// WindowSizeHint is the WSH session parameter (RFC 4568 §6.3.6), the
	// sender's advice for the receiver's replay window; 0 when absent.
	WindowSizeHint int
}

// String returns the attribute value, without the "a=crypto:" prefix, in
// the canonical form: padded base64, lifetimes that are powers of two as
// "2^n", session parameters after the keys. ParseSDES(c.String()) returns
// c again.
func (c Crypto) String() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(c.Tag))
	b.WriteByte(' ')
	b.WriteString(c.Keys.Profile.String())
	b.WriteByte(' ')
	writeKeyParam(&b, c.Keys)
	for _, k := range c.ExtraKeys {
		b.WriteByte(';')
		writeKeyParam(&b, k)
	}
	if c.WindowSizeHint != 0 {
		b.WriteString(" WSH=")
		b.WriteString(strconv.Itoa(c.WindowSizeHint))
	}
	return b.String()
}

// SDPLine returns the whole SDP line, "a=crypto:" followed by String().
func (c Crypto) SDPLine() string { return "a=crypto:" + c.String() }

func writeKeyParam(b *strings.Builder, k Keys) {
	b.WriteString("inline:")
	ks := make([]byte, 0, len(k.MasterKey)+len(k.MasterSalt))
	ks = append(append(ks, k.MasterKey...), k.MasterSalt...)
	b.WriteString(base64.StdEncoding.EncodeToString(ks))
	if k.Lifetime != 0 {
		b.WriteByte('|')
		if k.Lifetime&(k.Lifetime-1) == 0 {
			b.WriteString("2^")
			b.WriteString(strconv.Itoa(bitLen(k.Lifetime) - 1))
		} else {
			b.WriteString(strconv.FormatUint(k.Lifetime, 10))
		}
	}
	if len(k.MKI) > 0 {
		b.WriteByte('|')
		b.WriteString(new(big.Int).SetBytes(k.MKI).String())
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(len(k.MKI)))
	}
}

func bitLen(x uint64) int {
	n := 0
	for ; x != 0; x >>= 1 {
		n++
	}
	return n
}

// ParseSDES parses an SDES crypto attribute, with or without the
// "a=crypto:" (or "crypto:") prefix. Key and salt lengths are checked
// against the suite; lifetimes ("2^20" or decimal) are checked against the
// suite maximum; MKIs ("value:length", length 1..128 bytes) are decoded to
// big-endian bytes of that length. Suites, key methods and session
// parameters this package cannot honour (F8, AES-192/256-CM, KDR,
// UNENCRYPTED_SRTP, UNENCRYPTED_SRTCP, UNAUTHENTICATED_SRTP, FEC_ORDER,
// FEC_KEY, unknown ones) give an error wrapping ErrUnsupported; malformed
// text gives another error. WSH is accepted and reported.
func ParseSDES(attr string) (Crypto, error) {
	s := strings.TrimSpace(attr)
	s = strings.TrimPrefix(s, "a=")
	s = strings.TrimPrefix(s, "crypto:")
	f := strings.Fields(s)
	if len(f) < 3 {
		return Crypto{}, fmt.Errorf("%w: want <tag> <suite> <key-params>, got %d fields", errSyntax, len(f))
	}
	var c Crypto
	if len(f[0]) > 9 || !isDigits(f[0]) {
		return Crypto{}, fmt.Errorf("%w: %.20q", errTag, f[0])
	}
	c.Tag, _ = strconv.Atoi(f[0]) // cannot fail: at most 9 digits
	p, err := ParseProfile(f[1])
	if err != nil {
		return Crypto{}, err
	}
	params := strings.Split(f[2], ";")
	keys := make([]Keys, 0, len(params))
	for i, kp := range params {
		k, err := parseKeyParam(p, kp)
		if err != nil {
			return Crypto{}, fmt.Errorf("key-params %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	if err := checkMKIs(keys); err != nil {
		return Crypto{}, err
	}
	c.Keys = keys[0]
	if len(keys) > 1 {
		c.ExtraKeys = keys[1:]
	}
	for _, sp := range f[3:] {
		if err := c.parseSessionParam(sp); err != nil {
			return Crypto{}, err
		}
	}
	return c, nil
}

// parseKeyParam parses "inline:<key||salt>[|lifetime][|MKI:length]".
func parseKeyParam(p Profile, kp string) (Keys, error) {
	method, info, ok := strings.Cut(kp, ":")
	if !ok {
		return Keys{}, fmt.Errorf("%w: key-param without key method", errSyntax)
	}
	if method != "inline" {
		return Keys{}, fmt.Errorf("%w: key method %.20q (only inline)", ErrUnsupported, method)
	}
	parts := strings.Split(info, "|")
	if len(parts) > 3 {
		return Keys{}, fmt.Errorf("%w: %d '|' fields in key-info, at most 3", errSyntax, len(parts))
	}
	k := Keys{Profile: p}
	ks, err := decodeBase64(parts[0])
	if err != nil {
		return Keys{}, err
	}
	in := p.info()
	if len(ks) != in.key+in.salt {
		return Keys{}, fmt.Errorf("%w: %s needs %d+%d bytes, got %d",
			errKeySaltLen, p, in.key, in.salt, len(ks))
	}
	k.MasterKey = ks[:in.key:in.key]
	k.MasterSalt = ks[in.key:]
	rest := parts[1:]
	if len(rest) > 0 && !strings.Contains(rest[0], ":") {
		if k.Lifetime, err = parseLifetime(rest[0], in.maxLifetime); err != nil {
			return Keys{}, err
		}
		rest = rest[1:]
	}
	if len(rest) > 0 {
		if k.MKI, err = parseMKI(rest[0]); err != nil {
			return Keys{}, err
		}
		rest = rest[1:]
	}
	if len(rest) > 0 {
		return Keys{}, fmt.Errorf("%w: key-info must be key||salt[|lifetime][|MKI:length]", errSyntax)
	}
	return k, nil
}

// decodeBase64 accepts padded base64 (RFC 4568 refers to RFC 3548) and,
// because some peers strip it, unpadded.
func decodeBase64(s string) ([]byte, error) {
	if len(s) > 256 {
		return nil, fmt.Errorf("%w: %d characters", errBase64, len(s))
	}
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBase64, err)
	}
	return b, nil
}

// parseLifetime parses "2^n" or a decimal packet count.
func parseLifetime(s string, maxLifetime uint64) (uint64, error) {
	if e, ok := strings.CutPrefix(s, "2^"); ok {
		if len(e) == 0 || len(e) > 2 || !isDigits(e) {
			return 0, fmt.Errorf("%w: %.30q", errLifetime, s)
		}
		n, _ := strconv.Atoi(e)
		if n > 63 || uint64(1)<<n > maxLifetime {
			return 0, fmt.Errorf("%w: 2^%d exceeds the suite maximum", errLifetime, n)
		}
		return 1 << n, nil
	}
	if !isDigits(s) {
		return 0, fmt.Errorf("%w: %.30q", errLifetime, s)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 || v > maxLifetime {
		return 0, fmt.Errorf("%w: %.30q", errLifetime, s)
	}
	return v, nil
}

// parseMKI parses "value:length" into length big-endian bytes.
func parseMKI(s string) ([]byte, error) {
	vs, ls, _ := strings.Cut(s, ":")
	if len(ls) == 0 || len(ls) > 3 || !isDigits(ls) {
		return nil, fmt.Errorf("%w: length %.10q", errMKILen, ls)
	}
	n, _ := strconv.Atoi(ls)
	if n < 1 || n > maxMKILen {
		return nil, fmt.Errorf("%w: got %d", errMKILen, n)
	}
	// 309 digits hold any 128-byte value; more is garbage, not worth a bignum.
	if len(vs) == 0 || len(vs) > 309 || !isDigits(vs) {
		return nil, fmt.Errorf("%w: value %.20q", errMKIValue, vs)
	}
	v, _ := new(big.Int).SetString(vs, 10)
	if v.BitLen() > 8*n {
		return nil, fmt.Errorf("%w: %.20s in %d bytes", errMKIValue, vs, n)
	}
	return v.FillBytes(make([]byte, n)), nil
}

// checkMKIs enforces RFC 4568 §6.1 for several keys: each has an MKI, all
// of one length (which pion also needs), no two alike.
func checkMKIs(keys []Keys) error {
	if len(keys) < 2 {
		return nil
	}
	for i, k := range keys {
		if len(k.MKI) == 0 {
			return errMKIRequired
		}
		if len(k.MKI) != len(keys[0].MKI) {
			return fmt.Errorf("%w: %d and %d bytes", errMKIMismatch, len(keys[0].MKI), len(k.MKI))
		}
		for _, o := range keys[:i] {
			if string(o.MKI) == string(k.MKI) {
				return errMKIDuplicate
			}
		}
	}
	return nil
}

func (c *Crypto) parseSessionParam(sp string) error {
	name, val, hasVal := strings.Cut(sp, "=")
	switch name {
	case "WSH":
		if !hasVal || len(val) == 0 || len(val) > 9 || !isDigits(val) || c.WindowSizeHint != 0 {
			return fmt.Errorf("%w: %.20q", errWSH, sp)
		}
		// RFC 4568 §6.3.6: the hint is at least 64.
		if c.WindowSizeHint, _ = strconv.Atoi(val); c.WindowSizeHint < 64 {
			return fmt.Errorf("%w: %d < 64", errWSH, c.WindowSizeHint)
		}
		return nil
	case "KDR", "UNENCRYPTED_SRTP", "UNENCRYPTED_SRTCP", "UNAUTHENTICATED_SRTP", "FEC_ORDER", "FEC_KEY":
		return fmt.Errorf("%w: session parameter %s", ErrUnsupported, name)
	}
	return fmt.Errorf("%w: unknown session parameter %.30q", ErrUnsupported, sp)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}
