package mixer

import (
	"time"

	"github.com/rtpmix/rtpmix/codec"
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
	ptime      time.Duration // the packet time (outPtime)
}

func keyOf(p *Participant) groupKey {
	e := p.tcfg.Encoder
	return groupKey{
		format:     p.tcfg.Out.SDPName(),
		bitrate:    e.Bitrate,
		complexity: e.Complexity,
		lossPct:    e.PacketLossPercent,
		app:        e.Application,
		fec:        e.FEC,
		dtx:        e.DTX,
		maxBW:      e.MaxBandwidth,
		gainOut:    p.ctl.gainOut.Load(),
		deaf:       p.ctl.deaf.Load(),
		ptime:      outPtime(p.tcfg, p.conf.cfg.Ptime),
	}
}

// encodeGroup is the one mix → one resample → one encode that every
// listener (participant not speaking) with the same key shares.
//
// Ownership: the tick goroutine alone.
type encodeGroup struct {
	key     groupKey
	refs    int // participants assigned, speaking or not
	out     codec.Format
	encCfg  codec.Config
	members []*Participant // listeners this tick
	// fanFirst is the group's first listener this tick and fanRes its
	// payload's index in splitState.res, in a split tick (shard.go).
	fanFirst *Participant
	fanRes   int32
	chain    encodeChain
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
		g = &encodeGroup{key: k, out: p.tcfg.Out, encCfg: p.tcfg.Encoder, chain: newEncodeChain()}
		g.setup(c.rate, c.cfg.Ptime)
		c.groups[k] = g
		c.groupList = append(c.groupList, g)
	}
	g.refs++
	p.group, p.key = g, k
}

// setup builds the group's chain for the conference rate. The first
// member's encoder options were validated at its Join, so failure here
// means a codec that cannot encode at all; the chain then stays without an
// encoder and its listeners get nothing, counted as encode errors.
func (g *encodeGroup) setup(rate int, ptime time.Duration) {
	_ = g.chain.setup(g.out, g.encCfg, rate, ptime, g.key.ptime)
	g.chain.cx.shared = true // heard by every listener of the group
}
