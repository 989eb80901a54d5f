package mixer

import (
	"errors"
	"testing"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/rtcpsession"
	"github.com/rtpmix/rtpmix/srtp"
)

// fuzzEdit turns a few bytes into one change to a configuration, valid or
// not: the field from op, the value from v.
func fuzzEdit(op, v byte, keys []srtp.Keys) func(*ParticipantConfig) {
	formats := []codec.Format{pcmu, pcma, opf, g722f, {Name: "G729", ClockRate: 8000}, {}}
	pt := func() PayloadType {
		if v&0x80 != 0 {
			return PayloadType{}
		}
		return PT(v)
	}
	key := func() *srtp.Keys {
		if int(v)%(len(keys)+1) == len(keys) {
			return nil
		}
		k := keys[int(v)%(len(keys)+1)]
		return &k
	}
	return func(c *ParticipantConfig) {
		switch op % 18 {
		case 0:
			c.In = formats[int(v)%len(formats)]
		case 1:
			c.InPayloadType = pt()
		case 2:
			c.Out = formats[int(v)%len(formats)]
		case 3:
			c.OutPayloadType = pt()
		case 4:
			c.CNPayloadType = v
		case 5:
			c.Direction = Direction(v % 6)
		case 6:
			c.ListenOnly = v&1 != 0
		case 7:
			c.GainIn = float64(int(v)-128) / 2
		case 8:
			c.GainOut = float64(int(v)-128) / 2
		case 9:
			c.InSRTP = key()
		case 10:
			c.OutSRTP = key()
		case 11:
			c.SSRC = uint32(v) * 0x01010101 * uint32(v&1)
		case 12:
			c.InAudioLevelID, c.OutAudioLevelID = v%17, (v/17)%17
		case 13:
			c.Encoder.Bitrate, c.Encoder.FEC, c.Encoder.DTX = int(v)*1000, v&1 != 0, v&2 != 0
		case 14:
			c.Muted, c.Deaf = v&1 != 0, v&2 != 0
		case 15:
			c.UpdateOverlap = time.Duration(int(v)-100) * 10 * time.Millisecond
		case 16:
			c.SRTPReplayWindow = int(v) - 10
		case 17:
			if v == 0 {
				c.ID = "other"
			} else if v == 1 {
				c.Jitter.MaxDelay = time.Second
			}
		}
	}
}

