// Command netcond replays network scenarios (the jitter buffer's standard
// ones and issue 12's kinds of trace: restarts, ±1% sender clocks, DTX,
// bursty TTS, Wi-Fi, LTE; 60 s each, deterministic) through a whole
// conference in virtual time — the talker's speech as PCMU over SRTP into
// the mixer, which time-scales it as the jitter buffer asks, the mix over
// SRTP to a listener — and prints late loss, concealment, the share of
// audio time-scaled, the delay heard (measured on the audio) against the
// tick-aware fixed-delay oracle, creep, the listener's spectral distance
// from the clean path, and the engine's processing time.
//
//	go run ./bench/cmd/netcond [-md] [-phases] [-testdata dir]
package main

import (
	"flag"
	"log"
	"os"

	"github.com/rtpmix/rtpmix/bench"
)

func main() {
	md := flag.Bool("md", false, "print the table as Markdown")
	phases := flag.Bool("phases", false, "run every scenario at four tick phases (0, 5, 10, 15 ms), not only 0")
	dir := flag.String("testdata", "", "directory of the speech clips (default: the repository's testdata)")
	flag.Parse()
	var rs []bench.NetCondResult
	for _, sc := range bench.NetCondScenarios() {
		for i, ph := range bench.NetCondPhases {
			if i > 0 && !*phases {
				break
			}
			sc.TickPhase = ph
			r, err := bench.RunNetCond(sc, *dir)
			if err != nil {
				log.Fatal(err)
			}
			rs = append(rs, r)
		}
	}
	if err := bench.WriteNetCondTable(os.Stdout, rs, *md); err != nil {
		log.Fatal(err)
	}
}
