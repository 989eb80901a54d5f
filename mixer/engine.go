package mixer

import (
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// EngineConfig configures an Engine. The zero value is valid.
//
// Each worker goroutine ticks its conferences and has a delivery goroutine
// beside it that hands the packets those ticks built to their Sinks: the
// tick never calls a sink, so sends run in parallel with ticking and no
// sink can delay a tick. The worker watches its delivery goroutine; a Sink
// call that overruns SinkBudget is left to its participant alone, and a
// fresh delivery goroutine serves everyone else (Sink says what the
// participant sees).
type EngineConfig struct {
	// Workers is the number of goroutines ticking conferences, each with a
	// delivery goroutine. Default GOMAXPROCS. A conference always ticks on
	// the same worker.
	Workers int
	// Clock is the monotonic clock ticks follow. Default Monotonic.
	Clock func() time.Duration
	// MaxLag is how far a conference may fall behind its schedule before
	// the Engine skips ticks instead of catching up, so that latency never
	// piles up after a stall. Default 100 ms.
	MaxLag time.Duration
	// Logger and LogInterval are the defaults of the conferences the
	// Engine creates (ConferenceConfig.Logger, LogInterval); the Engine
	// logs its own start and close to Logger too. Nil logs nothing.
	Logger      *slog.Logger
	LogInterval time.Duration
	// SinkBudget is how long one Sink.WriteRTP call may take before it is
	// declared stalled and its participant is detached from the shared
	// delivery goroutine (SinkStalled). A stall is noticed between one and
	// two budgets after the call began, later if the worker is busy
	// ticking, so with a budget well under the ptime nobody else's packets
	// are late by a whole ptime. A healthy sink descheduled on a loaded
	// machine may be declared stalled too: it then goes on from a
	// goroutine of its own, loses nothing unless its queue overflows, and
	// comes back once within budget. Default 5 ms.
	SinkBudget time.Duration
	// SinkQueue is how many packets each participant's queue to its sink
	// holds (rounded up to a power of two): what a sink may fall behind by
	// before packets are dropped. Memory is about 1.6 KB a packet. Default
	// 8: 160 ms of 20 ms packets, more than the ticks a worker runs back to
	// back to catch up after a stall shorter than MaxLag; at most 1024.
	SinkQueue int
	// SplitAt is the room size from which a conference's per-participant
	// work (reading each jitter buffer, and building, protecting and
	// queueing each listener's packet) is split into shards of 256
	// participants that the Engine's other workers take while they have
	// nothing due; speaker selection, mixing and encoding stay on the
	// conference's worker. Splitting changes no packet: each participant's
	// stream is built by one goroutine at a time, in tick order.
	//
	// Off by default (0 or negative): on the 2-core development VM, with
	// other work on it, two workers ticked a 4,000-party Opus room 1.1–1.2×
	// as fast as one (load average 2.5; 0.8–1.3× at 7–17) for 0.9–1.1×
	// the CPU time per tick (the capacity tool's split room,
	// BenchmarkSplitTick): cheap now, but not yet shown to pay. Measure on your machine before turning it on
	// (go run ./bench/cmd/capacity -codec '' -small '' -split 4000);
	// SuggestedSplitAt is where it can pay.
	SplitAt int
}

// Engine runs many conferences on a pool of worker goroutines, ticking each
// every ptime on deadlines computed from its start (start + k·ptime), so
// ticks do not drift however long each one takes.
//
// Concurrency: every method is safe from any goroutine; Sink says which
// goroutines call sinks.
type Engine struct {
	cfg     EngineConfig
	workers []*worker
	mu      sync.Mutex
	where   map[*Conference]*worker
	closed  bool
	wg      sync.WaitGroup
	helped  atomic.Uint64 // shards of other workers' rooms taken (shard.go)
	noHelp  atomic.Bool   // benchmarks: owners run all their shards
}

type worker struct {
	e     *Engine
	d     *deliverer
	list  atomic.Pointer[[]*scheduled] // copy on write: the loop reads it without locks
	mu    sync.Mutex                   // serialises writers of list
	wake  chan struct{}
	quit  chan struct{}
	count atomic.Int32
	job   splitJob // the board of the room this worker is ticking (shard.go)
}

type scheduled struct {
	c       *Conference
	next    time.Duration
	removed atomic.Bool
}

// NewEngine starts the workers.
func NewEngine(cfg EngineConfig) *Engine {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Clock == nil {
		cfg.Clock = Monotonic
	}
	if cfg.MaxLag <= 0 {
		cfg.MaxLag = 100 * time.Millisecond
	}
	if cfg.SinkBudget <= 0 {
		cfg.SinkBudget = 5 * time.Millisecond
	}
	if cfg.SinkQueue <= 0 {
		cfg.SinkQueue = 8
	}
	cfg.SinkQueue = min(cfg.SinkQueue, 1024)
	if cfg.SplitAt == 0 {
		cfg.SplitAt = -1
	}
	e := &Engine{cfg: cfg, where: make(map[*Conference]*worker)}
	for range cfg.Workers {
		w := &worker{e: e, d: newDeliverer(cfg.SinkBudget), wake: make(chan struct{}, 1), quit: make(chan struct{})}
		w.job.owner, w.job.wake = w, make(chan struct{}, 1)
		empty := []*scheduled{}
		w.list.Store(&empty)
		e.workers = append(e.workers, w)
	}
	// Started once all exist: a worker helps the others (shard.go), so it
	// reads the whole list.
	for _, w := range e.workers {
		e.wg.Add(1)
		go w.run()
		w.d.start()
	}
	if l := cfg.Logger; l != nil {
		l.Info("mixer engine started", "workers", cfg.Workers)
	}
	return e
}

// NewConference creates a conference and starts ticking it on the least
// loaded worker. Its Clock is the Engine's.
func (e *Engine) NewConference(cfg ConferenceConfig) (*Conference, error) {
	cfg.Clock = e.cfg.Clock
	if cfg.Logger == nil {
		cfg.Logger = e.cfg.Logger
	}
	if cfg.LogInterval == 0 {
		cfg.LogInterval = e.cfg.LogInterval
	}
	c, err := NewConference(cfg)
	if err != nil {
		return nil, err
	}
	c.managed = true
	c.dl.engine, c.dl.depth = e, e.cfg.SinkQueue
	c.sh.at, c.sh.size = e.cfg.SplitAt, splitShard
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	w := e.workers[0]
	for _, x := range e.workers[1:] {
		if x.count.Load() < w.count.Load() {
			w = x
		}
	}
	c.dl.d = w.d // before anyone can Join, and so leave
	now := e.cfg.Clock()
	p := c.cfg.Ptime
	s := &scheduled{c: c, next: (now/p + 1) * p}
	w.mu.Lock()
	old := *w.list.Load()
	list := append(old[:len(old):len(old)], s)
	w.list.Store(&list)
	w.mu.Unlock()
	w.count.Add(1)
	e.where[c] = w
	w.poke()
	return c, nil
}

// Remove closes c, if the Engine runs it.
//
// Deprecated: use c.Close, which stops a conference wherever it runs.
func (e *Engine) Remove(c *Conference) {
	e.mu.Lock()
	w := e.where[c]
	e.mu.Unlock()
	if w != nil {
		_ = c.Close()
	}
}

// forget takes a closed conference off its worker: the worker drops it
// from its list at its next pass and never ticks it again.
func (e *Engine) forget(c *Conference) {
	e.mu.Lock()
	w := e.where[c]
	delete(e.where, c)
	e.mu.Unlock()
	if w == nil {
		return
	}
	for _, s := range *w.list.Load() {
		if s.c == c {
			s.removed.Store(true)
		}
	}
	w.poke()
}

// drop runs on the worker: a closed conference leaves the list.
func (w *worker) drop(s *scheduled) {
	w.mu.Lock()
	old := *w.list.Load()
	list := make([]*scheduled, 0, len(old))
	for _, x := range old {
		if x != s {
			list = append(list, x)
		}
	}
	w.list.Store(&list)
	w.mu.Unlock()
	w.count.Add(-1)
}

// Conferences returns the conferences the Engine runs.
func (e *Engine) Conferences() []*Conference {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Conference, 0, len(e.where))
	for c := range e.where {
		out = append(out, c)
	}
	return out
}

