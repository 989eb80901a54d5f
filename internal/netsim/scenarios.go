package netsim

import (
	"time"

	"github.com/rtpmix/rtpmix/jitter"
)

// Talkspurts as in a two-party call: about 1.5 s of speech, 1 s of pause.
var conversation = Talk{MeanTalk: 1500 * time.Millisecond, MeanSilence: time.Second}

// mild is the everyday jitter of a good path.
var mild = Jitter{Kind: JitterNormal, Sigma: 5 * time.Millisecond}

// Standard returns the scenarios of issue 3: 60 s of 20 ms packets at
// 48 kHz with talkspurts and RFC 6464 levels, each with one impairment
// (and, but for "clean", 5 ms of everyday normal jitter).
func Standard() []Scenario {
	return []Scenario{
		{Name: "clean", Seed: 1, Talk: conversation},
		{Name: "jitter 30ms normal", Seed: 2, Talk: conversation,
			Jitter: Jitter{Kind: JitterNormal, Sigma: 30 * time.Millisecond}},
		{Name: "5% bursty loss", Seed: 3, Talk: conversation, Jitter: mild, Bursty: BurstyLoss(0.05, 3)},
		{Name: "+1% drift", Seed: 4, Talk: conversation, Jitter: mild, Drift: +0.01},
		{Name: "-1% drift", Seed: 5, Talk: conversation, Jitter: mild, Drift: -0.01},
		{Name: "300ms spike", Seed: 6, Talk: conversation, Jitter: mild,
			Spikes: []Spike{{At: 20 * time.Second, Height: 300 * time.Millisecond}}},
	}
}

// Extra returns further scenarios: heavy-tailed jitter, DTX, reordering
// and duplication, and drift from a sender without audio levels (where the
// buffer cannot find silence and must drop audible frames).
func Extra() []Scenario {
	return []Scenario{
		{Name: "pareto jitter", Seed: 7, Talk: conversation,
			Jitter: Jitter{Kind: JitterPareto, Scale: 10 * time.Millisecond, Shape: 2}},
		{Name: "DTX + 20ms jitter", Seed: 8,
			Talk:   Talk{MeanTalk: 1500 * time.Millisecond, MeanSilence: time.Second, DTX: true},
			Jitter: Jitter{Kind: JitterNormal, Sigma: 20 * time.Millisecond}},
		{Name: "reorder 5% + dup 5%", Seed: 9, Talk: conversation, Jitter: mild, Reorder: 0.05, Duplicate: 0.05},
		{Name: "+1% drift, no levels", Seed: 10, Jitter: mild, Drift: +0.01, NoLevels: true},
		{Name: "-1% drift, no levels", Seed: 11, Jitter: mild, Drift: -0.01, NoLevels: true},
		{Name: "60ms ptime, 30ms jitter", Seed: 12, Talk: conversation, Ptime: 60 * time.Millisecond,
			Jitter: Jitter{Kind: JitterNormal, Sigma: 30 * time.Millisecond}},
	}
}

// Playout returns the scenarios of issue 12, the kinds of trace a
// production call brings, all without RFC 6464 levels (as most senders
// send): a sender that restarts; sender clocks 1% fast and slow; Opus DTX
// talkspurts (1-byte DTX packets every 400 ms in silence) over 20 ms of
// normal jitter; a text-to-speech source that sends 5 s of audio in a
// 200 ms burst every 5 s; a Wi-Fi-like path (Pareto jitter, 2% bursty
// loss, delay spikes) carrying DTX talkspurts; an LTE-like path (30 ms
// normal jitter, Gilbert–Elliott loss) carrying continuous speech.
func Playout() []Scenario {
	dtx := Talk{MeanTalk: 1500 * time.Millisecond, MeanSilence: time.Second, DTX: true, DTXPayload: 1}
	return []Scenario{
		{Name: "sender restart", Seed: 31, NoLevels: true, Jitter: mild,
			Restarts: []time.Duration{20 * time.Second, 40 * time.Second}},
		{Name: "sender clock +1%, no levels", Seed: 32, NoLevels: true, Jitter: mild, Drift: +0.01},
		{Name: "sender clock -1%, no levels", Seed: 33, NoLevels: true, Jitter: mild, Drift: -0.01},
		{Name: "DTX talkspurts", Seed: 34, NoLevels: true, Talk: dtx,
			Jitter: Jitter{Kind: JitterNormal, Sigma: 20 * time.Millisecond}},
		{Name: "TTS bursts", Seed: 35, NoLevels: true, Jitter: mild,
			Burst:  &Burst{Every: 5 * time.Second, Span: 200 * time.Millisecond},
			Buffer: jitter.Config{MaxDelay: 6 * time.Second}},
		{Name: "Wi-Fi", Seed: 36, NoLevels: true, Talk: dtx,
			Jitter: Jitter{Kind: JitterPareto, Scale: 8 * time.Millisecond, Shape: 1.8},
			Bursty: BurstyLoss(0.02, 2.5),
			Spikes: []Spike{{At: 12 * time.Second, Height: 180 * time.Millisecond},
				{At: 31 * time.Second, Height: 350 * time.Millisecond},
				{At: 47 * time.Second, Height: 120 * time.Millisecond}}},
		{Name: "LTE", Seed: 37, NoLevels: true,
			Jitter: Jitter{Kind: JitterNormal, Sigma: 30 * time.Millisecond},
			Bursty: &GilbertElliott{P: 0.01, R: 0.3, LossGood: 0.002, LossBad: 0.4}},
		{Name: "talkspurts, no DTX", Seed: 38, NoLevels: true,
			Talk:   Talk{MeanTalk: 1500 * time.Millisecond, MeanSilence: time.Second, Cut: true},
			Jitter: Jitter{Kind: JitterNormal, Sigma: 20 * time.Millisecond}},
	}
}
