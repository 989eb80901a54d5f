package mixer

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rtpmix/rtpmix/rtcpsession"
)

// arrivalSink records when each RTP packet arrived and its sequence
// number, and can be told to block on chosen calls; RTCP is counted apart.
type arrivalSink struct {
	mu    sync.Mutex
	at    []time.Duration
	seq   []uint16
	rtcp  int
	calls int
	// block, when set, is called (outside the lock) before the packet is
	// recorded, with the call's number from 1.
	block func(call int)
}

func (s *arrivalSink) WriteRTP(pkt []byte) error {
	s.mu.Lock()
	if rtcpsession.IsRTCP(pkt) {
		s.rtcp++
		s.mu.Unlock()
		return nil
	}
	s.calls++
	n := s.calls
	s.mu.Unlock()
	if s.block != nil {
		s.block(n)
	}
	s.mu.Lock()
	s.at = append(s.at, Monotonic())
	s.seq = append(s.seq, binary.BigEndian.Uint16(pkt[2:]))
	s.mu.Unlock()
	return nil
}

func (s *arrivalSink) snapshot() ([]time.Duration, []uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.at...), append([]uint16(nil), s.seq...)
}

// cadence summarises the intervals between consecutive arrivals: how many
// exceed limit, and the longest.
func cadence(at []time.Duration, limit time.Duration) (gaps int, longest time.Duration) {
	for i := 1; i < len(at); i++ {
		d := at[i] - at[i-1]
		if d > limit {
			gaps++
		}
		longest = max(longest, d)
	}
	return gaps, longest
}

// inOrder checks that sequence numbers only move forward (by 1, or more
// where packets were dropped), across the 16-bit wrap.
func inOrder(t *testing.T, name string, seq []uint16) {
	t.Helper()
	for i := 1; i < len(seq); i++ {
		if d := seq[i] - seq[i-1]; d == 0 || d >= 0x8000 {
			t.Fatalf("%s: packet %d has sequence number %d after %d", name, i, seq[i], seq[i-1])
		}
	}
}

// goroutinesBack waits for the number of goroutines to come back to base
// and fails with every goroutine's stack when it does not.
func goroutinesBack(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), base, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Scheduling noise. A gap is an interval between consecutive packets over
// two ptimes. On these shared 2-core machines (and under -race) the whole
// process is sometimes descheduled for tens of milliseconds, which gives
// every stream a gap at the same moment; so the test runs a control, a
// participant of a second Engine with nothing blocking, beside the others,
// and a stream may have as many gaps as the control plus one per stall the
// watchdog had to detect (the packets queued behind a stalled call go out
// up to two budgets late), and no interval longer than noiseLongest. A
// sink that blocked the worker made gaps as long as its block (a second
// here, or for ever) in every room of the worker.
const noiseLongest = 500 * time.Millisecond

