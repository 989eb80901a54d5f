package srtp

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The example of RFC 4568 §4.
const rfc4568Line = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4"

func TestParseSDES(t *testing.T) {
	key30 := "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"                     // 30 bytes
	key28 := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw=="                     // 28 bytes
	key44 := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKis=" // 44 bytes
	cases := []struct {
		name    string
		in      string
		tag     int
		profile Profile
		life    uint64
		mki     []byte
		extra   int
		wsh     int
		canon   string // String() of the result, when it differs from in
	}{
		{name: "RFC 4568 example", in: rfc4568Line, tag: 1, profile: ProfileAESCM128HMACSHA1_80,
			life: 1 << 20, mki: []byte{0, 0, 0, 1}},
		{name: "without a=", in: strings.TrimPrefix(rfc4568Line, "a="), tag: 1,
			profile: ProfileAESCM128HMACSHA1_80, life: 1 << 20, mki: []byte{0, 0, 0, 1}},
		{name: "value only", in: "7 AES_CM_128_HMAC_SHA1_32 inline:" + key30, tag: 7,
			profile: ProfileAESCM128HMACSHA1_32},
		{name: "CRLF and spaces", in: "  a=crypto:2  AES_CM_128_HMAC_SHA1_80   inline:" + key30 + "\r\n",
			tag: 2, profile: ProfileAESCM128HMACSHA1_80},
		{name: "GCM-128 padded", in: "3 AEAD_AES_128_GCM inline:" + key28, tag: 3, profile: ProfileAEADAES128GCM},
		{name: "GCM-128 unpadded", in: "3 AEAD_AES_128_GCM inline:" + strings.TrimRight(key28, "="),
			tag: 3, profile: ProfileAEADAES128GCM, canon: "3 AEAD_AES_128_GCM inline:" + key28},
		{name: "GCM-256", in: "4 AEAD_AES_256_GCM inline:" + key44, tag: 4, profile: ProfileAEADAES256GCM},
		{name: "decimal lifetime", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1000",
			tag: 1, profile: ProfileAESCM128HMACSHA1_80, life: 1000},
		{name: "decimal power of two", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1048576",
			tag: 1, profile: ProfileAESCM128HMACSHA1_80, life: 1 << 20,
			canon: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20"},
		{name: "lifetime 2^48", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^48",
			tag: 1, profile: ProfileAESCM128HMACSHA1_80, life: 1 << 48},
		{name: "MKI only", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|258:2",
			tag: 1, profile: ProfileAESCM128HMACSHA1_80, mki: []byte{1, 2}},
		{name: "MKI 128 bytes", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|5:128",
			tag: 1, profile: ProfileAESCM128HMACSHA1_80, mki: append(make([]byte, 127), 5)},
		{name: "two keys", in: "9 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:1;inline:" + key30 + "|2^20|2:1",
			tag: 9, profile: ProfileAESCM128HMACSHA1_80, life: 1 << 20, mki: []byte{1}, extra: 1},
		{name: "WSH", in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " WSH=128",
			tag: 1, profile: ProfileAESCM128HMACSHA1_80, wsh: 128},
		{name: "tag 9 digits", in: "999999999 AES_CM_128_HMAC_SHA1_80 inline:" + key30,
			tag: 999999999, profile: ProfileAESCM128HMACSHA1_80},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseSDES(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.tag, c.Tag)
			assert.Equal(t, tc.profile, c.Keys.Profile)
			assert.NoError(t, c.Keys.Validate())
			assert.Equal(t, tc.life, c.Keys.Lifetime)
			assert.Equal(t, tc.mki, c.Keys.MKI)
			assert.Len(t, c.ExtraKeys, tc.extra)
			assert.Equal(t, tc.wsh, c.WindowSizeHint)
			want := tc.canon
			if want == "" {
				want = strings.TrimPrefix(strings.TrimSpace(tc.in), "a=")
				want = strings.TrimPrefix(want, "crypto:")
				want = strings.Join(strings.Fields(want), " ")
			}
			assert.Equal(t, want, c.String())
			assert.Equal(t, "a=crypto:"+want, c.SDPLine())
			again, err := ParseSDES(c.String())
			require.NoError(t, err)
			assert.True(t, cryptoEqual(c, again))
		})
	}

	// The RFC 4568 key decodes to the bytes its base64 says.
	c, err := ParseSDES(rfc4568Line)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x3d, 0x2d, 0x6e, 0x40, 0x25, 0x5e, 0x78, 0x21}, c.Keys.MasterKey[:8])
	assert.Len(t, c.Keys.MasterKey, cap(c.Keys.MasterKey), "key must not share capacity with the salt")
}

