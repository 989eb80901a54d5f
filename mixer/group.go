package mixer

import (
	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/codec/resample"
	"github.com/rtpmix/rtpmix/internal/pcm"
)

// groupKey says which listeners can share one encoded stream: the same
// codec with the same options, the same output gain, and the same deafness.
type groupKey struct {
	format     string
	bitrate    int
	complexity int
	lossPct    int
	app        codec.Application
	fec, dtx   bool
	maxBW      codec.Bandwidth
	gainOut    int32
	deaf       bool
}

func keyOf(p *Participant) groupKey {
	e := p.cfg.Encoder
	return groupKey{
		format:     p.cfg.Out.SDPName(),
		bitrate:    e.Bitrate,
		complexity: e.Complexity,
		lossPct:    e.PacketLossPercent,
		app:        e.Application,
		fec:        e.FEC,
		dtx:        e.DTX,
		maxBW:      e.MaxBandwidth,
		gainOut:    p.gainOut.Load(),
		deaf:       p.deaf.Load(),
	}
}

// encodeGroup is the one mix → one resample → one encode that every
// listener (participant not speaking) with the same key shares.
type encodeGroup struct {
	key     groupKey
	refs    int // participants assigned, speaking or not
	out     codec.Format
	encCfg  codec.Config
	enc     codec.Encoder
	rate    int // conference rate the group is set up for
	encRate int
	res     *resample.Resampler
	members []*Participant // listeners this tick
	limiter pcm.Limiter
	noise   noiseGen
	mix     []int16
	resBuf  []int16
	payload []byte
	active  bool // encoded last tick: encoder and resampler state are current
}

// assignGroup puts p in the group for its current key, creating the group
// when it is the first of its kind.
func (c *Conference) assignGroup(p *Participant) {
	k := keyOf(p)
	if p.group != nil && p.key == k {
		return
	}
	if g := p.group; g != nil {
		g.refs--
		if g.refs == 0 {
			delete(c.groups, g.key)
			c.groupList = deleteG(c.groupList, g)
		}
	}
	g := c.groups[k]
	if g == nil {
		g = &encodeGroup{
			key:     k,
			out:     p.cfg.Out,
			encCfg:  p.cfg.Encoder,
			mix:     make([]int16, maxFrame),
			resBuf:  make([]int16, 0, maxFrame),
			payload: make([]byte, 0, maxPayload),
		}
		g.setup(c, c.rate)
		c.groups[k] = g
		c.groupList = append(c.groupList, g)
	}
	g.refs++
	p.group, p.key = g, k
}

// setup builds the group's encoder and resampler for the conference rate.
// The first member's encoder options were validated at its Join, so failure
// here means a codec that cannot encode at all; the group then stays without
// an encoder and its listeners get nothing, counted as encode errors.
func (g *encodeGroup) setup(c *Conference, rate int) {
	enc, err := newEncoder(g.out, g.encCfg, rate, c.cfg.Ptime)
	if err != nil {
		g.enc = nil
		return
	}
	g.enc = enc
	g.rate = rate
	g.encRate = enc.SampleRate()
	g.res = nil
	if g.encRate != rate {
		g.res, _ = resample.New(rate, g.encRate, 1)
	}
	g.active = false
	g.limiter = newLimiter(rate)
}