// TestEngineSinkIsolation: on one worker, room A has a sink that blocks for
// a second now and then and a sink that blocks until the test ends; every
// other participant of room A and of room B keeps its 20 ms cadence, the
// slow and stuck participants get their packets in order with the overflow
// dropped and counted, the stalls and recovery are reported, and
// Engine.Close neither waits for the stuck call nor leaves a goroutine
// behind once it returns.
func TestEngineSinkIsolation(t *testing.T) {
	base := runtime.NumGoroutine()
	e := NewEngine(EngineConfig{Workers: 1})
	roomA, err := e.NewConference(ConferenceConfig{Name: "A"})
	require.NoError(t, err)
	roomB, err := e.NewConference(ConferenceConfig{Name: "B"})
	require.NoError(t, err)

	var events []Event
	eventsDone := make(chan struct{})
	go func() {
		defer close(eventsDone)
		for ev := range roomA.Events() {
			events = append(events, ev)
		}
	}()

	// slow blocks for a second on its 10th call (in the shared delivery),
	// and again on its 80th, which comes after it has recovered.
	slow := &arrivalSink{block: func(n int) {
		if n == 10 || n == 80 {
			time.Sleep(time.Second)
		}
	}}
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unblock()
	stuck := &arrivalSink{block: func(n int) {
		if n == 5 {
			<-release
		}
	}}
	steady := map[string]*arrivalSink{}
	join := func(c *Conference, id string, s Sink) *Participant {
		p, err := c.Join(ParticipantConfig{ID: id, In: pcmu, Out: pcmu, Sink: s})
		require.NoError(t, err)
		return p
	}
	parts := map[string]*Participant{}
	for _, id := range []string{"a1", "a2"} {
		steady[id] = &arrivalSink{}
		parts[id] = join(roomA, id, steady[id])
	}
	parts["slow"] = join(roomA, "slow", slow)
	parts["stuck"] = join(roomA, "stuck", stuck)
	for _, id := range []string{"a3", "b1", "b2"} {
		steady[id] = &arrivalSink{}
		c := roomA
		if id[0] == 'b' {
			c = roomB
		}
		parts[id] = join(c, id, steady[id])
	}

	control := NewEngine(EngineConfig{Workers: 1})
	controlRoom, err := control.NewConference(ConferenceConfig{Name: "control"})
	require.NoError(t, err)
	controlSink := &arrivalSink{}
	controlPart := join(controlRoom, "control", controlSink)

	const run = 3500 * time.Millisecond
	time.Sleep(run)
	require.NoError(t, control.Close())
	at, _ := controlSink.snapshot()
	noise, noiseMax := cadence(at, 40*time.Millisecond)
	noisePackets, noiseDrops := len(at), controlPart.Stats().SinkDropped
	t.Logf("control: %d packets, %d gaps over 40 ms, longest interval %v, %d dropped", len(at), noise, noiseMax, noiseDrops)
	for id, s := range steady {
		at, seq := s.snapshot()
		gaps, longest := cadence(at, 40*time.Millisecond)
		drops := parts[id].Stats().SinkDropped
		t.Logf("%s: %d packets, %d gaps over 40 ms, longest interval %v, %d dropped", id, len(at), gaps, longest, drops)
		// Waiting for the slow sink would cost 50 packets and make a gap of
		// a second; the stuck one, everything from its fifth packet on.
		assert.Greater(t, len(at), noisePackets-10, "%s: packets missing", id)
		assert.LessOrEqual(t, gaps, noise+3, "%s: cadence broken", id)
		assert.Less(t, longest, max(noiseLongest, noiseMax+100*time.Millisecond), "%s: waited for someone else's sink", id)
		assert.LessOrEqual(t, drops, noiseDrops+5, "%s: queue overflowed", id)
		inOrder(t, id, seq)
	}

	st := parts["slow"].Stats()
	_, seq := slow.snapshot()
	inOrder(t, "slow", seq)
	// Two stalls, or more: on a loaded machine a descheduled delivery
	// goroutine can make a healthy call look stalled too (harmless: the
	// participant is served from its own goroutine meanwhile).
	slowStalls := st.SinkStalls
	assert.GreaterOrEqual(t, slowStalls, uint64(2), "slow stalls")
	assert.Positive(t, st.SinkDropped, "slow's queue overflowed while it blocked")
	assert.EqualValues(t, len(seq), st.PacketsOut)

	st = parts["stuck"].Stats()
	_, seq = stuck.snapshot()
	assert.Len(t, seq, 4, "stuck delivered before it blocked")
	assert.EqualValues(t, 1, st.SinkStalls)
	// Its queue (8) filled behind the blocked call; everything since is dropped.
	assert.Greater(t, st.SinkDropped, uint64(run/(20*time.Millisecond))*7/10)

	start := time.Now()
	require.NoError(t, e.Close())
	assert.Less(t, time.Since(start), time.Second, "Close waited for the stuck sink")
	// Close delivered what the last ticks built, and nothing comes after.
	calls := map[string]int{}
	for id, s := range steady {
		assert.Zero(t, parts[id].out.dl.ring.pending(), id)
		at, _ := s.snapshot()
		calls[id] = len(at)
	}
	time.Sleep(50 * time.Millisecond)
	for id, s := range steady {
		at, _ := s.snapshot()
		assert.Equal(t, calls[id], len(at), "%s: sink called after Engine.Close", id)
	}
	<-eventsDone
	kinds := map[string][]EventType{}
	for _, ev := range events {
		if ev.Type == SinkStalled || ev.Type == SinkRecovered {
			kinds[ev.Participant] = append(kinds[ev.Participant], ev.Type)
		}
	}
	assert.Equal(t, []EventType{SinkStalled}, kinds["stuck"])
	// Stalled and recovered alternate, starting stalled and ending stalled
	// (the second block came after it recovered, and Close came during it).
	slowKinds := kinds["slow"]
	require.NotEmpty(t, slowKinds)
	for i, k := range slowKinds {
		assert.Equal(t, []EventType{SinkStalled, SinkRecovered}[i%2], k, "slow's event %d", i)
	}
	assert.Len(t, slowKinds, int(2*slowStalls-1))

	unblock()
	require.Eventually(t, func() bool { _, seq := stuck.snapshot(); return len(seq) == 5 }, 5*time.Second, time.Millisecond)
	goroutinesBack(t, base)
	_, seq = stuck.snapshot()
	assert.Len(t, seq, 5, "the stuck call returned; nothing was called after it")
}

