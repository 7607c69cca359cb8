/// Realistic offers, written out as they come off the wire (CRLF endings added by `crlf`).

func crlf(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
}

/// A Chrome 12x offer: Opus audio with candidates, VP8/H.264 video with three simulcast rids,
/// and a data channel. Line order is exactly Chrome's.
let chromeOffer = crlf("""
v=0
o=- 5498186869896684180 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1 2
a=extmap-allow-mixed
a=msid-semantic: WMS 3e3f5a0e-6a2b-4b35-9b2c-9f1b3a4b5c6d
m=audio 58779 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 192.168.1.23
a=rtcp:9 IN IP4 0.0.0.0
a=candidate:1467250027 1 udp 2122260223 192.168.1.23 58779 typ host generation 0 network-id 1 network-cost 10
a=candidate:3853887652 1 udp 1686052607 203.0.113.7 58779 typ srflx raddr 192.168.1.23 rport 58779 generation 0 network-id 1 network-cost 10
a=candidate:484398891 1 tcp 1518280447 192.168.1.23 9 typ host tcptype active generation 0 network-id 1 network-cost 10
a=candidate:2999745851 1 udp 2122194687 a3f5c0de-21b4-4c5e-9d7e-3b1f0c2a9e84.local 61023 typ host generation 0 network-id 2
a=ice-ufrag:Fo2C
a=ice-pwd:9mPL2sLwNHeD9d0YZ8w1hjqG
a=ice-options:trickle
a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
a=setup:actpass
a=mid:0
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=sendrecv
a=msid:3e3f5a0e-6a2b-4b35-9b2c-9f1b3a4b5c6d 8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=ssrc:2951394427 cname:b0N5dhWcV7x4Hh3a
a=ssrc:2951394427 msid:3e3f5a0e-6a2b-4b35-9b2c-9f1b3a4b5c6d 8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 45 46 98 99
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:Fo2C
a=ice-pwd:9mPL2sLwNHeD9d0YZ8w1hjqG
a=ice-options:trickle
a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
a=setup:actpass
a=mid:1
a=extmap:14 urn:ietf:params:rtp-hdrext:toffset
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:13 urn:3gpp:video-orientation
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay
a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type
a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing
a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id
a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id
a=sendonly
a=msid:3e3f5a0e-6a2b-4b35-9b2c-9f1b3a4b5c6d 0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 goog-remb
a=rtcp-fb:96 transport-cc
a=rtcp-fb:96 ccm fir
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
a=rtpmap:102 H264/90000
a=rtcp-fb:102 goog-remb
a=rtcp-fb:102 transport-cc
a=rtcp-fb:102 ccm fir
a=rtcp-fb:102 nack
a=rtcp-fb:102 nack pli
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
a=rtpmap:103 rtx/90000
a=fmtp:103 apt=102
a=rtpmap:45 AV1/90000
a=rtcp-fb:45 goog-remb
a=rtcp-fb:45 transport-cc
a=rtcp-fb:45 ccm fir
a=rtcp-fb:45 nack
a=rtcp-fb:45 nack pli
a=fmtp:45 level-idx=5;profile=0;tier=0
a=rtpmap:46 rtx/90000
a=fmtp:46 apt=45
a=rtpmap:98 VP9/90000
a=rtcp-fb:98 goog-remb
a=rtcp-fb:98 transport-cc
a=rtcp-fb:98 ccm fir
a=rtcp-fb:98 nack
a=rtcp-fb:98 nack pli
a=fmtp:98 profile-id=0
a=rtpmap:99 rtx/90000
a=fmtp:99 apt=98
a=rid:q send
a=rid:h send
a=rid:f send
a=simulcast:send q;h;f
m=application 9 UDP/DTLS/SCTP webrtc-datachannel
c=IN IP4 0.0.0.0
a=ice-ufrag:Fo2C
a=ice-pwd:9mPL2sLwNHeD9d0YZ8w1hjqG
a=ice-options:trickle
a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
a=setup:actpass
a=mid:2
a=sctp-port:5000
a=max-message-size:262144

""")

