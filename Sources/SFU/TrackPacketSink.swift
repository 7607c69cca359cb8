/// Something besides subscribers that takes a published track's packets as they arrive (a
/// recorder). Called on the room's executor with the publisher's unmodified bytes, valid only
/// during the call: copy what you keep, and do no slow work here.
public protocol TrackPacketSink: AnyObject {
    func receive(_ packet: UnsafeRawBufferPointer, layer: Int, now: UInt64)
    func receiveSenderReport(ntp: UInt64, rtpTimestamp: UInt32, layer: Int)
}