// TestDeliveryWatchdog drives a deliverer by hand: a stalled call is
// detected, the participant detached, a fresh shift serves the others, the
// stalled goroutine serves its participant in order once its call returns,
// and after recoverAfter good calls it is handed back.
func TestDeliveryWatchdog(t *testing.T) {
	c, err := NewConference(ConferenceConfig{Name: "w"})
	require.NoError(t, err)
	e := &Engine{cfg: EngineConfig{SinkBudget: 2 * time.Millisecond, SinkQueue: 8}}
	c.managed, c.dl.engine, c.dl.depth = true, e, e.cfg.SinkQueue
	d := newDeliverer(e.cfg.SinkBudget)

	gate := make(chan struct{})
	var blocked atomic.Bool
	stalled := &arrivalSink{block: func(n int) {
		if n == 2 {
			blocked.Store(true)
			<-gate
		}
	}}
	other := &arrivalSink{}
	ps, err := c.Join(ParticipantConfig{ID: "stalled", In: pcmu, Out: pcmu, Sink: stalled})
	require.NoError(t, err)
	po, err := c.Join(ParticipantConfig{ID: "other", In: pcmu, Out: pcmu, Sink: other})
	require.NoError(t, err)

	now := time.Duration(0)
	tick := func() { // as the worker does
		c.Tick(now)
		now += 20 * time.Millisecond
		d.enqueue(c)
		d.flush()
	}
	first := d.cur.Load()
	tick()
	require.True(t, d.drain(first))
	tick()
	go d.drain(first) // blocks in stalled's second call
	require.Eventually(t, blocked.Load, 5*time.Second, time.Millisecond)
	for d.cur.Load() == first {
		time.Sleep(time.Millisecond)
		d.watch()
	}
	assert.Equal(t, deliverOwn, ps.out.dl.mode.Load())
	// The fresh shift (started by watch) delivered other's packet of the
	// stalled tick, and delivers the next ones while stalled still blocks.
	tick() // flush wakes the fresh shift
	require.Eventually(t, func() bool { at, _ := other.snapshot(); return len(at) == 3 }, 5*time.Second, time.Millisecond)
	// Virtual time runs faster than the shift is scheduled: let it take
	// other's packet before the next tick, as real time would.
	settle := func() {
		require.Eventually(t, func() bool { return po.out.dl.ring.pending() == 0 }, 5*time.Second, 100*time.Microsecond)
	}
	for range 10 {
		tick()
		settle()
	}
	assert.EqualValues(t, 8, ps.out.dl.ring.pending(), "queue full behind the stalled call")
	assert.Positive(t, ps.Stats().SinkDropped)

	close(gate)
	// Good calls from now on: the stalled goroutine drains the queue, then
	// follows the ticks (the shift pokes it) until it is handed back.
	require.Eventually(t, func() bool {
		tick()
		settle()
		time.Sleep(time.Millisecond)
		return ps.out.dl.mode.Load() == deliverShared
	}, 10*time.Second, time.Millisecond)
	_, seq := stalled.snapshot()
	inOrder(t, "stalled", seq)
	assert.GreaterOrEqual(t, len(seq), recoverAfter)
	_, seq = other.snapshot()
	inOrder(t, "other", seq)
	assert.EqualValues(t, 1, ps.Stats().SinkStalls)
	assert.Zero(t, po.Stats().SinkDropped)

	// The tick reports both changes.
	c.Tick(now)
	var got []string
	for len(c.Events()) > 0 {
		if ev := <-c.Events(); ev.Type >= SinkStalled {
			got = append(got, fmt.Sprint(ev.Participant, " ", ev.Type))
		}
	}
	assert.Equal(t, []string{"stalled sink-stalled", "stalled sink-recovered"}, got)
	close(d.quit)
	<-d.exited
}

