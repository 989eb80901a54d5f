package rtpclient

import "errors"

var (
	errEmptySource  = errors.New("rtpclient: no audio to encode")
	errShortBuffer  = errors.New("rtpclient: packet larger than the send buffer")
	errNotRTP       = errors.New("rtpclient: not an RTP packet")
	errRTCP         = errors.New("rtpclient: RTCP on the RTP port")
	errPayloadType  = errors.New("rtpclient: unexpected payload type")
	errSenderConfig = errors.New("rtpclient: invalid sender configuration")
)
