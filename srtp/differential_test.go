package srtp

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	pionsrtp "github.com/pion/srtp/v3"
	"github.com/stretchr/testify/require"
)

// The differential test of the two backends: the same keys, the same
// packets and the same calls go to a compact and a pion Protector, and
// what they produce to a compact and a pion Unprotector, which must agree
// on every packet (accept or refuse, and why), on the plaintext, the
// header, the rollover counters and the counts. The protected packets
// must be byte-identical, so each Unprotector receives what both
// Protectors sent.

// errClass names what an error means to a caller: the sentinel it is, or
// "other".
func errClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrReplay):
		return "replay"
	case errors.Is(err, ErrAuth):
		return "auth"
	case errors.Is(err, ErrShortPacket):
		return "short"
	}
	return "other"
}

// twins is one differential run: a Protector per backend for each master
// key (two with MKI), an Unprotector per backend holding both keys, and
// an unencrypted-SRTCP sender (pion's SRTCPNoEncryption: E flag clear,
// which neither backend produces).
type twins struct {
	t        testing.TB
	prs      [2][2]*Protector // [key][backend]
	uns      [2]*Unprotector  // [backend]
	hdrs     [2]rtp.Header
	plain    *pionsrtp.Context
	plainHdr rtcp.Header
	key      int
	mki      bool
	// delivered holds genuine packets already delivered, to replay.
	delivered []twinPacket
}

type twinPacket struct {
	wire []byte
	rtcp bool
}

func newTwins(t testing.TB, p Profile, mki bool, window int) *twins {
	tw := &twins{t: t, mki: mki}
	keys := [2]Keys{testKeys(p, 80), testKeys(p, 81)}
	if mki {
		keys[0].MKI, keys[1].MKI = []byte{1, 2}, []byte{3, 4}
	}
	for b, be := range backends {
		for ki, k := range keys {
			pr, err := NewProtector(k, UseBackend(be))
			require.NoError(t, err)
			tw.prs[ki][b] = pr
		}
		un, err := NewUnprotector(keys[0], UseBackend(be), ReplayWindow(window))
		require.NoError(t, err)
		if mki {
			require.NoError(t, un.AddKey(keys[1]))
		}
		tw.uns[b] = un
	}
	opts := []pionsrtp.ContextOption{pionsrtp.SRTCPNoEncryption()}
	if mki {
		opts = append(opts, pionsrtp.MasterKeyIndicator(keys[0].MKI))
	}
	var err error
	tw.plain, err = pionsrtp.CreateContext(keys[0].MasterKey, keys[0].MasterSalt, p.pion(), opts...)
	require.NoError(t, err)
	return tw
}

// protect runs f on both Protectors of the current key, which must agree,
// and returns the packet (nil if refused).
func (tw *twins) protect(what string, f func(*Protector) ([]byte, error)) []byte {
	var outs [2][]byte
	var errs [2]error
	for b := range backends {
		outs[b], errs[b] = f(tw.prs[tw.key][b])
	}
	if errClass(errs[0]) != errClass(errs[1]) {
		tw.t.Fatalf("%s: compact %v, pion %v", what, errs[0], errs[1])
	}
	if !bytes.Equal(outs[0], outs[1]) {
		tw.t.Fatalf("%s: the backends' packets differ:\ncompact %x\npion    %x", what, outs[0], outs[1])
	}
	return outs[0]
}

