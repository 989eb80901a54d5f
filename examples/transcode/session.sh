#!/usr/bin/env bash
# A transcode session with ffmpeg on both sides, for README.md: builds the
# gateway, starts it with fixed peers, two ffmpeg receivers (PCMU on 6000,
# Opus/SRTP on 6002 keyed by the a=crypto line the gateway prints) and two
# ffmpeg senders (1000 Hz PCMU to side A, 440 Hz Opus/SRTP to side B) for 4 s,
# then stops the gateway with SIGINT. Run from the repository root:
#
#	examples/transcode/session.sh [out-dir]     (default: out/transcode)
#
# The recordings are out-dir/a.wav (side A hears 440 Hz) and b.wav (1000 Hz).
set -euo pipefail
out=${1:-out/transcode}
mkdir -p "$out"
go build -o "$out/transcode" ./examples/transcode
cd "$out"
rm -f a.wav b.wav
KEY=$(head -c 30 /dev/urandom | base64) # what ffmpeg sends side B with
./transcode -a 127.0.0.1:5004 -b 127.0.0.1:5006 -a-peer 127.0.0.1:6000 -b-peer 127.0.0.1:6002 \
	-srtp-peer-key "$KEY" -stats 2s >gw.out 2>gw.log &
GW=$!
sleep 0.5
LINE=$(cat gw.out) # the gateway's a=crypto line
printf 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=a\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n' >a.sdp
printf 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=b\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6002 RTP/SAVP 111\r\na=rtpmap:111 opus/48000/2\r\n%s\r\n' "$LINE" >b.sdp
R=(-hide_banner -nostdin -loglevel error -y -protocol_whitelist file,udp,rtp,srtp,crypto)
timeout 20 ffmpeg "${R[@]}" -i a.sdp -t 3 -ac 1 -ar 8000 -c:a pcm_s16le a.wav &
RA=$!
timeout 20 ffmpeg "${R[@]}" -i b.sdp -t 3 -ac 1 -ar 48000 -c:a pcm_s16le b.wav &
RB=$!
sleep 0.5
S=(-hide_banner -nostdin -loglevel error -re -f lavfi)
timeout 20 ffmpeg "${S[@]}" -i "sine=frequency=1000:sample_rate=48000:duration=4" -af aresample=8000,asetnsamples=n=160 \
	-ac 1 -c:a pcm_mulaw -f rtp -sdp_file /dev/null rtp://127.0.0.1:5004 &
SA=$!
timeout 20 ffmpeg "${S[@]}" -i "sine=frequency=440:sample_rate=48000:duration=4" -ac 1 -c:a libopus -b:a 32k -application voip \
	-frame_duration 20 -payload_type 111 -f rtp -srtp_out_suite AES_CM_128_HMAC_SHA1_80 -srtp_out_params "$KEY" \
	-sdp_file /dev/null srtp://127.0.0.1:5006 &
SB=$!
wait $RA $RB $SA $SB
kill -INT $GW
wait $GW
echo "== gateway stdout"
cat gw.out
echo "== gateway stderr"
cat gw.log
