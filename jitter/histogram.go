package jitter

import "math"

// histogram is a quantile tracker over fixed-width buckets with exponential
// forgetting. Instead of multiplying every bucket by the forget factor on
// each sample (O(buckets)), each new sample is added with a weight 1/f
// larger than the one before; the ratio of old to new is the same. Weights
// are renormalised when they grow large. The quantile bucket is tracked
// incrementally, so an update is O(1) amortised.
type histogram struct {
	b      []float64
	total  float64 // sum of b
	below  float64 // sum of b[:qi]
	qi     int     // bucket holding the quantile
	w      float64 // weight of the next sample
	q      float64 // quantile tracked now
	qFinal float64 // quantile configured
	rampN  float64 // samples over which q relaxes to qFinal
	invF   float64 // 1/forget factor once warm
	// invFMax bounds the growth of the weight over a batch, invF^batchMax
	invFMax float64
	forget  float64
	n       int
	warm    bool
	// steady: warm, and the quantile has relaxed to qFinal, so add takes
	// its short path.
	steady bool
}

// startForgetWeight makes early samples forget faster (NetEq's
// start_forget_weight): sample n forgets with factor 1−2/(n+1) until that
// exceeds the steady factor, so the first packets are weighted about
// equally and the estimate is useful after a few dozen.
const startForgetWeight = 2

// rescaleAt keeps weights far from float64 overflow; the period is
// thousands of packets, so the O(buckets) rescale costs nothing on average.
const rescaleAt = 1e60

func (h *histogram) init(buckets int, q, forget float64) {
	if cap(h.b) >= buckets {
		h.b = h.b[:buckets]
	} else {
		h.b = make([]float64, buckets)
	}
	h.qFinal, h.forget, h.invF = q, forget, 1/forget
	h.invFMax = math.Pow(h.invF, batchMax)
	h.rampN = rampSamples / (1 - q)
	h.reset()
}

func (h *histogram) reset() {
	clear(h.b)
	h.total, h.below, h.qi, h.w, h.n, h.warm, h.steady = 0, 0, 0, 1, 0, false, false
	h.q = h.qFinal
}

// rampSamples: a high quantile of a few samples is underestimated (99.5%
// of 100 samples is usually below the true one), so until the histogram
// has seen rampSamples/(1−q) packets the tracked quantile starts near the
// maximum and relaxes towards the configured one. Without this the delay
// starts short and creeps up as the tail of the distribution shows itself.
const rampSamples = 4

// addYoung counts a sample in bucket i, after the caller counted it in n,
// while the forgetting and the quantile are still ramping up, or when the
// weights need rescaling; estimator.flush has the short path for the rest.
// It returns the weight the sample was given and the factor by which
// earlier weights were scaled (1 normally, 0 when the history was
// cleared), so that a caller remembering weights can follow.
func (h *histogram) addYoung(i int) (w, scaled float64) {
	scaled = 1
	if h.warm {
		h.w *= h.invF
	} else {
		f := 1 - startForgetWeight/float64(h.n+1)
		switch {
		case f <= 0:
			clear(h.b)
			h.total, h.below, h.w, scaled = 0, 0, 1, 0
		case f >= h.forget:
			h.warm = true
			h.w *= h.invF
		default:
			h.w /= f
		}
	}
	if h.w > rescaleAt {
		scaled = 1 / h.w
		h.scale(scaled)
	}
	if float64(h.n) < h.rampN {
		h.q = 1 - (1-h.qFinal)*float64(h.n)/h.rampN
	} else {
		h.q = h.qFinal
		h.steady = h.warm
	}
	h.b[i] += h.w
	h.total += h.w
	if i < h.qi {
		h.below += h.w
	}
	h.walk()
	return h.w, scaled
}

// quantile returns the tracked quantile in ns: within its bucket, as far
// as the weight it needs from the bucket is of the bucket's weight (as if
// the delays in the bucket were spread evenly over it).
func (h *histogram) quantile() int64 {
	f := 1.0
	if c := h.b[h.qi]; c > 0 {
		f = min(max((h.q*h.total-h.below)/c, 0), 1)
	}
	return int64((float64(h.qi) + f) * float64(bucketWidth))
}

// walk moves the quantile bucket to where the counts put it.
func (h *histogram) walk() {
	want := h.q * h.total
	b, qi, below := h.b, h.qi, h.below
	if qi >= len(b) {
		return // not reached: qi < len(b) always; this spares bounds checks
	}
	if below+b[qi] < want {
		for qi < len(b)-1 && below+b[qi] < want {
			below += b[qi]
			qi++
		}
	} else {
		for qi > 0 && below >= want {
			qi--
			below -= b[qi]
		}
	}
	h.qi, h.below = qi, below
}

// scale multiplies every count by s and the next weight to match.
func (h *histogram) scale(s float64) {
	h.total, h.below = 0, 0
	for i := range h.b {
		h.b[i] *= s
		h.total += h.b[i]
		if i < h.qi {
			h.below += h.b[i]
		}
	}
	h.w *= s
}

// move shifts weight w from bucket from to bucket to; retrack must follow
// a series of moves.
func (h *histogram) move(from, to int, w float64) {
	h.b[from] = max(h.b[from]-w, 0)
	h.b[to] += w
}

// retrack recomputes the running sums after moves.
func (h *histogram) retrack() {
	h.total, h.below = 0, 0
	for i, c := range h.b {
		h.total += c
		if i < h.qi {
			h.below += c
		}
	}
	h.walk()
}
