package mixer

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtpmix/rtpmix/codec"
	"github.com/rtpmix/rtpmix/jitter"
	"github.com/rtpmix/rtpmix/rtcpsession"
	"github.com/rtpmix/rtpmix/srtp"
)

// Conference mixes its participants every tick.
//
// Concurrency: Join, Participants, Stats, Events and Close may be called
// from any goroutine. Tick must be called from one goroutine at a time (the
// Engine does it); it never waits for the other calls: they queue changes
// that the next tick applies. Who calls the Sinks, and when, is in Sink's
// documentation.
type Conference struct {
	cfg ConferenceConfig

	mu      sync.Mutex
	pending []func(*Conference, time.Duration)
	hasPend atomic.Bool
	list    []*Participant // snapshot for Participants, under mu
	// ids maps the IDs in use to their participants (nil while Join
	// builds one). Leave frees an ID at once, so it may be joined again
	// before the tick has removed the old participant.
	ids    map[string]*Participant
	nextID int
	closed bool

	regroup       atomic.Bool
	events        chan Event
	eventsDropped atomic.Uint64

	// managed: ticked by an Engine, which enables overload control.
	managed bool
	dl      confDelivery
	life    lifecycle

	// Derived from cfg at NewConference.
	talkParams talkParams
	silence    silencePolicy

	// RTCP: the CNAME of the conference's streams (RFC 7022, random), the
	// clock's wall-clock time for sender reports, the tick's report
	// buffer, and whether a participant has a BYE event or a report
	// request for the tick (rtcpTick).
	cname       string
	rtcpClock   rtcpsession.Clock
	rtcpBuf     []byte
	rtcpPending atomic.Bool
	rtcpDue     time.Duration // the earliest participant's next report (tick-owned)

	// Tick state, owned by the ticking goroutine.
	rate      int
	frame     int
	parts     []*Participant
	speakers  []*Participant // selected, at most the effective max
	mixSet    []*Participant // speakers plus those ramping out this tick
	groups    map[groupKey]*encodeGroup
	rates     rateCount // the participants' natural rates (rates.go)
	groupList []*encodeGroup
	acc       []int32
	csrc      []uint32
	csrcLvl   []uint8
	degrade   int
	overTicks int
	okTicks   int
	now       time.Duration

	timing   timingHist
	overruns atomic.Uint64
	degraded atomic.Int32
	numParts atomic.Int32
	numSpk   atomic.Int32
	curRate  atomic.Int32
	ticks    atomic.Uint64

	// cxStep publishes silence.cx.step, silentSkips counts the encodes
	// silent mixes saved (complexity.go).
	cxStep      atomic.Int32
	silentSkips atomic.Uint64

	// workClock measures each tick's work: Monotonic, or a test's script.
	workClock func() time.Duration
	// log is the optional logger and the tick's rate-limited warnings.
	log confLog
	// trunking is set once EnableTrunking has made the conference a part
	// of a cascaded room (trunk.go).
	trunking atomic.Pointer[trunking]
	// ep: application endpoints (sources, taps, tones); see media.go.
	ep endpoints
	// sh: the per-participant passes split across an Engine's workers
	// (shard.go).
	sh splitState
}

// maxFrame is the largest tick at the highest rate: 60 ms at 48 kHz.
const maxFrame = 48000 * 60 / 1000

// maxDecoded is the longest frame a decoder may return: 120 ms at 48 kHz.
const maxDecoded = 48000 * 120 / 1000

// NewConference validates cfg and returns a conference ready for Join and
// Tick. To run it on real time, create it through an Engine instead.
func NewConference(cfg ConferenceConfig) (*Conference, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Conference{
		cfg:     cfg,
		ids:     make(map[string]*Participant),
		events:  make(chan Event, cfg.EventBuffer),
		groups:  make(map[groupKey]*encodeGroup),
		rates:   make(rateCount),
		acc:     make([]int32, maxFrame),
		csrc:    make([]uint32, 0, 2*maxCSRC),
		csrcLvl: make([]uint8, 0, 2*maxCSRC),

		talkParams: newTalkParams(cfg.Talk, cfg.Ptime),
		silence:    silencePolicy{mode: cfg.Silence, noiseLevel: cfg.ComfortNoiseLevel},
		workClock:  Monotonic,

		cname: rtcpsession.NewCNAME(),
		// The wall-clock time at which the conference clock read 0.
		rtcpClock: rtcpsession.Clock{Epoch: time.Now().Add(-cfg.Clock())},
		rtcpBuf:   make([]byte, 0, rtcpBufSize),
	}
	c.silence.cx, c.silence.skips = complexityPolicy{cfg: cfg.Complexity}, &c.silentSkips
	c.log.init(cfg)
	c.setRate(cfg.SampleRate)
	if c.rate == 0 {
		c.setRate(8000) // until someone joins
	}
	if err := c.ep.init(c); err != nil {
		return nil, err
	}
	return c, nil
}

