package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/rtpmix/rtpmix/srtp"
)

var errKey = errors.New("transcode: bad SRTP key")

// parseKey reads an SRTP master key as given on the command line, in any of
// the forms people paste:
//
//	a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<base64>   an SDP line
//	1 AES_CM_128_HMAC_SHA1_80 inline:<base64>            its value
//	AES_CM_128_HMAC_SHA1_80 inline:<base64>              without the tag
//	<base64 key||salt>                                   as ffmpeg's -srtp_out_params, with suite
//
// A suite named in the text must agree with suite.
func parseKey(s string, suite srtp.Profile) (srtp.Keys, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return srtp.Keys{}, fmt.Errorf("%w: empty", errKey)
	}
	if !strings.ContainsAny(s, " \t:") {
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return srtp.Keys{}, fmt.Errorf("%w: not base64: %v", errKey, err)
		}
		kl, sl := suite.KeyLen(), suite.SaltLen()
		if len(raw) != kl+sl {
			return srtp.Keys{}, fmt.Errorf("%w: %d bytes, %s wants %d (key %d + salt %d)", errKey, len(raw), suite, kl+sl, kl, sl)
		}
		k := srtp.Keys{Profile: suite, MasterKey: raw[:kl:kl], MasterSalt: raw[kl:]}
		return k, k.Validate()
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "a="), "crypto:")
	if first, _, _ := strings.Cut(s, " "); first != "" && (first[0] < '0' || first[0] > '9') {
		s = "1 " + s // no tag: SDES needs one, its value does not matter here
	}
	c, err := srtp.ParseSDES(s)
	if err != nil {
		return srtp.Keys{}, fmt.Errorf("%w: %v", errKey, err)
	}
	if c.Keys.Profile != suite {
		return srtp.Keys{}, fmt.Errorf("%w: suite %s, but -srtp-suite is %s", errKey, c.Keys.Profile, suite)
	}
	if len(c.ExtraKeys) > 0 || len(c.Keys.MKI) > 0 {
		return srtp.Keys{}, fmt.Errorf("%w: MKIs and several keys are not supported here", errKey)
	}
	return c.Keys, nil
}

// cryptoLine is the a=crypto line that announces k.
func cryptoLine(k srtp.Keys) string {
	return srtp.Crypto{Tag: 1, Keys: k}.SDPLine()
}

// inlineKey is k as ffmpeg's -srtp_out_params wants it: base64 of key||salt.
func inlineKey(k srtp.Keys) string {
	return base64.StdEncoding.EncodeToString(append(append([]byte(nil), k.MasterKey...), k.MasterSalt...))
}
