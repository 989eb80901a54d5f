// A module outside rtpmix that imports it, as a user's module does; see
// main.go. The replace points at this checkout instead of a release.
module example.com/rtpmix-consumer

go 1.24.0

replace github.com/rtpmix/rtpmix => ../..

require (
	github.com/pion/rtp v1.10.6
	github.com/rtpmix/rtpmix v0.0.0-00010101000000-000000000000
)

require (
	github.com/pion/logging v0.2.4 // indirect
	github.com/pion/randutil v0.1.0 // indirect
	github.com/pion/rtcp v1.2.20 // indirect
	github.com/pion/srtp/v3 v3.1.3 // indirect
	github.com/pion/transport/v5 v5.1.4 // indirect
	golang.org/x/sys v0.41.0 // indirect
	gopkg.in/hraban/opus.v2 v2.0.0-20230925203106-0188a62cb302 // indirect
)