// Name returns the configured name.
func (c *Conference) Name() string { return c.cfg.Name }

// Config returns the configuration with defaults applied.
func (c *Conference) Config() ConferenceConfig { return c.cfg }

// Events delivers joined, left, updated, talking, overload and sink
// events. The tick never blocks on it: when the reader falls behind, events
// are dropped and counted in ConferenceStats.EventsDropped. Close ends it:
// the Left events of everyone still there come last (they are not dropped
// for lack of room; see Close), then the channel is closed, so a reader may
// range over it.
func (c *Conference) Events() <-chan Event { return c.events }

func (c *Conference) setRate(r int) {
	c.rate = r
	c.frame = codec.FrameSamples(r, c.cfg.Ptime)
	c.curRate.Store(int32(r))
}

// enqueue queues a change for the next tick.
func (c *Conference) enqueue(f func(*Conference, time.Duration)) {
	c.mu.Lock()
	c.pending = append(c.pending, f)
	c.mu.Unlock()
	c.hasPend.Store(true)
}

// Join adds a participant. Codecs, SRTP contexts and the jitter buffer are
// built here, in the caller's goroutine, so errors come back at once; the
// participant is mixed from the next tick. WriteRTP may be called as soon as
// Join returns.
//
// Errors: ErrConfig for a configuration that cannot work (the message says
// which field and numbers; a cause found by package codec, srtp or jitter is
// wrapped as well), ErrDuplicateID, ErrClosed.
func (c *Conference) Join(cfg ParticipantConfig) (*Participant, error) {
	gIn, gOut, err := checkConfig(&cfg)
	if err != nil {
		return nil, err
	}

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if cfg.ID == "" {
		for {
			c.nextID++
			cfg.ID = fmt.Sprintf("p%d", c.nextID)
			if _, taken := c.ids[cfg.ID]; !taken {
				break
			}
		}
	}
	if _, taken := c.ids[cfg.ID]; taken {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %q", ErrDuplicateID, cfg.ID)
	}
	c.ids[cfg.ID] = nil // reserved while the participant is built
	rate := int(c.curRate.Load())
	c.mu.Unlock()

	p, err := c.newParticipant(cfg, gIn, gOut, rate)
	if err != nil {
		c.mu.Lock()
		delete(c.ids, cfg.ID)
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: participant %s: %w", ErrConfig, cfg.ID, err)
	}
	c.mu.Lock()
	if c.closed {
		// Close came while the participant was being built: it did not see
		// it, so it must not join.
		delete(c.ids, cfg.ID)
		c.mu.Unlock()
		return nil, ErrClosed
	}
	// Listed and queued in one critical section, so that Close, which
	// queues a leave for everyone listed, always queues it after the join.
	c.ids[cfg.ID] = p
	c.list = append(c.list[:len(c.list):len(c.list)], p)
	c.pending = append(c.pending, func(c *Conference, now time.Duration) { c.add(p, now) })
	c.hasPend.Store(true)
	c.mu.Unlock()
	return p, nil
}

