package bridge

import (
	"encoding/json"
	"time"
)

// The "levels" event: what the web page's participant list shows, sent on
// the room's event stream to the clients that ask for it
// (GET /rooms/{room}/events?levels=1), every levelsInterval. Participants
// are named by ID: pion rewrites a WebRTC leg's SSRC, so the ID is the
// one name every leg has on the bridge. Other clients of the stream get
// the mixer's events only, as before.

// levelsInterval is how often a room sends its levels: often enough that
// a meter follows speech, rarely enough that a room of hundreds costs
// little (one Stats call per participant and interval).
const levelsInterval = 200 * time.Millisecond

// levelsJSON is the data of a "levels" event.
type levelsJSON struct {
	Room         string      `json:"room"`
	Participants []levelJSON `json:"participants"`
}

// levelJSON is one participant in a "levels" event.
type levelJSON struct {
	ID        string `json:"id"`
	Transport string `json:"transport"` // "rtp" or "webrtc"
	Codec     string `json:"codec"`
	// Level is the participant's smoothed level in -dBov (0 loudest, 127
	// silence), as the mixer's talk detector sees it.
	Level      int  `json:"level"`
	Talking    bool `json:"talking"`
	Muted      bool `json:"muted"`
	Deaf       bool `json:"deaf"`
	ListenOnly bool `json:"listen_only"`
	// Connected: a WebRTC leg's ICE and DTLS are up, an RTP leg's peer
	// has proven its address (the bridge sends it media).
	Connected bool `json:"connected"`
	// What the bridge receives from the participant: packets, the share
	// lost over the last interval (percent of those expected; 0 when
	// none were), all lost, and the interarrival jitter.
	PacketsIn    uint64  `json:"packets_in"`
	LossPct      float64 `json:"loss_pct"`
	Loss         uint64  `json:"loss"`
	JitterMillis float64 `json:"jitter_ms"`
	// What the participant's last RTCP report said of the bridge's
	// stream: the share it lost (percent), its jitter, the round trip.
	RemoteLossPct      float64 `json:"remote_loss_pct"`
	RemoteJitterMillis float64 `json:"remote_jitter_ms"`
	RTTMillis          float64 `json:"rtt_ms,omitempty"`
}

// levelsState is what the room's event pump keeps between two levels
// events: each participant's counters at the last one. Only the pump
// goroutine uses it.
type levelsState struct {
	prev map[string]levelCounts
}

type levelCounts struct{ in, lost uint64 }

// levelsWanted reports whether any subscriber asked for levels.
func (r *room) levelsWanted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for sub := range r.subs {
		if sub.levels.Load() {
			return true
		}
	}
	return false
}

// publishLevels sends a levels event to the subscribers that asked for
// it, dropping it (counted) for those that lag, as publish does.
func (r *room) publishLevels(st *levelsState) {
	if !r.levelsWanted() {
		st.prev = nil
		return
	}
	legs := r.legList()
	next := make(map[string]levelCounts, len(legs))
	ev := levelsJSON{Room: r.name, Participants: make([]levelJSON, 0, len(legs))}
	for _, l := range legs {
		if l.p == nil {
			continue
		}
		j := l.json(false)
		cur := levelCounts{in: j.PacketsIn, lost: j.Loss}
		next[l.id] = cur
		lj := levelJSON{
			ID: j.ID, Transport: j.Transport, Codec: j.Codec, Level: j.Level, Talking: j.Talking,
			Muted: j.Muted, Deaf: j.Deaf, ListenOnly: j.ListenOnly, Connected: j.Sending,
			PacketsIn: j.PacketsIn, Loss: j.Loss, JitterMillis: j.JitterMillis,
			RemoteLossPct: 100 * j.RTCP.FractionLost, RemoteJitterMillis: j.RTCP.JitterMillis, RTTMillis: j.RTCP.RTTMillis,
		}
		if p, ok := st.prev[l.id]; ok && cur.in >= p.in && cur.lost >= p.lost {
			if exp := (cur.in - p.in) + (cur.lost - p.lost); exp > 0 {
				lj.LossPct = 100 * float64(cur.lost-p.lost) / float64(exp)
			}
		}
		ev.Participants = append(ev.Participants, lj)
	}
	st.prev = next
	data, _ := json.Marshal(ev)
	msg := make([]byte, 0, len(data)+32)
	msg = append(msg, "event: levels\ndata: "...)
	msg = append(msg, data...)
	msg = append(msg, "\n\n"...)
	r.mu.Lock()
	defer r.mu.Unlock()
	for sub := range r.subs {
		if !sub.levels.Load() {
			continue
		}
		select {
		case sub.ch <- msg:
		default:
			sub.dropped.Add(1)
			r.sseDropped.Add(1)
		}
	}
}
