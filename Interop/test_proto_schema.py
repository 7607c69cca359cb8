"""Our .proto subset (Sources/LiveKitProto/protos) must agree with LiveKit's wire schema.

Compiles our protos with `protoc --descriptor_set_out` and compares every message, field and enum we
define with the descriptors shipped in the `livekit-protocol` package (what real SDKs put on the
wire): same field number, name, type, label, proto3 `optional`, oneof and message/enum type; same
enum values. We may leave fields out, but what we keep must be LiveKit's exactly.
"""
import importlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "Sources" / "LiveKitProto" / "protos"
OUR_FILES = ["livekit_models.proto", "livekit_rtc.proto", "livekit_room.proto",
             "livekit_egress.proto", "livekit_webhook.proto"]
LIVEKIT_MODULES = ["models", "rtc", "room", "egress", "webhook"]

# Types Sluice relies on (PROTOCOL.md sections 2, 5, 7); they must stay in the subset.
REQUIRED_TYPES = """
SignalRequest SignalResponse JoinResponse ReconnectResponse SessionDescription TrickleRequest
AddTrackRequest SimulcastCodec TrackPublishedResponse TrackUnpublishedResponse MuteTrackRequest
UpdateSubscription ParticipantTracks UpdateTrackSettings LeaveRequest LeaveRequest.Action
ParticipantUpdate SpeakersChanged SpeakerInfo RoomUpdate ConnectionQualityUpdate
ConnectionQualityInfo StreamStateUpdate StreamStateInfo StreamState SubscribedQualityUpdate
SubscribedQuality SubscribedCodec SubscriptionPermission SubscriptionPermissionUpdate
TrackPermission SyncState UpdateParticipantMetadata Ping Pong RequestResponse TrackSubscribed
ICEServer ClientConfiguration MediaSectionsRequirement SignalTarget JoinRequest WrappedJoinRequest
Room Codec ParticipantInfo ParticipantInfo.State ParticipantInfo.Kind ParticipantPermission
TrackInfo VideoLayer SimulcastCodecInfo DataPacket DataPacket.Kind UserPacket ActiveSpeakerUpdate
SipDTMF Transcription ChatMessage RpcRequest RpcAck RpcResponse DataStream.Header DataStream.Chunk
DataStream.Trailer ServerInfo ClientInfo TrackType TrackSource VideoQuality ConnectionQuality
DisconnectReason
CreateRoomRequest ListRoomsRequest ListRoomsResponse DeleteRoomRequest DeleteRoomResponse
ListParticipantsRequest ListParticipantsResponse RoomParticipantIdentity RemoveParticipantResponse
MuteRoomTrackRequest MuteRoomTrackResponse UpdateParticipantRequest UpdateSubscriptionsRequest
UpdateSubscriptionsResponse SendDataRequest SendDataResponse UpdateRoomMetadataRequest
RoomCompositeEgressRequest ParticipantEgressRequest TrackCompositeEgressRequest TrackEgressRequest
WebEgressRequest EncodedFileOutput DirectFileOutput EncodedFileType EncodingOptionsPreset
UpdateLayoutRequest UpdateStreamRequest StopEgressRequest ListEgressRequest ListEgressResponse
EgressInfo EgressStatus FileInfo StreamInfo
WebhookEvent
""".split()

# Messages whose every LiveKit field we must carry (the signalling envelopes).
COMPLETE_TYPES = ["SignalRequest", "SignalResponse", "JoinResponse", "DataPacket.Kind"]

FDP = descriptor_pb2.FieldDescriptorProto
FIELD_KEYS = ["number", "type", "label", "type_name", "proto3_optional"]


def _index(files):
    """full name (no leading dot) -> (kind, proto, file name) for messages and enums, nested too."""
    out = {}

    def walk_msgs(msgs, prefix, fname):
        for m in msgs:
            full = f"{prefix}.{m.name}"
            out[full] = ("message", m, fname)
            for e in m.enum_type:
                out[f"{full}.{e.name}"] = ("enum", e, fname)
            walk_msgs(m.nested_type, full, fname)

    for f in files:
        for e in f.enum_type:
            out[f"{f.package}.{e.name}"] = ("enum", e, f.name)
        walk_msgs(f.message_type, f.package, f.name)
    return out


