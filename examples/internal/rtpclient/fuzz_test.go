package rtpclient

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/srtp"
)

// FuzzReceiverHandle: any datagram, on a plain and on an SRTP leg, is
// accepted or dropped and counted; the counters always add up.
func FuzzReceiverHandle(f *testing.F) {
	keys, err := srtp.GenerateKeys(srtp.ProfileAESCM128HMACSHA1_80)
	require.NoError(f, err)
	prot, err := srtp.NewProtector(keys)
	require.NoError(f, err)
	plain := pkt(0, 1, 160, 7, make([]byte, 160))
	protected, err := prot.ProtectRTP(nil, pkt(0, 2, 320, 7, make([]byte, 160)))
	require.NoError(f, err)
	f.Add(plain)
	f.Add(protected)
	f.Add([]byte{0x81, 200, 0, 6})
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x10, 0x85, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range []*srtp.Keys{nil, &keys} {
			dec, err := codec.NewDecoder("PCMU/8000", codec.Config{})
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewReceiver(nil, ReceiverConfig{ClockRate: 8000, SRTP: k, Decoder: dec})
			if err != nil {
				t.Fatal(err)
			}
			now := time.Unix(0, 0)
			err1 := r.Handle(append([]byte(nil), data...), now)
			err2 := r.Handle(append([]byte(nil), data...), now.Add(20*time.Millisecond)) // a replay, or a duplicate
			st := r.Stats()
			accepted := uint64(0)
			for _, e := range []error{err1, err2} {
				if e == nil {
					accepted++
				}
			}
			if st.Packets != accepted || st.Dropped() != 2-accepted {
				t.Fatalf("counts do not add up: %+v after errors %v, %v", st, err1, err2)
			}
			if accepted > 0 && st.Expected == 0 {
				t.Fatalf("accepted packets but expected none: %+v", st)
			}
		}
	})
}
