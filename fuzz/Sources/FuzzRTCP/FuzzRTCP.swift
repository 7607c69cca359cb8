import FuzzSupport
import Media

/// A compound RTCP datagram from a publisher or subscriber: every packet type we read (SR, RR,
/// SDES, BYE, PLI, FIR, NACK, REMB, transport-cc), written back out and parsed again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRTCP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let buffer = input(data, size)
    var iterator = RTCPCompoundIterator(buffer)
    while let view = iterator.next() {
        if let packet = try? RTCPPacket(view) {
            var out: [UInt8] = []
            packet.write(to: &out)
            // What we write must parse again: a subscriber's feedback is re-sent to the publisher.
            if let again = try? RTCPPacket.parseCompound(out) { consume(again.count) }
            if case .genericNACK(let n) = packet { consume(n.lostSequenceNumbers) }
            if case .transportCC(let t) = packet { consume(t.arrivalTimesMicroseconds) }
        }
        try? RTCPGenericNACK.forEachLostSequenceNumber(in: view) { consume($0) }
    }
    consume(try? RTCPPacket.parseCompound(buffer))
    return 0
}