/// An aiortc 1.x offer: audio + video with RTX (ssrc-group FID), candidates inline with
/// end-of-candidates, several fingerprints, and aiortc's own line order.
let aiortcOffer = crlf("""
v=0
o=- 3912345678 3912345678 IN IP4 0.0.0.0
s=-
t=0 0
a=group:BUNDLE 0 1
a=msid-semantic:WMS *
m=audio 49203 UDP/TLS/RTP/SAVPF 96 0 8
c=IN IP4 192.168.1.50
a=sendrecv
a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=mid:0
a=msid:4f9a7c1e-8d2b-4c3a-9e5f-6a7b8c9d0e1f 2d3b4c5d-6e7f-4809-a1b2-c3d4e5f60718
a=rtcp:9 IN IP4 0.0.0.0
a=rtcp-mux
a=ssrc:1293482057 cname:7d0a2cfc-2f34-4a93-a8a4-b2b8c8dcd8a1
a=rtpmap:96 opus/48000/2
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=candidate:4e2a8d3f7b1c6a05d9e3f1b2c4a6d8e0 1 udp 2130706431 192.168.1.50 49203 typ host
a=candidate:a1b2c3d4e5f60718293a4b5c6d7e8f90 1 udp 1694498815 198.51.100.20 49203 typ srflx raddr 192.168.1.50 rport 49203
a=end-of-candidates
a=ice-ufrag:Zk4Q
a=ice-pwd:pT3lWm8vQx2sN7bR5cY1dF
a=fingerprint:sha-256 0B:5F:96:B9:57:2E:96:34:6C:AE:E2:E7:E1:C9:44:3E:5C:98:3E:1E:51:F4:21:86:19:1A:19:6A:3F:2C:69:0B
a=fingerprint:sha-384 5E:88:7C:41:7D:A4:DB:0D:C1:35:3F:F6:7E:4A:9B:02:6F:11:25:6B:8E:61:4E:A7:C7:CA:3D:12:79:0F:9E:1C:8B:55:2C:3D:07:6E:91:3E:88:A6:95:B1:38:10:59:0C
a=fingerprint:sha-512 A3:4C:1E:7F:62:0B:DD:94:2E:81:5F:C6:3A:B7:08:E9:14:6D:53:F2:9B:27:C0:8E:45:1A:73:D6:BF:02:69:E5:38:C4:1D:7A:E0:56:9F:23:B8:64:0D:F1:8A:35:C7:2E:59:B0:16:E4:7D:A2:3F:91:0C:68:DB:45:F3:1E:8C:27
a=setup:actpass
m=video 49203 UDP/TLS/RTP/SAVPF 97 98 99 100 101 102
c=IN IP4 192.168.1.50
a=sendrecv
a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=mid:1
a=msid:4f9a7c1e-8d2b-4c3a-9e5f-6a7b8c9d0e1f 5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9
a=rtcp:9 IN IP4 0.0.0.0
a=rtcp-mux
a=ssrc-group:FID 2837460120 1094857328
a=ssrc:2837460120 cname:7d0a2cfc-2f34-4a93-a8a4-b2b8c8dcd8a1
a=ssrc:1094857328 cname:7d0a2cfc-2f34-4a93-a8a4-b2b8c8dcd8a1
a=rtpmap:97 VP8/90000
a=rtcp-fb:97 nack
a=rtcp-fb:97 nack pli
a=rtcp-fb:97 goog-remb
a=rtpmap:98 rtx/90000
a=fmtp:98 apt=97
a=rtpmap:99 H264/90000
a=rtcp-fb:99 nack
a=rtcp-fb:99 nack pli
a=rtcp-fb:99 goog-remb
a=fmtp:99 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
a=rtpmap:100 rtx/90000
a=fmtp:100 apt=99
a=rtpmap:101 H264/90000
a=rtcp-fb:101 nack
a=rtcp-fb:101 nack pli
a=rtcp-fb:101 goog-remb
a=fmtp:101 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
a=rtpmap:102 rtx/90000
a=fmtp:102 apt=101
a=candidate:4e2a8d3f7b1c6a05d9e3f1b2c4a6d8e0 1 udp 2130706431 192.168.1.50 49203 typ host
a=candidate:a1b2c3d4e5f60718293a4b5c6d7e8f90 1 udp 1694498815 198.51.100.20 49203 typ srflx raddr 192.168.1.50 rport 49203
a=end-of-candidates
a=ice-ufrag:Zk4Q
a=ice-pwd:pT3lWm8vQx2sN7bR5cY1dF
a=fingerprint:sha-256 0B:5F:96:B9:57:2E:96:34:6C:AE:E2:E7:E1:C9:44:3E:5C:98:3E:1E:51:F4:21:86:19:1A:19:6A:3F:2C:69:0B
a=setup:actpass

""")
