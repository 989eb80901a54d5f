package srtp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// forgeSRTCP returns an SRTCP packet that carries a well-formed RTCP header
// under ssrc, random payload bytes, an SRTCP index far ahead of anything a
// genuine sender of these tests reaches (so that it passes the replay check
// and must fail authentication) and a random tag: what an attacker without
// the keys sends.
func forgeSRTCP(rng *rand.Rand, p Profile, ssrc uint32, out []byte) []byte {
	plain := testRTCP(ssrc, 2)
	tag := p.info().rtcpTag
	out = append(out[:0], plain...)
	for i := 8; i < len(out); i++ {
		out[i] = byte(rng.Uint32())
	}
	if p.info().aead {
		for range tag {
			out = append(out, byte(rng.Uint32()))
		}
	}
	out = binary.BigEndian.AppendUint32(out, 1<<31|1<<30|rng.Uint32()>>2)
	if !p.info().aead {
		for range tag {
			out = append(out, byte(rng.Uint32()))
		}
	}
	return out
}

// TestConcurrentForgedSRTCP is the remote crash of issue 10: forged SRTCP
// hammered into one Unprotector from two goroutines (a leg's RTP and RTCP
// readers), interleaved with genuine SRTP and SRTCP. Before Unprotector
// had its mutex, AES-CM panicked in crypto/sha1 within milliseconds and
// the race detector reported at once; GCM survived but rejected genuine
// packets as replays. Now: no panic, no race, every forgery counted as an
// authentication failure, every genuine packet accepted.
func TestConcurrentForgedSRTCP(t *testing.T) { forBackends(t, testConcurrentForgedSRTCP) }

func testConcurrentForgedSRTCP(t *testing.T, be Backend) {
	const (
		rounds = 1500 // per goroutine; each 8 forged SRTCP, 1 genuine SRTP, 1 genuine SRTCP
		forged = 8
	)
	for _, p := range []Profile{ProfileAESCM128HMACSHA1_80, ProfileAEADAES128GCM} {
		t.Run(p.String(), func(t *testing.T) {
			k := testKeys(p, 60)
			un, err := NewUnprotector(k, UseBackend(be))
			require.NoError(t, err)
			deadline := time.Now().Add(5 * time.Second)
			var wg sync.WaitGroup
			var counts [2]struct{ forged, rtp, rtcp int }
			errs := make(chan error, 2)
			for g := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- hammer(un, k, uint32(0x5000+g), rounds, forged, deadline, &counts[g])
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			var sum struct{ forged, rtp, rtcp int }
			for _, c := range counts {
				sum.forged += c.forged
				sum.rtp += c.rtp
				sum.rtcp += c.rtcp
			}
			require.Positive(t, sum.rtcp)
			st := un.Stats()
			assert.Equal(t, uint64(sum.forged), st.AuthFailures, "every forgery an auth failure")
			assert.Equal(t, uint64(sum.rtp), st.RTPPackets)
			assert.Equal(t, uint64(sum.rtcp), st.RTCPPackets)
			assert.Zero(t, st.Replays+st.OtherErrors+st.ShortPackets+st.SSRCEvictions)
			t.Logf("%d forged, %d genuine SRTP, %d genuine SRTCP", sum.forged, sum.rtp, sum.rtcp)
		})
	}
}

// hammer is one reader goroutine of TestConcurrentForgedSRTCP. Forgeries
// go under its genuine SSRC and under random ones; genuine packets come
// from a Protector of its own (one sender per SSRC, as on the wire).
func hammer(un *Unprotector, k Keys, ssrc uint32, rounds, forged int, deadline time.Time,
	c *struct{ forged, rtp, rtcp int }) error {
	pr, err := NewProtector(k)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(ssrc), 1))
	var buf, scratch []byte
	var hdr rtp.Header
	for i := 0; i < rounds && time.Now().Before(deadline); i++ {
		for j := range forged {
			s := ssrc
			if j%2 == 1 {
				s = rng.Uint32()
			}
			buf = forgeSRTCP(rng, k.Profile, s, buf)
			if _, err := un.UnprotectRTCP(scratch[:0], buf); err != ErrAuth {
				return fmt.Errorf("forged SRTCP %d: %v, want ErrAuth", c.forged, err)
			}
			c.forged++
		}
		pkt := testRTP(uint16(i), ssrc, 100, 0)
		out, err := pr.ProtectRTP(nil, pkt)
		if err != nil {
			return err
		}
		plain, err := un.UnprotectRTP(out[:0], out, &hdr)
		if err != nil || !bytes.Equal(plain, pkt) || hdr.SSRC != ssrc {
			return fmt.Errorf("genuine SRTP %d: %v", i, err)
		}
		c.rtp++
		r := testRTCP(ssrc, 1+i%3)
		out, err = pr.ProtectRTCP(nil, r)
		if err != nil {
			return err
		}
		if plain, err = un.UnprotectRTCP(nil, out); err != nil || !bytes.Equal(plain, r) {
			return fmt.Errorf("genuine SRTCP %d: %v", i, err)
		}
		c.rtcp++
	}
	return nil
}

// TestConcurrentProtect: two goroutines protect on one Protector at once,
// SRTP under an SSRC each and SRTCP under a shared one as well as their
// own; every packet they produce unprotects, so neither corrupted the
// other's rollover counter, SRTCP index or cipher state.
func TestConcurrentProtect(t *testing.T) { forBackends(t, testConcurrentProtect) }

func testConcurrentProtect(t *testing.T, be Backend) {
	const n = 1500
	for _, p := range []Profile{ProfileAESCM128HMACSHA1_80, ProfileAEADAES256GCM} {
		t.Run(p.String(), func(t *testing.T) {
			k := testKeys(p, 61)
			pr, err := NewProtector(k, UseBackend(be))
			require.NoError(t, err)
			var wg sync.WaitGroup
			var rtpOut, rtcpOut [2][][]byte
			for g := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ssrc := uint32(0x7000 + g)
					for i := range n {
						// From 65000: the rollover counter moves under contention.
						pkt := testRTP(uint16(65000+i), ssrc, 60, i%4)
						buf := withRoom(pkt, pr.RTPOverhead())
						out, err := pr.ProtectRTP(buf[:0], buf)
						if err != nil {
							panic(err)
						}
						rtpOut[g] = append(rtpOut[g], out)
						r := testRTCP(ssrc, 1)
						if i%2 == 0 {
							r = testRTCP(0x7777, 2) // shared: its index is taken in turns
						}
						out, err = pr.ProtectRTCP(nil, r)
						if err != nil {
							panic(err)
						}
						rtcpOut[g] = append(rtcpOut[g], out)
					}
				}()
			}
			wg.Wait()
			// The shared SSRC's indices interleave between the two lists;
			// a window as wide as the test lets them arrive list by list.
			un, err := NewUnprotector(k, ReplayWindow(4*n), UseBackend(be))
			require.NoError(t, err)
			for g := range 2 {
				for i, out := range rtpOut[g] {
					_, err := un.UnprotectRTP(out[:0], out, nil)
					require.NoError(t, err, "goroutine %d SRTP %d", g, i)
				}
				for i, out := range rtcpOut[g] {
					_, err := un.UnprotectRTCP(out[:0], out)
					require.NoError(t, err, "goroutine %d SRTCP %d", g, i)
				}
			}
			assert.Equal(t, uint64(2*n), pr.Stats().RTPPackets)
			assert.Equal(t, uint64(2*n), un.Stats().RTCPPackets)
		})
	}
}
