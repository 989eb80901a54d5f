//go:build !race

package rtpclient

const raceEnabled = false
