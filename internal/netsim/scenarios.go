package netsim

import "time"

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