// checkConfig validates cfg as Join and Update take it and applies the
// defaults: payload types, ListenOnly folded into Direction. It returns
// the gains in Q16. Errors match ErrConfig and name the field and numbers.
func checkConfig(cfg *ParticipantConfig) (gIn, gOut int32, err error) {
	if cfg.In.Name == "" || cfg.Out.Name == "" {
		return 0, 0, fmt.Errorf("%w: participant needs In and Out formats", ErrConfig)
	}
	if _, ok := codec.Lookup(cfg.In.SDPName()); !ok {
		return 0, 0, fmt.Errorf("%w: inbound %w: %s", ErrConfig, codec.ErrUnknownFormat, cfg.In.SDPName())
	}
	if _, ok := codec.Lookup(cfg.Out.SDPName()); !ok {
		return 0, 0, fmt.Errorf("%w: outbound %w: %s", ErrConfig, codec.ErrUnknownFormat, cfg.Out.SDPName())
	}
	if err := resolvePayloadTypes(cfg); err != nil {
		return 0, 0, err
	}
	if cfg.InAudioLevelID > 14 || cfg.OutAudioLevelID > 14 || cfg.OutCSRCLevelsID > 14 {
		return 0, 0, fmt.Errorf("%w: extension IDs %d, %d, %d (one-byte IDs are 1..14)",
			ErrConfig, cfg.InAudioLevelID, cfg.OutAudioLevelID, cfg.OutCSRCLevelsID)
	}
	if !cfg.Direction.Valid() {
		return 0, 0, fmt.Errorf("%w: %v", ErrConfig, cfg.Direction)
	}
	if cfg.ListenOnly {
		cfg.Direction = DirectionOf(cfg.Direction.Send(), false)
	}
	cfg.ListenOnly = !cfg.Direction.Recv()
	if err := checkRTCP(cfg); err != nil {
		return 0, 0, err
	}
	if err := checkTelephoneEvents(cfg); err != nil {
		return 0, 0, err
	}
	if err := checkPtime(cfg); err != nil {
		return 0, 0, err
	}
	if gIn, err = gainQ16(cfg.GainIn); err != nil {
		return 0, 0, err
	}
	if gOut, err = gainQ16(cfg.GainOut); err != nil {
		return 0, 0, err
	}
	return gIn, gOut, nil
}

// newParticipant builds a participant for cfg (validated, defaults applied)
// at the conference's current rate.
func (c *Conference) newParticipant(cfg ParticipantConfig, gIn, gOut int32, rate int) (*Participant, error) {
	p := &Participant{conf: c, id: cfg.ID, desc: describe(cfg), logs: c.log.newParticipantLog(), done: make(chan struct{})}
	p.ctl.setGainIn(gIn, cfg.GainIn)
	p.ctl.setGainOut(gOut, cfg.GainOut)
	p.ctl.muted.Store(cfg.Muted)
	p.ctl.deaf.Store(cfg.Deaf)
	inPT, _ := cfg.InPayloadType.Value()
	outPT, _ := cfg.OutPayloadType.Value()

	jc := c.cfg.Jitter.Merge(cfg.Jitter)
	jc.ClockRate = cfg.In.ClockRate
	// The buffer takes comfort noise for the end of a talkspurt: the
	// silence after it is played as silence, not concealed.
	jc.CNPayloadType = cfg.CNPayloadType
	jb, err := jitter.New(jc)
	if err != nil {
		return nil, err
	}
	in := &p.in
	in.jb, in.levelID = jb, cfg.InAudioLevelID
	in.media = inMedia{pt: inPT, cn: cfg.CNPayloadType, ts: identityMap()}
	if cfg.InSRTP != nil {
		if in.unprotect, err = newUnprotector(cfg); err != nil {
			return nil, err
		}
	}

	p.tr.init(p)
	in.tr = &p.tr
	p.dq.init(jb, cfg.In, inPT, cfg.CNPayloadType)
	p.talk.init()
	p.spk.init()
	p.spk.listenOnly = !cfg.Direction.Recv()
	p.own = newEncodeChain()

	o := &p.out
	if cfg.OutSRTP != nil {
		if o.protect, err = srtp.NewProtector(*cfg.OutSRTP); err != nil {
			return nil, fmt.Errorf("outbound SRTP: %w", err)
		}
	}
	for cfg.SSRC == 0 {
		cfg.SSRC = rand.Uint32()
	}
	o.restart(cfg.SSRC)
	o.setClock(cfg.Out.ClockRate, uint32(cfg.Out.FrameSamples(outPtime(&cfg, c.cfg.Ptime))))
	o.tickStep = uint32(cfg.Out.FrameSamples(c.cfg.Ptime))
	o.paused = !cfg.Direction.Send()
	o.rtcpDue = never // until the tick arms its reports (startRTCP)
	o.pt, o.levelID, o.csrcLevelsID = outPT, cfg.OutAudioLevelID, cfg.OutCSRCLevelsID
	// A hand-driven tick hands each packet over as soon as it is built, so
	// one slot is enough; an Engine's deliverer may lag a few ticks behind,
	// and packets that find its queue full are built in pkt and dropped.
	// Every participant has a queue, Sink or not, because Update may give
	// it one.
	o.sink = cfg.Sink
	if e := c.dl.engine; e != nil {
		o.dl = newDelivery(c, c.dl.depth, false, p.done)
		o.pkt = make([]byte, 0, maxHeaderSize+maxPayload+srtpOverhead)
	} else {
		o.dl = newDelivery(c, 1, true, p.done)
	}
	if err := in.rtcp.init(cfg, o.ssrc, c.rtcpClock); err != nil {
		return nil, err
	}
	if err := p.rtcpOut.init(cfg, c.cname, o.protect); err != nil {
		return nil, err
	}

	cfg.InSRTP, cfg.OutSRTP = cloneKeys(cfg.InSRTP), cloneKeys(cfg.OutSRTP)
	p.tcfg = &cfg
	if err := p.setup(rate, c.cfg.Ptime); err != nil {
		return nil, err
	}
	if err := p.initDTMF(&cfg, c.cfg.DTMF, outPtime(&cfg, c.cfg.Ptime)); err != nil {
		return nil, err
	}
	p.upd.cfg.Store(&cfg)
	return p, nil
}

