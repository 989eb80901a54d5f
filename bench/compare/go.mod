module github.com/rtpmix/rtpmix/bench/compare

go 1.26

replace github.com/rtpmix/rtpmix => ../..

require (
	github.com/livekit/media-sdk v0.0.0-20260821230919-443f401e89b8
	github.com/pion/interceptor v0.1.51
	github.com/pion/rtp v1.10.6
	github.com/pion/srtp/v3 v3.1.3
	github.com/rtpmix/rtpmix v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
	github.com/zaf/g711 v1.4.0
)

require (
	github.com/frostbyte73/core v0.1.1 // indirect
	github.com/gammazero/deque v1.2.1 // indirect
	github.com/go-logr/logr v1.4.3 // indirect
	github.com/klauspost/cpuid/v2 v2.3.0 // indirect
	github.com/livekit/protocol v1.46.7-0.20260605212020-c0615a2f6f84 // indirect
	github.com/pion/logging v0.2.4 // indirect
	github.com/pion/randutil v0.1.0 // indirect
	github.com/pion/rtcp v1.2.20 // indirect
	github.com/pion/transport/v5 v5.1.4 // indirect
	github.com/pion/webrtc/v4 v4.2.26 // indirect
	github.com/puzpuzpuz/xsync/v4 v4.5.0 // indirect
	github.com/zeebo/xxh3 v1.1.0 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
	go.uber.org/zap/exp v0.3.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.45.0 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)