// Close stops the workers, closes every conference the Engine runs (as
// Conference.Close does: everyone leaves, Events are closed after the Left
// events), and returns once the packets already built have been handed to
// their sinks and every Sink call has returned — except calls that have
// lasted longer than SinkBudget, which are left to return in their own
// time; their goroutines then exit without calling any sink again. So once
// Close returns, sockets the sinks write to may be closed. NewConference
// fails afterwards with ErrClosed, and so does a second Close.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	e.closed = true
	confs := make([]*Conference, 0, len(e.where))
	for c := range e.where {
		confs = append(confs, c)
	}
	e.mu.Unlock()
	for _, w := range e.workers {
		close(w.quit)
	}
	e.wg.Wait()
	// The workers are gone, so this goroutine runs the final passes; they
	// queue everyone's BYE and hand the leavers to the deliverers.
	for _, c := range confs {
		_ = c.Close() // ErrClosed: closed meanwhile by its owner
	}
	// The deliverers send what is queued and finish the leavers; the
	// detached participants' goroutines do the same as soon as their calls
	// return, unless stalled.
	for _, w := range e.workers {
		w.d.stop()
	}
	for _, w := range e.workers {
		w.d.waitOwners()
	}
	if l := e.cfg.Logger; l != nil {
		l.Info("mixer engine closed", "conferences", len(confs))
	}
	return nil
}

