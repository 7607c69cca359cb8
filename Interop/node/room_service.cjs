// Drives every RoomService method of LiveKit's Node server SDK (livekit-server-sdk) against Sluice,
// as a Next.js route would. Usage:
//   node room_service.cjs <http url> <room> create   -> createRoom with every option, then listRooms
//   node room_service.cjs <http url> <room> drive    -> the per-room methods against live participants
//                                                       (host publishing camera + mic, viewer, leaver)
//   node room_service.cjs <http url> <room> teardown -> deleteRoom, then listRooms
// Prints one JSON line per call: its result as the SDK parsed it, or the error the SDK threw.
'use strict';
const { sdk, API_KEY, API_SECRET, out, step, sleep, main } = require('./common.cjs');
const { RoomServiceClient, DataPacket_Kind, TrackSource, TrackType } = sdk;

const [url, room, phase] = process.argv.slice(2);
const rooms = new RoomServiceClient(url, API_KEY, API_SECRET);

async function create() {
  await step('createRoomWithAutoEgress', () => rooms.createRoom({
    name: `${room}-auto`, egress: { room: { roomName: `${room}-auto`, layout: 'grid' } } }));
  await step('createRoom', () => rooms.createRoom({
    name: room, emptyTimeout: 300, departureTimeout: 20, maxParticipants: 10, metadata: '{"sale":"soon"}',
    nodeId: 'node-a', minPlayoutDelay: 100, maxPlayoutDelay: 400, syncStreams: true, roomPreset: 'default',
    replayEnabled: false, tags: { shop: 'north' },
  }));
  await step('listRoomsByName', () => rooms.listRooms([room]));
}

async function drive() {
  // The app's room-status route: one room by name, with its participant count and metadata.
  await step('listRoomsByName', () => rooms.listRooms([room]));
  await step('listRoomsAll', () => rooms.listRooms(), (r) => ({ names: r.map((x) => x.name) }));
  await step('updateRoomMetadata', () => rooms.updateRoomMetadata(room, '{"sale":"on"}'));
  await step('listParticipants', () => rooms.listParticipants(room));
  const host = await step('getParticipant', () => rooms.getParticipant(room, 'host'));
  const mic = host.tracks.find((t) => t.source === TrackSource.MICROPHONE);
  const camera = host.tracks.find((t) => t.source === TrackSource.CAMERA && t.type === TrackType.VIDEO);
  out('hostTracks', { mic: mic && mic.sid, camera: camera && camera.sid });

  await step('mutePublishedTrack', () => rooms.mutePublishedTrack(room, 'host', mic.sid, true));
  await step('updateParticipant', () => rooms.updateParticipant(room, 'viewer', {
    metadata: '{"vip":true}', attributes: { tier: 'gold' }, name: 'Vera',
    permission: { canSubscribe: true, canPublish: false, canPublishData: true,
                  canPublishSources: [TrackSource.MICROPHONE], canUpdateMetadata: false },
  }));
  // The legacy positional form (metadata, permission, name) is still in apps written for 1.x.
  await step('updateParticipantPositional', () => rooms.updateParticipant(room, 'leaver', '{"legacy":1}'));
  await step('updateSubscriptions', () => rooms.updateSubscriptions(room, 'viewer', [camera.sid], false),
             () => ({ ok: true }));

  const leaver = (await rooms.listParticipants(room)).find((p) => p.identity === 'leaver');
  await step('sendDataToViewer', () => rooms.sendData(room, new TextEncoder().encode('offer: 20% off'),
    DataPacket_Kind.RELIABLE, { topic: 'offers', destinationIdentities: ['viewer'] }), () => ({ ok: true }));
  await step('sendDataBySid', () => rooms.sendData(room, new TextEncoder().encode('for the leaver'),
    DataPacket_Kind.RELIABLE, { topic: 'by-sid', destinationSids: [leaver.sid] }), () => ({ ok: true }));
  await step('sendDataToAll', () => rooms.sendData(room, new TextEncoder().encode('hello all'),
    DataPacket_Kind.RELIABLE, { topic: 'all' }), () => ({ ok: true }));
  await sleep(500);

  await step('removeParticipant', () => rooms.removeParticipant(room, 'leaver'), () => ({ ok: true }));
  await sleep(500);
  await step('listParticipantsAfterRemove', () => rooms.listParticipants(room),
             (r) => ({ identities: r.map((p) => p.identity).sort() }));

  // Errors as an app's try/catch sees them: LiveKit's Twirp codes and HTTP statuses.
  await step('getUnknownParticipant', () => rooms.getParticipant(room, 'nobody'));
  await step('muteUnknownTrack', () => rooms.mutePublishedTrack(room, 'host', 'TR_nope', true));
  await step('metadataOfUnknownRoom', () => rooms.updateRoomMetadata(`${room}-nowhere`, 'x'));
  await step('moveParticipant', () => rooms.moveParticipant(room, 'viewer', `${room}-other`));
  await step('forwardParticipant', () => rooms.forwardParticipant(room, 'viewer', `${room}-other`));
  // The SDK's clients for services Sluice does not run get Twirp's unimplemented, not a parse error.
  await step('listIngress', () => new sdk.IngressClient(url, API_KEY, API_SECRET).listIngress({ roomName: room }));
  await step('listSipInboundTrunk', () => new sdk.SipClient(url, API_KEY, API_SECRET).listSipInboundTrunk());
  await step('listDispatch', () => new sdk.AgentDispatchClient(url, API_KEY, API_SECRET).listDispatch(room));
  const wrongSecret = new RoomServiceClient(url, API_KEY, 'not-the-secret');
  await step('wrongSecret', () => wrongSecret.listRooms());
}

async function teardown() {
  await step('deleteRoom', () => rooms.deleteRoom(room), () => ({ ok: true }));
  await step('listRoomsAfterDelete', () => rooms.listRooms([room]), (r) => ({ names: r.map((x) => x.name) }));
}

main(async () => {
  if (phase === 'create') await create();
  else if (phase === 'drive') await drive();
  else if (phase === 'teardown') await teardown();
  else throw new Error(`unknown phase ${phase}`);
});
