// Command netcond replays the jitter buffer's network scenarios (clean,
// 30 ms normal jitter, 5% bursty loss, ±1% drift, a 300 ms spike; 60 s
// each, deterministic) through a whole conference in virtual time — the
// sender's PCMU over SRTP into the mixer, the mix over SRTP to a listener —
// and prints late loss, concealment, delay creep and the delay the engine
// adds from a packet's arrival to the mixed packet leaving, split into
// buffering (virtual time) and processing (real time).
//
//	go run ./bench/cmd/netcond [-md]
package main

import (
	"flag"
	"log"
	"os"

	"github.com/rtpmix/rtpmix/bench"
)

func main() {
	md := flag.Bool("md", false, "print the table as Markdown")
	flag.Parse()
	var rs []bench.NetCondResult
	for _, sc := range bench.NetCondScenarios() {
		r, err := bench.RunNetCond(sc)
		if err != nil {
			log.Fatal(err)
		}
		rs = append(rs, r)
	}
	if err := bench.WriteNetCondTable(os.Stdout, rs, *md); err != nil {
		log.Fatal(err)
	}
}