func TestParseSDESErrors(t *testing.T) {
	key30 := "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
	line := func(rest string) string { return "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + rest }
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", errSyntax},
		{"no key", "a=crypto:1 AES_CM_128_HMAC_SHA1_80", errSyntax},
		{"tag not a number", "x AES_CM_128_HMAC_SHA1_80 inline:" + key30, errTag},
		{"tag 10 digits", "1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + key30, errTag},
		{"tag negative", "-1 AES_CM_128_HMAC_SHA1_80 inline:" + key30, errTag},
		{"unknown suite", "1 AES_CM_999 inline:" + key30, ErrUnsupported},
		{"F8 suite", "1 F8_128_HMAC_SHA1_80 inline:" + key30, ErrUnsupported},
		{"AES-256-CM suite", "1 AES_256_CM_HMAC_SHA1_80 inline:" + key30, ErrUnsupported},
		{"key method", "1 AES_CM_128_HMAC_SHA1_80 uri:https://example.com/key", ErrUnsupported},
		{"no key method", "1 AES_CM_128_HMAC_SHA1_80 " + key30, errSyntax},
		{"bad base64", "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVm*jkpPywjNWhcYD0mXXtxaVBR", errBase64},
		{"base64 with bad padding bits", "1 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx==", errBase64},
		{"huge base64", "1 AES_CM_128_HMAC_SHA1_80 inline:" + strings.Repeat("A", 1000), errBase64},
		{"GCM key for AES-CM", "1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw==", errKeySaltLen},
		{"AES-CM key for GCM-256", "1 AEAD_AES_256_GCM inline:" + key30, errKeySaltLen},
		{"lifetime 2^49", line("|2^49"), errLifetime},
		{"lifetime 2^", line("|2^"), errLifetime},
		{"lifetime 2^99", line("|2^99"), errLifetime},
		{"lifetime zero", line("|0"), errLifetime},
		{"lifetime word", line("|forever"), errLifetime},
		{"lifetime too big", line("|281474976710657"), errLifetime},
		{"MKI length 0", line("|1:0"), errMKILen},
		{"MKI length 129", line("|1:129"), errMKILen},
		{"MKI no length", line("|1:"), errMKILen},
		{"MKI value too big", line("|256:1"), errMKIValue},
		{"MKI value empty", line("|:1"), errMKIValue},
		{"MKI value hex", line("|0x1:1"), errMKIValue},
		{"four fields", line("|2^20|1:4|x"), errSyntax},
		{"lifetime after MKI", line("|1:4|2^20"), errSyntax},
		{"two keys without MKI", line(";inline:" + key30), errMKIRequired},
		{"two keys, MKI lengths differ", line("|1:1;inline:" + key30 + "|2:2"), errMKIMismatch},
		{"two keys, same MKI", line("|1:1;inline:" + key30 + "|1:1"), errMKIDuplicate},
		{"second key bad", line("|1:1;inline:xx|2:1"), errBase64},
		{"KDR", line(" KDR=1"), ErrUnsupported},
		{"UNENCRYPTED_SRTP", line(" UNENCRYPTED_SRTP"), ErrUnsupported},
		{"UNENCRYPTED_SRTCP", line(" UNENCRYPTED_SRTCP"), ErrUnsupported},
		{"UNAUTHENTICATED_SRTP", line(" UNAUTHENTICATED_SRTP"), ErrUnsupported},
		{"FEC_ORDER", line(" FEC_ORDER=FEC_SRTP"), ErrUnsupported},
		{"unknown param", line(" FOO=1"), ErrUnsupported},
		{"WSH too small", line(" WSH=10"), errWSH},
		{"WSH not a number", line(" WSH=big"), errWSH},
		{"WSH twice", line(" WSH=64 WSH=128"), errWSH},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSDES(tc.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			assert.NotContains(t, err.Error(), key30, "errors must not leak key material")
		})
	}
}

func TestSDESRoundTripGenerated(t *testing.T) {
	for _, p := range allProfiles {
		k, err := GenerateKeys(p)
		require.NoError(t, err)
		c := Crypto{Tag: 5, Keys: k}
		got, err := ParseSDES(c.SDPLine())
		require.NoError(t, err)
		assert.True(t, cryptoEqual(c, got), p.String())
		// Keys parsed from an offer work as the peer's: what one side
		// protects with its Crypto, the other unprotects with the parsed one.
		pr, err := NewProtector(c.Keys)
		require.NoError(t, err)
		un, err := NewUnprotector(got.Keys)
		require.NoError(t, err)
		out, err := pr.ProtectRTP(nil, testRTP(1, 2, 30, 0))
		require.NoError(t, err)
		_, err = un.UnprotectRTP(nil, out, nil)
		assert.NoError(t, err)
	}
}

func TestSDESFixedOutput(t *testing.T) {
	k := testKeys(ProfileAESCM128HMACSHA1_80, 0)
	k.Lifetime = 1 << 31
	k.MKI = []byte{1, 0}
	c := Crypto{Tag: 1, Keys: k, WindowSizeHint: 64}
	assert.Equal(t, "1 AES_CM_128_HMAC_SHA1_80 inline:AQgPFh0kKzI5QEdOVVxjagIFCAsOERQXGh0gIyYp|2^31|256:2 WSH=64", c.String())
}

func cryptoEqual(a, b Crypto) bool {
	if a.Tag != b.Tag || a.WindowSizeHint != b.WindowSizeHint || !a.Keys.Equal(b.Keys) ||
		len(a.ExtraKeys) != len(b.ExtraKeys) {
		return false
	}
	for i := range a.ExtraKeys {
		if !a.ExtraKeys[i].Equal(b.ExtraKeys[i]) {
			return false
		}
	}
	return true
}