// deliver hands wire to both Unprotectors, in place or not, and checks
// that they agree; want, if not nil, is the plaintext it must give if
// accepted. A genuine packet may be refused alike by both: the fuzzer's
// jumps and SetROC calls put sender and receiver in different rollover
// periods (ErrAuth), or it repeats a sequence number (ErrReplay). It
// returns whether the packet was accepted.
func (tw *twins) deliver(what string, wire []byte, isRTCP, inPlace bool, want []byte) bool {
	var outs [2][]byte
	var errs [2]error
	for b := range backends {
		buf := bytes.Clone(wire)
		dst := make([]byte, 0, len(wire))
		if inPlace {
			dst = buf[:0]
		}
		if isRTCP {
			outs[b], errs[b] = tw.uns[b].UnprotectRTCP(dst, buf)
		} else {
			outs[b], errs[b] = tw.uns[b].UnprotectRTP(dst, buf, &tw.hdrs[b])
		}
	}
	if errClass(errs[0]) != errClass(errs[1]) {
		tw.t.Fatalf("%s: compact %v, pion %v (%x)", what, errs[0], errs[1], wire)
	}
	if errs[0] != nil {
		return false
	}
	if !bytes.Equal(outs[0], outs[1]) {
		tw.t.Fatalf("%s: plaintexts differ:\ncompact %x\npion    %x", what, outs[0], outs[1])
	}
	if want != nil && !bytes.Equal(outs[0], want) {
		tw.t.Fatalf("%s: plaintext %x, want %x", what, outs[0], want)
	}
	if !isRTCP {
		h0, h1 := &tw.hdrs[0], &tw.hdrs[1]
		if h0.SequenceNumber != h1.SequenceNumber || h0.SSRC != h1.SSRC || h0.Timestamp != h1.Timestamp ||
			len(h0.CSRC) != len(h1.CSRC) || h0.Extension != h1.Extension || len(h0.Extensions) != len(h1.Extensions) {
			tw.t.Fatalf("%s: headers differ: %+v, %+v", what, h0, h1)
		}
	}
	return true
}

// agree checks the rollover counters of ssrcs and the counters of every
// context.
func (tw *twins) agree(what string, ssrcs []uint32) {
	for _, ssrc := range ssrcs {
		for ki := range tw.prs {
			r0, ok0 := tw.prs[ki][0].ROC(ssrc)
			r1, ok1 := tw.prs[ki][1].ROC(ssrc)
			if r0 != r1 || ok0 != ok1 {
				tw.t.Fatalf("%s: key %d sender ROC of %#x: compact %d %v, pion %d %v", what, ki, ssrc, r0, ok0, r1, ok1)
			}
		}
		r0, ok0 := tw.uns[0].ROC(ssrc)
		r1, ok1 := tw.uns[1].ROC(ssrc)
		if r0 != r1 || ok0 != ok1 {
			tw.t.Fatalf("%s: receiver ROC of %#x: compact %d %v, pion %d %v", what, ssrc, r0, ok0, r1, ok1)
		}
	}
	for ki := range tw.prs {
		if s0, s1 := tw.prs[ki][0].Stats(), tw.prs[ki][1].Stats(); s0 != s1 {
			tw.t.Fatalf("%s: key %d sender stats: compact %+v, pion %+v", what, ki, s0, s1)
		}
	}
	if s0, s1 := tw.uns[0].Stats(), tw.uns[1].Stats(); s0 != s1 {
		tw.t.Fatalf("%s: receiver stats: compact %+v, pion %+v", what, s0, s1)
	}
}

// rekey switches to the other master key, carrying the streams' rollover
// counters over as an application must (SetROC).
func (tw *twins) rekey(ssrcs []uint32) {
	old := tw.key
	tw.key = 1 - tw.key
	for _, ssrc := range ssrcs {
		for b := range backends {
			if roc, ok := tw.prs[old][b].ROC(ssrc); ok {
				tw.prs[tw.key][b].SetROC(ssrc, roc)
			}
		}
	}
}

func (tw *twins) remember(wire []byte, isRTCP bool) {
	tw.delivered = append(tw.delivered, twinPacket{wire, isRTCP})
	if len(tw.delivered) > 32 {
		tw.delivered = tw.delivered[1:]
	}
}

// seqSteps are how far a stream's next sequence number moves: mostly on,
// sometimes a duplicate, a reordering, or a jump to either side of the
// half-space the rollover estimate turns on.
var seqSteps = []uint16{1, 1, 1, 1, 2, 0, 65535, 65500, 100, 3000, 32767, 32768, 32769, 40000, 25000, 65000}