// TestDeliveryAllocs: in an Engine's conference, building a packet into the
// participant's queue and handing it to the sink from the deliverer
// allocate nothing.
func TestDeliveryAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool (inside pion/srtp) drops items at random under -race; make test runs this without it")
	}
	c, err := NewConference(ConferenceConfig{Name: "allocs"})
	require.NoError(t, err)
	e := &Engine{cfg: EngineConfig{SinkBudget: time.Second, SinkQueue: 4}}
	c.managed, c.dl.engine, c.dl.depth = true, e, e.cfg.SinkQueue
	d := newDeliverer(e.cfg.SinkBudget)
	var clients []*client
	for i := range 6 {
		cl := newClient(t, c, clientSpec{id: fmt.Sprint("c", i), format: pcmu, pt: 0, srtp: true,
			src: tone(300+float64(i)*150, 30, 0.2)})
		cl.keep = false
		clients = append(clients, cl)
	}
	s := d.cur.Load()
	now := time.Duration(0)
	step := func() {
		for _, cl := range clients {
			_ = cl.p.WriteRTPAt(now, cl.packet())
		}
		c.Tick(now)
		now += 20 * time.Millisecond
		d.enqueue(c)
		d.drain(s)
	}
	for range 50 {
		step()
	}
	allocs := testing.AllocsPerRun(100, step)
	assert.Zero(t, allocs)
	for _, cl := range clients {
		st := cl.p.Stats()
		assert.EqualValues(t, 151, st.PacketsOut, cl.spec.id)
		assert.Zero(t, st.SinkDropped, cl.spec.id)
		assert.Zero(t, cl.recvErr, cl.spec.id)
	}
}

// TestSinkConcurrencyContract: in an Engine a participant's sink is never
// called by two goroutines at once, even across detaching and recovery.
func TestSinkConcurrencyContract(t *testing.T) {
	e := NewEngine(EngineConfig{Workers: 2, SinkBudget: time.Millisecond})
	defer e.Close()
	var overlaps atomic.Int32
	var sinks []*overlapSink
	for r := range 3 {
		c, err := e.NewConference(ConferenceConfig{Name: fmt.Sprint("r", r), Ptime: 10 * time.Millisecond})
		require.NoError(t, err)
		for i := range 4 {
			s := &overlapSink{overlaps: &overlaps, jitter: i == 0}
			sinks = append(sinks, s)
			_, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu, Sink: s})
			require.NoError(t, err)
		}
	}
	time.Sleep(time.Second)
	require.NoError(t, e.Close())
	assert.Zero(t, overlaps.Load())
	for _, s := range sinks {
		s.mu.Lock() // a call over budget may still be running
		inOrder(t, "sink", s.seq)
		s.mu.Unlock()
	}
}

type overlapSink struct {
	in       atomic.Int32
	overlaps *atomic.Int32
	jitter   bool // sometimes overruns the budget
	mu       sync.Mutex
	seq      []uint16
}