func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) run() {
	defer w.e.wg.Done()
	clock, maxLag := w.e.cfg.Clock, w.e.cfg.MaxLag
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		earliest := time.Duration(-1)
		for _, s := range *w.list.Load() {
			if s.removed.Load() {
				w.drop(s)
				continue
			}
			p := s.c.cfg.Ptime
			now := clock()
			if now >= s.next {
				if lag := now - s.next; lag > maxLag {
					// Stalled (suspended VM, GC storm, overload): skip
					// rather than burst, so audio is not queued up.
					skip := lag / p
					s.next += skip * p
					s.c.overruns.Add(uint64(skip))
				}
				// The tick is for its slot on the schedule, not for when
				// the worker got to it: each tick plays one ptime of
				// audio, so the jitter buffers must see ticks ptime
				// apart. Handed the wall clock, a worker catching up
				// after a stall (ticks back to back) would tell them that
				// a ptime of audio played in a few µs, and they would
				// keep that audio's worth of delay on their books for
				// good, then shorten and conceal over and over to undo
				// it. Packets that arrived since the slot are here all
				// the same.
				s.c.tickOn(s.next, w.splitJob())
				w.d.enqueue(s.c)
				s.next += p
			}
			if earliest < 0 || s.next < earliest {
				earliest = s.next
			}
		}
		w.help(earliest)
		wait := time.Hour
		if earliest >= 0 {
			wait = earliest - clock()
		}
		w.d.flush()
		if check := w.d.watch(); check >= 0 && check < wait {
			wait = check
		}
		if wait <= 0 {
			select {
			case <-w.quit:
				return
			default:
				continue
			}
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-w.wake:
			if !timer.Stop() {
				<-timer.C
			}
		case <-w.quit:
			return
		}
	}
}

// checkOverload runs after each tick of a conference the Engine drives:
// three ticks in a row over budget take one complexity step off the Opus
// encoders while that lowers any (complexity.go), then one speaker away
// (down to one); five seconds comfortably under budget give back one
// speaker, then once every speaker is back, one complexity step.
// Hand-driven ticks (tests, benchmarks) skip it so that they stay
// deterministic.
func (c *Conference) checkOverload(work time.Duration, now time.Duration) {
	budget := time.Duration(float64(c.cfg.Ptime) * c.cfg.OverloadShare)
	if work > budget {
		c.overruns.Add(1)
		c.overTicks++
		c.okTicks = 0
		if c.overTicks >= 3 {
			switch {
			case c.canStepDown():
				c.setComplexityStep(c.silence.cx.step + 1)
				c.overTicks = 0
				c.emit(Event{Type: Overloaded, At: now,
					Detail: fmt.Sprintf("tick took %v of a %v budget: %s", work, budget, c.complexityDetail())})
			case c.degrade < c.cfg.MaxSpeakers-1:
				c.degrade++
				c.overTicks = 0
				c.emit(Event{Type: Overloaded, At: now,
					Detail: fmt.Sprintf("tick took %v of a %v budget: max speakers now %d", work, budget, c.cfg.MaxSpeakers-c.degrade)})
			}
		}
	} else {
		c.overTicks = 0
		if (c.degrade > 0 || c.silence.cx.step > 0) && work < budget/2 {
			c.okTicks++
			if time.Duration(c.okTicks)*c.cfg.Ptime >= 5*time.Second {
				if c.degrade > 0 {
					c.degrade--
				} else {
					c.setComplexityStep(c.silence.cx.step - 1)
				}
				c.okTicks = 0
				if c.degrade == 0 && c.silence.cx.step == 0 {
					c.emit(Event{Type: Recovered, At: now, Detail: "full service"})
				}
			}
		}
	}
	c.degraded.Store(int32(c.degrade))
}