// rocValues are what SetROC sets: the start, small counters, and the last
// one, past which a sender's key is exhausted.
var rocValues = []uint32{0, 1, 2, 0xffff, 0x10000, 0xfffffffe, 0xffffffff}

// FuzzBackends drives twins through a sequence of operations read from
// ops, with sel choosing the profile, MKI or not, and the replay window,
// and data supplying packet parameters and raw packets: RTP and RTCP of
// three streams whose sequence numbers step by seqSteps (duplicates,
// reordering, jumps, wraps), replays of delivered packets, SetROC on the
// senders (rollover, exhaustion) and on the receivers, raw data through
// every protect and unprotect call, tampered packets, unencrypted SRTCP,
// and the second master key. After every operation both backends must
// agree (see twins).
func FuzzBackends(f *testing.F) {
	all := []byte{}
	for op := range 64 {
		all = append(all, byte(op*4+op%3), byte(op*8))
	}
	for sel := range 24 {
		f.Add(byte(sel), []byte{0, 0, 8, 16, 1, 9, 2, 0, 3, 0, 6, 5, 7, 0, 8, 1, 2, 4, 0}, []byte{3, 7, 0, 11, 1, 2})
		f.Add(byte(sel), all, []byte{1, 10, 40, 2, 0, 12, 13, 3, 200, 1})
	}
	// A wrap: SEQ 65535 then 0 under ROC set near the end, then exhaustion.
	f.Add(byte(0), []byte{3 | 6<<3, 0, 0, 0, 0, 3 | 5<<3, 0, 0}, []byte{15, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0})
	f.Add(byte(6), []byte{0, 0, 7, 0, 0, 1, 7, 1, 2, 2}, []byte{})
	f.Fuzz(func(t *testing.T, sel byte, ops, data []byte) {
		if len(ops) > 200 {
			ops = ops[:200]
		}
		p := allProfiles[int(sel)%len(allProfiles)]
		mki := sel&4 != 0
		window := []int{DefaultReplayWindow, 0, 200}[int(sel>>3)%3]
		tw := newTwins(t, p, mki, window)
		ssrcs := []uint32{0x1111, 0xCAFE0001, 0xE0E0}
		seqs := map[uint32]uint16{}
		d := 0
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			d++
			return data[(d-1)%len(data)]
		}
		for i, op := range ops {
			arg := int(op >> 3)
			ssrc := ssrcs[arg%2]
			inPlace := arg&4 != 0
			switch op & 7 {
			case 0: // RTP of a stream
				seq := seqs[ssrc] + seqSteps[int(next())%len(seqSteps)]
				seqs[ssrc] = seq
				pkt := testRTP(seq, ssrc, int(next()), int(next())%4)
				out := tw.protect("RTP", func(pr *Protector) ([]byte, error) {
					return pr.ProtectRTP(nil, pkt)
				})
				if out != nil && tw.deliver("RTP", out, false, inPlace, pkt) {
					tw.remember(out, false)
				}
			case 1: // RTCP of a stream, or unencrypted SRTCP
				r := testRTCP(ssrc, int(next())%8)
				if arg&8 != 0 {
					r = testRTCP(ssrcs[2], int(next())%8)
					out, err := tw.plain.EncryptRTCP(nil, r, &tw.plainHdr)
					require.NoError(t, err)
					if tw.deliver("unencrypted SRTCP", out, true, inPlace, r) {
						tw.remember(out, true)
					}
					break
				}
				out := tw.protect("RTCP", func(pr *Protector) ([]byte, error) {
					return pr.ProtectRTCP(nil, r)
				})
				if out != nil && tw.deliver("RTCP", out, true, inPlace, r) {
					tw.remember(out, true)
				}
			case 2: // replay
				if len(tw.delivered) == 0 {
					break
				}
				pk := tw.delivered[arg%len(tw.delivered)]
				tw.deliver("replay", pk.wire, pk.rtcp, inPlace, nil)
			case 3: // SetROC on the senders
				roc := rocValues[arg%len(rocValues)]
				for b := range backends {
					tw.prs[tw.key][b].SetROC(ssrc, roc)
				}
			case 4: // SetROC on the receivers
				roc := rocValues[arg%len(rocValues)]
				for b := range backends {
					tw.uns[b].SetROC(ssrc, roc)
				}
			case 5: // raw data through every call
				tw.protect("raw RTP", func(pr *Protector) ([]byte, error) { return pr.ProtectRTP(nil, data) })
				tw.protect("raw RTCP", func(pr *Protector) ([]byte, error) { return pr.ProtectRTCP(nil, data) })
				tw.deliver("raw SRTP", data, false, inPlace, nil)
				tw.deliver("raw SRTCP", data, true, inPlace, nil)
			case 6: // a delivered packet, one byte changed
				if len(tw.delivered) == 0 {
					break
				}
				pk := tw.delivered[len(tw.delivered)-1]
				bad := bytes.Clone(pk.wire)
				bad[arg%len(bad)] ^= next() | 1
				tw.deliver("tampered", bad, pk.rtcp, inPlace, nil)
			case 7: // the other master key
				if mki {
					tw.key = 1 - tw.key
				}
			}
			tw.agree(opName(i, op), ssrcs)
		}
	})
}