func (s *overlapSink) WriteRTP(pkt []byte) error {
	if s.in.Add(1) != 1 {
		s.overlaps.Add(1)
	}
	s.mu.Lock()
	n := len(s.seq)
	if !rtcpsession.IsRTCP(pkt) {
		s.seq = append(s.seq, binary.BigEndian.Uint16(pkt[2:]))
		n = len(s.seq)
	}
	s.mu.Unlock()
	if s.jitter && n%7 == 0 {
		time.Sleep(3 * time.Millisecond)
	}
	s.in.Add(-1)
	return nil
}

// TestUpdateSinkQueued: Update may change a participant's Sink while its
// earlier packets wait in its queue (an Engine's deliverer lagging): those
// go to the old sink, the ones built after the Update to the new, in order;
// a participant that joined without a Sink gets one the same way.
func TestUpdateSinkQueued(t *testing.T) {
	c, err := NewConference(ConferenceConfig{Name: "u"})
	require.NoError(t, err)
	e := &Engine{cfg: EngineConfig{SinkBudget: time.Second, SinkQueue: 8}}
	c.managed, c.dl.engine, c.dl.depth = true, e, e.cfg.SinkQueue
	d := newDeliverer(e.cfg.SinkBudget)
	s := d.cur.Load()
	a, b := &arrivalSink{}, &arrivalSink{}
	p, err := c.Join(ParticipantConfig{ID: "p", In: pcmu, Out: pcmu})
	require.NoError(t, err)
	now := time.Duration(0)
	tick := func() {
		c.Tick(now)
		now += 20 * time.Millisecond
		d.enqueue(c)
	}
	tick() // no Sink: built and counted
	require.True(t, d.drain(s))
	require.NoError(t, p.Update(func(pc *ParticipantConfig) { pc.Sink = a }))
	tick()
	tick()
	require.NoError(t, p.Update(func(pc *ParticipantConfig) { pc.Sink = b }))
	tick()
	tick()
	require.True(t, d.drain(s))
	_, seqA := a.snapshot()
	_, seqB := b.snapshot()
	require.Len(t, seqA, 2)
	require.Len(t, seqB, 2)
	inOrder(t, "a then b", append(seqA, seqB...))
	assert.EqualValues(t, 5, p.Stats().PacketsOut)
}

// TestEngineDeliversToLateJoiner: a room that ticked empty for a while
// delivers to whoever joins it later (an empty room, queued for delivery,
// must still wake the delivery goroutine), and so does a small room beside
// a large one on the same worker.
func TestEngineDeliversToLateJoiner(t *testing.T) {
	e := NewEngine(EngineConfig{Workers: 1})
	defer e.Close()
	c, err := e.NewConference(ConferenceConfig{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return c.Stats().Ticks > 3 }, 5*time.Second, time.Millisecond)
	s := &arrivalSink{}
	_, err = c.Join(ParticipantConfig{In: pcmu, Out: pcmu, Sink: s})
	require.NoError(t, err)
	require.Eventually(t, func() bool { at, _ := s.snapshot(); return len(at) >= 5 }, 5*time.Second, time.Millisecond)
	big, err := e.NewConference(ConferenceConfig{})
	require.NoError(t, err)
	for range 100 {
		_, err := big.Join(ParticipantConfig{In: pcmu, Out: pcmu, Sink: SinkFunc(func([]byte) error { return nil })})
		require.NoError(t, err)
	}
	at, _ := s.snapshot()
	n := len(at)
	require.Eventually(t, func() bool { at, _ := s.snapshot(); return len(at) >= n+10 }, 5*time.Second, time.Millisecond)
}

// byeSink records, in order, whether each packet was RTP, RTCP or an RTCP
// compound with a BYE, and can be held on its next call.
type byeSink struct {
	mu    sync.Mutex
	kinds []string
	hold  chan struct{} // when set, the next call waits for it to close
}