// FuzzUpdate applies random sequences of changes through Update while a
// conference ticks and packets arrive: nothing panics; a refused Update
// returns a documented sentinel and changes nothing; an accepted one is
// published whole (Config says what the edit asked, consistently); and
// after the next tick every owner on the packet paths (the receive path,
// the decoder, the speaker state, the outbound stream) holds the published
// configuration, while the participant is sent a packet per tick exactly
// when its direction sends and a listener keeps hearing the room.
func FuzzUpdate(f *testing.F) {
	var keys []srtp.Keys
	for _, pr := range []srtp.Profile{srtp.ProfileAESCM128HMACSHA1_80, srtp.ProfileAEADAES128GCM} {
		k, err := srtp.GenerateKeys(pr)
		if err != nil {
			f.Fatal(err)
		}
		keys = append(keys, k)
	}
	f.Add([]byte{0, 2, 3, 0})                      // In Opus, Out PCMU... via PT unset
	f.Add([]byte{2, 2, 5, 2, 14, 1})               // Out Opus, recvonly, muted
	f.Add([]byte{9, 0, 10, 1, 11, 0, 5, 3})        // keys both ways, new SSRC, inactive
	f.Add([]byte{1, 96, 0, 2, 4, 13, 15, 110})     // In Opus on 96 with CN 13
	f.Add([]byte{0, 1, 1, 8, 2, 1, 3, 8, 4, 100})  // PCMA both ways
	f.Add([]byte{17, 0, 7, 255, 12, 200, 0, 3})    // invalid: ID, gain, IDs, G729
	f.Add([]byte{6, 1, 5, 2, 6, 0, 13, 40, 16, 0}) // listen-only, direction, encoder
	f.Fuzz(func(t *testing.T, ops []byte) {
		clk := &vclock{}
		c, err := NewConference(ConferenceConfig{Clock: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		u := newClient(t, c, clientSpec{id: "u", format: pcmu, pt: 0, src: tone(440, 1, 0.3)})
		o := newClient(t, c, clientSpec{id: "o", format: pcma, pt: 8, src: tone(700, 1, 0.3)})
		l := newClient(t, c, clientSpec{id: "l", format: pcmu, pt: 0, listenOnly: true})
		var sent int
		rec := SinkFunc(func(pkt []byte) error {
			if !rtcpsession.IsRTCP(pkt) { // RTCP shares the sink
				sent++
			}
			return nil
		})
		if err := u.p.Update(func(cfg *ParticipantConfig) { cfg.Sink = rec }); err != nil {
			t.Fatal(err)
		}
		all := []*client{u, o, l}
		for _, cl := range all {
			cl.keep = false
		}
		now := runEach(c, clk, all, 0, 100*time.Millisecond, nil)
		for len(ops) >= 2 {
			n := 1 + int(ops[0]>>5)%3 // one to three edits in one Update
			var edits []func(*ParticipantConfig)
			for ; n > 0 && len(ops) >= 2; n-- {
				edits = append(edits, fuzzEdit(ops[0], ops[1], keys))
				ops = ops[2:]
			}
			before := u.p.Config()
			var want ParticipantConfig
			err := u.p.Update(func(cfg *ParticipantConfig) {
				for _, e := range edits {
					e(cfg)
				}
				want = *cfg
			})
			got := u.p.Config()
			if err != nil {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("Update returned %v, not ErrConfig", err)
				}
				if !equalConfig(before, got) {
					t.Fatalf("a refused Update (%v) changed the configuration:\n%+v\n%+v", err, before, got)
				}
			} else {
				checkPublished(t, want, before, got)
			}
			sentBefore, heard := sent, l.p.Stats().PacketsOut
			now = runEach(c, clk, all, now, 40*time.Millisecond, nil)
			checkOwners(t, u.p, got)
			// Opus DTX sends nothing for a silent mix (a deaf or muted
			// room): with it, up to a packet per tick; without, exactly.
			wantN, n := 2*boolInt(got.Direction.Send()), sent-sentBefore
			if dtx := got.Encoder.DTX && got.Out.Name == opf.Name; n > wantN || (!dtx && n != wantN) {
				t.Fatalf("direction %v (Opus DTX %v): %d packets in two ticks", got.Direction, dtx, n)
			}
			if n := l.p.Stats().PacketsOut - heard; n != 2 {
				t.Fatalf("the listener got %d packets in two ticks", n)
			}
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// equalConfig compares configurations without their Sinks and with keys
// by value.
func equalConfig(a, b ParticipantConfig) bool {
	if !keysEqual(a.InSRTP, b.InSRTP) || !keysEqual(a.OutSRTP, b.OutSRTP) {
		return false
	}
	a.Sink, b.Sink = nil, nil
	a.InSRTP, a.OutSRTP, b.InSRTP, b.OutSRTP = nil, nil, nil, nil
	return a == b
}

// checkPublished checks that an accepted Update published what the edit
// asked for, with the defaults applied as Join applies them.
func checkPublished(t *testing.T, want, before, got ParticipantConfig) {
	t.Helper()
	if !sameFormat(got.In, want.In) || !sameFormat(got.Out, want.Out) {
		t.Fatalf("formats %v/%v published, %v/%v asked", got.In, got.Out, want.In, want.Out)
	}
	for _, p := range []PayloadType{got.InPayloadType, got.OutPayloadType} {
		if _, ok := p.Value(); !ok {
			t.Fatalf("payload type left unset: %+v", got)
		}
	}
	for _, c := range []struct{ want, before, got PayloadType }{
		{want.InPayloadType, before.InPayloadType, got.InPayloadType},
		{want.OutPayloadType, before.OutPayloadType, got.OutPayloadType},
	} {
		if _, set := c.want.Value(); set && c.want != c.before && c.got != c.want {
			t.Fatalf("payload type %v published, %v asked", c.got, c.want)
		}
	}
	if got.ListenOnly != !got.Direction.Recv() {
		t.Fatalf("ListenOnly %v with direction %v", got.ListenOnly, got.Direction)
	}
	if !keysEqual(got.InSRTP, want.InSRTP) || !keysEqual(got.OutSRTP, want.OutSRTP) {
		t.Fatal("keys not as asked")
	}
	if got.GainIn != want.GainIn || got.GainOut != want.GainOut || got.Muted != want.Muted || got.Deaf != want.Deaf {
		t.Fatalf("controls %+v, asked %+v", got, want)
	}
	if got.SSRC == 0 || (want.SSRC != 0 && got.SSRC != want.SSRC) || (want.SSRC == 0 && got.SSRC == before.SSRC) {
		t.Fatalf("SSRC %x published, %x asked (was %x)", got.SSRC, want.SSRC, before.SSRC)
	}
}

// checkOwners checks, after a tick, that every part of the participant
// holds the published configuration: none is left half-applied.
func checkOwners(t *testing.T, p *Participant, cfg ParticipantConfig) {
	t.Helper()
	inPT, _ := cfg.InPayloadType.Value()
	outPT, _ := cfg.OutPayloadType.Value()
	p.in.mu.Lock()
	in := p.in.media
	unprotect, levelID := p.in.unprotect, p.in.levelID
	p.in.mu.Unlock()
	switch {
	case p.tcfg != p.upd.cfg.Load():
		t.Fatal("the tick runs on another configuration than the published one")
	case in.pt != inPT || in.cn != cfg.CNPayloadType || levelID != cfg.InAudioLevelID:
		t.Fatalf("receive path on payload types %d/%d, extension %d; configured %d/%d, %d",
			in.pt, in.cn, levelID, inPT, cfg.CNPayloadType, cfg.InAudioLevelID)
	case (unprotect == nil) != (cfg.InSRTP == nil):
		t.Fatal("inbound SRTP does not match the configuration")
	case p.dq.cur.pt != inPT || p.dq.cur.cn != cfg.CNPayloadType || p.dq.cur.name != cfg.In.SDPName():
		t.Fatalf("decoder for %s on %d/%d; configured %s on %d/%d",
			p.dq.cur.name, p.dq.cur.pt, p.dq.cur.cn, cfg.In.SDPName(), inPT, cfg.CNPayloadType)
	case p.spk.listenOnly != !cfg.Direction.Recv() || p.out.paused != !cfg.Direction.Send():
		t.Fatalf("direction not applied: %v", cfg.Direction)
	case p.out.ssrc != cfg.SSRC || p.out.pt != outPT || p.out.clock != cfg.Out.ClockRate:
		t.Fatalf("stream %x on %d at %d Hz; configured %x on %d, %v", p.out.ssrc, p.out.pt, p.out.clock, cfg.SSRC, outPT, cfg.Out)
	case p.out.levelID != cfg.OutAudioLevelID || p.out.csrcLevelsID != cfg.OutCSRCLevelsID:
		t.Fatal("outbound extension IDs not applied")
	case (p.out.protect == nil) != (cfg.OutSRTP == nil):
		t.Fatal("outbound SRTP does not match the configuration")
	case p.key != keyOf(p):
		t.Fatal("not in the encode group of its configuration")
	}
	st := p.Stats()
	if st.InCodec != cfg.In.SDPName() || st.OutCodec != cfg.Out.SDPName() || st.Direction != cfg.Direction {
		t.Fatalf("stats %s/%s %v; configured %s/%s %v", st.InCodec, st.OutCodec, st.Direction,
			cfg.In.SDPName(), cfg.Out.SDPName(), cfg.Direction)
	}
}