// newUnprotector builds the inbound SRTP context cfg asks for.
func newUnprotector(cfg ParticipantConfig) (*srtp.Unprotector, error) {
	u, err := unprotectorFor(*cfg.InSRTP, cfg.SRTPReplayWindow, participantSRTPSSRCs)
	if err != nil {
		return nil, fmt.Errorf("inbound SRTP: %w", err)
	}
	return u, nil
}

// unprotectorFor builds an inbound SRTP context for keys holding state for
// at most maxSSRCs sources, with a replay window of window packets (0 the
// default, negative none), as participants and trunks configure it.
func unprotectorFor(keys srtp.Keys, window, maxSSRCs int) (*srtp.Unprotector, error) {
	opts := []srtp.Option{srtp.MaxSSRCs(maxSSRCs)}
	switch {
	case window < 0:
		opts = append(opts, srtp.ReplayWindow(0))
	case window > 0:
		opts = append(opts, srtp.ReplayWindow(window))
	}
	return srtp.NewUnprotector(keys, opts...)
}

// cloneKeys returns a deep copy of k, so that no caller shares the slices
// of a configuration the participant keeps.
func cloneKeys(k *srtp.Keys) *srtp.Keys {
	if k == nil {
		return nil
	}
	c := *k
	c.MasterKey = bytes.Clone(k.MasterKey)
	c.MasterSalt = bytes.Clone(k.MasterSalt)
	c.MKI = bytes.Clone(k.MKI)
	return &c
}

// DefaultComplexity is the encoder complexity the mixer uses when a
// participant's Encoder config leaves it 0.
const DefaultComplexity = 5

// maxPayload bounds an encoded frame; srtpOverhead is room for the
// authentication tag (and MKI) that protect appends.
const (
	maxPayload   = 1500
	srtpOverhead = 32
)

// naturalRate is the audio bandwidth a format carries, for the automatic
// conference rate.
func naturalRate(f codec.Format) int {
	r := audioRate(f)
	if r > 48000 {
		r = 48000
	}
	return r
}

// add runs in the tick: the participant starts being mixed.
func (c *Conference) add(p *Participant, now time.Duration) {
	p.joined = true
	c.parts = append(c.parts, p)
	c.rates.count(p.tcfg, 1)
	c.dl.dirty = true
	c.numParts.Store(int32(len(c.parts)))
	c.updateRate()
	if p.rate != c.rate {
		if err := p.setup(c.rate, c.cfg.Ptime); err != nil {
			// Join built the same codecs at another rate, so this cannot
			// fail for a registered codec; keep the participant silent
			// rather than crash the room.
			inc(&p.dq.decodeErrors)
		}
	}
	c.assignGroup(p)
	p.startRTCP(now)
	c.ep.tones.joined()
	c.emit(Event{Type: Joined, Participant: p.id, At: now, Detail: p.desc})
}

// remove runs in the tick: the participant stops being mixed and its
// resources are released.
func (c *Conference) remove(p *Participant, now time.Duration) {
	p.sendBye(now)
	// Done closes once the BYE and whatever is queued before it have gone
	// to the sinks: at once in a hand-driven tick, from the deliverer in
	// an Engine.
	defer p.out.dl.leave()
	if p.joined {
		c.rates.count(p.tcfg, -1)
	}
	p.joined = false
	c.stopPassing(p)
	c.parts = deleteP(c.parts, p)
	c.dl.dirty = true
	c.speakers = deleteP(c.speakers, p)
	c.numParts.Store(int32(len(c.parts)))
	if g := p.group; g != nil {
		p.group = nil
		g.refs--
		if g.refs == 0 {
			delete(c.groups, g.key)
			c.groupList = deleteG(c.groupList, g)
		}
	}
	if p.talk.talking {
		c.emit(Event{Type: TalkingStopped, Participant: p.id, At: now, Level: int(p.talk.smooth)})
	}
	c.release(p)
	c.updateRate()
	c.ep.tones.left()
	c.emit(Event{Type: Left, Participant: p.id, At: now, Detail: p.ctl.leaveReason})
}

