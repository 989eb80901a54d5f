package main

import (
	"encoding/json"
	"net/http"
	"sort"
	"time"
)

// statusJSON is the answer to GET /cluster: what this node holds of the
// cluster, for operators and for the three-process demo, which measures
// from outside how long a dead node's trunks and streams linger.
type statusJSON struct {
	Node      string       `json:"node"`
	Admitting bool         `json:"admitting"` // the lease is fresh
	Parts     []partStatus `json:"parts"`
}

type partStatus struct {
	Room   string        `json:"room"`
	Part   uint32        `json:"part"`
	Local  int           `json:"local"`  // participants of this part
	Remote []string      `json:"remote"` // remote participants mixed here, by ID
	Trunks []trunkStatus `json:"trunks"`
}

type trunkStatus struct {
	Peer          uint32  `json:"peer"`
	Addr          string  `json:"addr"`
	Streams       int     `json:"streams"`
	PacketsIn     uint64  `json:"packets_in"`
	PacketsOut    uint64  `json:"packets_out"`
	Refused       uint64  `json:"refused"`
	SilentSeconds float64 `json:"silent_s"` // since the last packet (or since it was set up)
}

// handleStatus serves GET /cluster.
func (n *Node) handleStatus(w http.ResponseWriter, _ *http.Request) {
	out := statusJSON{Node: n.cfg.ID, Admitting: n.admitting(), Parts: []partStatus{}}
	for _, p := range n.partsWhere(func(*part) bool { return true }) {
		ps := partStatus{Room: p.room, Part: p.id, Remote: []string{}, Trunks: []trunkStatus{}}
		for _, lp := range p.conf.Participants() {
			if !lp.Remote() {
				ps.Local++
			}
		}
		for _, rp := range p.conf.RemoteParticipants() {
			ps.Remote = append(ps.Remote, rp.ID())
		}
		sort.Strings(ps.Remote)
		now := p.conf.Config().Clock()
		p.mu.Lock()
		for _, l := range p.byPeer {
			st := l.t.Stats()
			last := st.LastPacket
			if last < 0 {
				last = l.created
			}
			ps.Trunks = append(ps.Trunks, trunkStatus{Peer: l.peer, Addr: l.addr.String(), Streams: st.Streams,
				PacketsIn: st.PacketsIn, PacketsOut: st.PacketsOut, Refused: st.Refused.Packets,
				SilentSeconds: (now - last).Round(time.Millisecond).Seconds()})
		}
		p.mu.Unlock()
		sort.Slice(ps.Trunks, func(i, j int) bool { return ps.Trunks[i].Peer < ps.Trunks[j].Peer })
		out.Parts = append(out.Parts, ps)
	}
	sort.Slice(out.Parts, func(i, j int) bool { return out.Parts[i].Room < out.Parts[j].Room })
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
