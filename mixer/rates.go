package mixer

// rateCount counts the natural rates (naturalRate) of the participants'
// inbound and outbound formats, for the automatic conference rate: each
// join, leave and format change moves two counts, and updateRate reads
// the highest rate counted, so a join costs the same in a room of 4,000
// as in a room of 3 (a rescan of every participant per join made filling
// a large room quadratic).
//
// Ownership: the tick goroutine alone.
type rateCount map[int]int

// count adds (d = 1) or removes (d = -1) cfg's two rates.
func (r rateCount) count(cfg *ParticipantConfig, d int) {
	r.move(naturalRate(cfg.In), d)
	r.move(naturalRate(cfg.Out), d)
}

func (r rateCount) move(rate, d int) {
	if n := r[rate] + d; n > 0 {
		r[rate] = n
	} else {
		delete(r, rate)
	}
}

// highest is the highest rate counted, at least 8 kHz.
func (r rateCount) highest() int {
	m := 8000
	for rate := range r { // as many keys as distinct rates: a handful
		m = max(m, rate)
	}
	return m
}