@pytest.fixture(scope="module")
def ours():
    protoc = shutil.which("protoc")
    if protoc is None:
        pytest.fail("protoc not found (Debian: apt-get install protobuf-compiler; scripts/deps.sh test)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ours.pb"
        proc = subprocess.run(
            [protoc, f"-I{PROTO_DIR}", f"--descriptor_set_out={out}", "--include_imports",
             *[str(PROTO_DIR / f) for f in OUR_FILES]],
            capture_output=True, text=True)
        assert proc.returncode == 0, f"protoc failed:\n{proc.stderr}"
        fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    files = [f for f in fds.file if f.name in OUR_FILES]
    assert sorted(f.name for f in files) == sorted(OUR_FILES)
    for f in files:
        assert f.package == "livekit", f"{f.name}: package {f.package!r}, want 'livekit'"
        assert f.syntax == "proto3", f"{f.name}: syntax {f.syntax!r}, want proto3"
    return _index(files)


@pytest.fixture(scope="module")
def theirs():
    files = []
    for mod in LIVEKIT_MODULES:
        p = descriptor_pb2.FileDescriptorProto()
        importlib.import_module(f"livekit.protocol.{mod}").DESCRIPTOR.CopyToProto(p)
        files.append(p)
    return _index(files)


def _oneof_name(msg, field):
    return msg.oneof_decl[field.oneof_index].name if field.HasField("oneof_index") else None


def test_every_definition_matches_livekit(ours, theirs):
    problems = []
    for full, (kind, ours_d, our_file) in sorted(ours.items()):
        if full not in theirs:
            problems.append(f"{full}: {kind} not in LiveKit's schema")
            continue
        their_kind, their_d, their_file = theirs[full]
        if kind != their_kind:
            problems.append(f"{full}: ours is a {kind}, LiveKit's a {their_kind}")
            continue
        if our_file != their_file:
            problems.append(f"{full}: defined in {our_file}, LiveKit has it in {their_file}")
        if kind == "enum":
            their_vals = {v.name: v.number for v in their_d.value}
            for v in ours_d.value:
                if v.name not in their_vals:
                    problems.append(f"{full}.{v.name}: enum value not in LiveKit's")
                elif their_vals[v.name] != v.number:
                    problems.append(f"{full}.{v.name}: = {v.number}, LiveKit's = {their_vals[v.name]}")
            continue
        their_fields = {f.name: f for f in their_d.field}
        their_by_number = {f.number: f for f in their_d.field}
        for f in ours_d.field:
            t = their_fields.get(f.name)
            if t is None:
                other = their_by_number.get(f.number)
                hint = f" (LiveKit's {f.number} is {other.name!r})" if other else ""
                problems.append(f"{full}.{f.name}: field not in LiveKit's{hint}")
                continue
            for key in FIELD_KEYS:
                a, b = getattr(f, key), getattr(t, key)
                if a != b:
                    if key in ("type", "label"):
                        enum = FDP.Type if key == "type" else FDP.Label
                        a, b = enum.Name(a), enum.Name(b)
                    problems.append(f"{full}.{f.name}: {key} {a!r}, LiveKit's {b!r}")
            if f.HasField("json_name") and t.HasField("json_name") and f.json_name != t.json_name:
                problems.append(f"{full}.{f.name}: json_name {f.json_name!r}, LiveKit's {t.json_name!r}")
            a, b = _oneof_name(ours_d, f), _oneof_name(their_d, t)
            if a != b:
                problems.append(f"{full}.{f.name}: oneof {a!r}, LiveKit's {b!r}")
        if ours_d.options.map_entry != their_d.options.map_entry:
            problems.append(f"{full}: map_entry differs")
    assert not problems, f"{len(problems)} schema mismatch(es):\n  " + "\n  ".join(problems)


def test_required_types_present(ours):
    missing = [t for t in REQUIRED_TYPES if f"livekit.{t}" not in ours]
    assert not missing, f"missing from our .proto subset: {missing}"


def test_signalling_envelopes_complete(ours, theirs):
    problems = []
    for t in COMPLETE_TYPES:
        full = f"livekit.{t}"
        kind, our_d, _ = ours[full]
        _, their_d, _ = theirs[full]
        if kind == "enum":
            have = {v.name for v in our_d.value}
            problems += [f"{full}.{v.name}" for v in their_d.value if v.name not in have]
        else:
            have = {f.name for f in our_d.field}
            problems += [f"{full}.{f.name} = {f.number}" for f in their_d.field if f.name not in have]
    assert not problems, "LiveKit members we must also carry:\n  " + "\n  ".join(problems)
