package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/srtp"
)

// FuzzParseTrunkReq: whatever arrives on a node's trunk subject is
// refused with errTrunkReq or accepted with every field checked; never a
// panic.
func FuzzParseTrunkReq(f *testing.F) {
	k1, err := srtp.GenerateKeys(srtp.ProfileAEADAES128GCM)
	require.NoError(f, err)
	k2, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(f, err)
	good, _ := json.Marshal(trunkReq{Room: "r", To: 7, From: partRec{Node: "b", Part: 9, Trunk: "127.0.0.1:40000"},
		KeysToYou: k1, KeysToMe: k2})
	_, err = parseTrunkReq(good)
	require.NoError(f, err, "a real request")
	f.Add(good)
	f.Add([]byte(`{"room":"r","to":1,"from":{"part":1,"trunk":"127.0.0.1:1"}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := parseTrunkReq(b)
		if err != nil {
			require.ErrorIs(t, err, errTrunkReq)
			return
		}
		require.NotZero(t, req.To)
		require.NotEqual(t, req.To, req.From.Part)
		require.NoError(t, req.KeysToYou.Validate())
		require.NoError(t, req.KeysToMe.Validate())
	})
}