func opName(i int, op byte) string {
	return fmt.Sprintf("op %d (%s)", i, []string{"rtp", "rtcp", "replay", "setroc-tx", "setroc-rx",
		"raw", "tamper", "key"}[op&7])
}

// TestBackendsAgreeLong runs the differential test over a long scripted
// session per profile and MKI: 5,000 operations, streams wrapping their
// sequence numbers several times, replays and tampering throughout.
func TestBackendsAgreeLong(t *testing.T) {
	for _, p := range allProfiles {
		for _, mki := range []bool{false, true} {
			t.Run(p.String()+map[bool]string{false: "", true: "/MKI"}[mki], func(t *testing.T) {
				tw := newTwins(t, p, mki, DefaultReplayWindow)
				ssrcs := []uint32{0x1111, 0x2222}
				seq := [2]uint16{65000, 100}
				for i := range 5000 {
					s := i % 2
					switch {
					case i%97 == 0:
						// Under its own SSRC per key: a new Protector counts
						// SRTCP from 1, which the receiver would take for a
						// replay (neither backend can set the SRTCP index).
						r := testRTCP(ssrcs[s]+uint32(tw.key)<<24, i%5)
						out := tw.protect("RTCP", func(pr *Protector) ([]byte, error) { return pr.ProtectRTCP(nil, r) })
						require.True(t, tw.deliver("RTCP", out, true, i%3 == 0, r), "genuine SRTCP %d", i)
						tw.remember(out, true)
					case i%13 == 0 && len(tw.delivered) > 0:
						pk := tw.delivered[i%len(tw.delivered)]
						tw.deliver("replay", pk.wire, pk.rtcp, false, nil)
					case i%31 == 0 && len(tw.delivered) > 0:
						pk := tw.delivered[len(tw.delivered)-1]
						bad := bytes.Clone(pk.wire)
						bad[i%len(bad)] ^= 0x20
						tw.deliver("tampered", bad, pk.rtcp, true, nil)
					case i%1000 == 500 && mki:
						tw.rekey(ssrcs)
					default:
						seq[s] += 29 // wraps every 2,260 packets of a stream
						pkt := testRTP(seq[s], ssrcs[s], 20+i%150, i%4)
						out := tw.protect("RTP", func(pr *Protector) ([]byte, error) { return pr.ProtectRTP(nil, pkt) })
						require.True(t, tw.deliver("RTP", out, false, i%2 == 0, pkt), "genuine SRTP %d", i)
						tw.remember(out, false)
					}
					tw.agree("long", ssrcs)
				}
				roc, ok := tw.uns[0].ROC(ssrcs[0])
				require.True(t, ok)
				require.GreaterOrEqual(t, roc, uint32(1), "the streams wrapped")
			})
		}
	}
}
