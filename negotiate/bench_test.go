package negotiate

import "testing"

// BenchmarkAnswer: negotiation and the answer's text for two real offers.
// Call setup, not the packet path: it allocates, and what matters is that
// a server answers thousands of calls per second on one core.
func BenchmarkAnswer(b *testing.B) {
	for _, file := range []string{"yealink-t22p.sdp", "chrome-2013-sdes.sdp"} {
		offer := readOffer(b, file)
		p := bridgePolicy()
		p.TelephoneEvent = true
		b.Run(file, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(offer)))
			for b.Loop() {
				leg, err := Answer(offer, p)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := leg.MarshalAnswer(localAddr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOfferAccept: an outbound offer with four SRTP suites, and
// reading its answer.
func BenchmarkOfferAccept(b *testing.B) {
	p := bridgePolicy()
	p.SRTP = SRTPRequired
	o, err := NewOffer(p, localAddr)
	if err != nil {
		b.Fatal(err)
	}
	leg, err := Answer(o.SDP(), p)
	if err != nil {
		b.Fatal(err)
	}
	answer, err := leg.MarshalAnswer(localAddr)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("NewOffer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := NewOffer(p, localAddr); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Accept", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := o.Accept(answer); err != nil {
				b.Fatal(err)
			}
		}
	})
}