// release frees p's ID and drops it from the list Participants returns,
// unless that was done already; an ID joined again since belongs to the
// new participant and stays.
func (c *Conference) release(p *Participant) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if q, ok := c.ids[p.id]; ok && q == p {
		delete(c.ids, p.id)
	}
	for i, q := range c.list {
		if q == p {
			c.list = append(c.list[:i:i], c.list[i+1:]...)
			break
		}
	}
}

func deleteP(s []*Participant, p *Participant) []*Participant {
	for i, q := range s {
		if q == p {
			copy(s[i:], s[i+1:])
			s[len(s)-1] = nil
			return s[:len(s)-1]
		}
	}
	return s
}

func deleteG(s []*encodeGroup, g *encodeGroup) []*encodeGroup {
	for i, q := range s {
		if q == g {
			copy(s[i:], s[i+1:])
			s[len(s)-1] = nil
			return s[:len(s)-1]
		}
	}
	return s
}

// updateRate recomputes the automatic conference rate and, when it changes,
// rebuilds every participant's and group's codecs for it.
func (c *Conference) updateRate() {
	if c.cfg.SampleRate != 0 {
		return
	}
	r := c.rates.highest()
	if r > c.cfg.MaxSampleRate {
		r = c.cfg.MaxSampleRate
	}
	for i := len(validRates) - 1; i >= 0; i-- { // round down to a rate we mix at
		if validRates[i] <= r {
			r = validRates[i]
			break
		}
	}
	if r == c.rate {
		return
	}
	c.setRate(r)
	for _, p := range c.parts {
		if err := p.setup(r, c.cfg.Ptime); err != nil {
			inc(&p.dq.decodeErrors)
		}
	}
	for _, g := range c.groupList {
		g.setup(r, c.cfg.Ptime)
	}
}

// Participants returns the participants that have joined and not left.
func (c *Conference) Participants() []*Participant {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Participant(nil), c.list...)
}

// Participant returns the participant with the given ID, or nil.
func (c *Conference) Participant(id string) *Participant {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.list {
		if p.id == id {
			return p
		}
	}
	return nil
}

// ConferenceStats is a snapshot of a conference's state and tick timing.
type ConferenceStats struct {
	Name         string
	SampleRate   int
	Ptime        time.Duration
	Participants int
	Speakers     int
	Ticks        uint64
	// Timing of the work in each tick (not the wait between ticks).
	Timing TimingStats
	// Overruns counts ticks whose work exceeded OverloadShare of ptime
	// (plus ticks the Engine had to skip). Degraded is how many speakers
	// the overload controller has taken away (0: full service).
	Overruns      uint64
	Degraded      int
	EventsDropped uint64
	// Complexity: the Opus encoders' complexity by role, overload
	// control's step, and the encodes silent mixes saved.
	Complexity ComplexityStats
}

// Stats returns a snapshot. Safe from any goroutine.
func (c *Conference) Stats() ConferenceStats {
	return ConferenceStats{
		Name:          c.cfg.Name,
		SampleRate:    int(c.curRate.Load()),
		Ptime:         c.cfg.Ptime,
		Participants:  int(c.numParts.Load()),
		Speakers:      int(c.numSpk.Load()),
		Ticks:         c.ticks.Load(),
		Timing:        c.timing.stats(),
		Overruns:      c.overruns.Load(),
		Degraded:      int(c.degraded.Load()),
		EventsDropped: c.eventsDropped.Load(),
		Complexity:    c.complexityStats(),
	}
}

// applyPending runs the queued joins, leaves and regroupings.
func (c *Conference) applyPending(now time.Duration) {
	if c.hasPend.Load() {
		c.mu.Lock()
		ops := c.pending
		c.pending = nil
		c.hasPend.Store(false)
		c.mu.Unlock()
		for _, op := range ops {
			op(c, now)
		}
	}
	if c.regroup.Swap(false) {
		for _, p := range c.parts {
			c.assignGroup(p)
		}
	}
	c.publishParts()
}