func (s *byeSink) WriteRTP(pkt []byte) error {
	s.mu.Lock()
	h := s.hold
	s.hold = nil
	s.mu.Unlock()
	if h != nil {
		<-h
	}
	kind := "rtp"
	if rtcpsession.IsRTCP(pkt) {
		kind = "rtcp"
		for b := pkt; len(b) >= 4; {
			if b[1] == 203 {
				kind = "bye"
			}
			n := 4 * (int(binary.BigEndian.Uint16(b[2:])) + 1)
			if n > len(b) {
				break
			}
			b = b[n:]
		}
	}
	s.mu.Lock()
	s.kinds = append(s.kinds, kind)
	s.mu.Unlock()
	return nil
}

func (s *byeSink) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.kinds) == 0 {
		return ""
	}
	return s.kinds[len(s.kinds)-1]
}

// TestEngineLeaveDone: in an Engine, a participant's BYE goes to its sink
// through its queue, after its RTP, and Done closes only then — also when
// its sink was stalled as it left, once the call returns.
func TestEngineLeaveDone(t *testing.T) {
	e := NewEngine(EngineConfig{Workers: 1, SinkBudget: 2 * time.Millisecond})
	defer e.Close()
	c, err := e.NewConference(ConferenceConfig{})
	require.NoError(t, err)

	t.Run("healthy", func(t *testing.T) {
		s := &byeSink{}
		p, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu, Sink: s})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return p.Stats().PacketsOut > 3 }, 5*time.Second, time.Millisecond)
		p.Leave()
		select {
		case <-p.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("Done not closed")
		}
		assert.Equal(t, "bye", s.last(), "the BYE came last, before Done")
		assert.EqualValues(t, 1, p.Stats().RTCP.PacketsOut)
	})
	t.Run("stalled", func(t *testing.T) {
		s := &byeSink{}
		p, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu, Sink: s})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return p.Stats().PacketsOut > 3 }, 5*time.Second, time.Millisecond)
		hold := make(chan struct{})
		s.mu.Lock()
		s.hold = hold
		s.mu.Unlock()
		require.Eventually(t, func() bool { return p.Stats().SinkStalls == 1 }, 5*time.Second, time.Millisecond)
		p.Leave()
		select {
		case <-p.Done():
			t.Fatal("Done closed while a call is in progress")
		case <-time.After(100 * time.Millisecond):
		}
		close(hold)
		select {
		case <-p.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("Done not closed once the call returned")
		}
		assert.Equal(t, "bye", s.last(), "the BYE came last, before Done")
	})
}

// TestEngineCloseDeliversDetached: a participant whose sink stalled once
// and is still on its own goroutine (not yet recovered) when Engine.Close
// comes is sent what it has queued, its BYE last, before Close returns,
// and its Done is closed by then.
func TestEngineCloseDeliversDetached(t *testing.T) {
	for range 5 {
		e := NewEngine(EngineConfig{Workers: 1, SinkBudget: 2 * time.Millisecond})
		c, err := e.NewConference(ConferenceConfig{})
		require.NoError(t, err)
		s := &byeSink{}
		p, err := c.Join(ParticipantConfig{In: pcmu, Out: pcmu, Sink: s})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return p.Stats().PacketsOut > 3 }, 5*time.Second, time.Millisecond)
		hold := make(chan struct{})
		s.mu.Lock()
		s.hold = hold
		s.mu.Unlock()
		require.Eventually(t, func() bool { return p.Stats().SinkStalls == 1 }, 5*time.Second, time.Millisecond)
		close(hold) // fast again, but detached for recoverAfter calls (a second)
		require.Eventually(t, func() bool { return p.out.dl.ring.pending() == 0 }, 5*time.Second, time.Millisecond)
		require.Equal(t, deliverOwn, p.out.dl.mode.Load())
		require.NoError(t, e.Close())
		select {
		case <-p.Done():
		default:
			t.Fatal("Done not closed when Engine.Close returned")
		}
		assert.Equal(t, "bye", s.last(), "the BYE went out before Close returned")
	}
}
