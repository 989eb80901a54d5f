//go:build race

package tsm

// raceEnabled: the race detector slows the quality tests' spectral
// measures tenfold and a FIFO has no concurrency to check, so they run on
// shorter clips under it.
const raceEnabled = true
