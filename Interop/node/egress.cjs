// Drives every Egress method of LiveKit's Node server SDK (livekit-server-sdk) against Sluice,
// including the platform app's three routes. Usage:
//   node egress.cjs <http url> <room> <seconds to record>
// A LiveKit host ("host") must be publishing camera + mic in <room>. Prints one JSON line per call
// (the EgressInfo as the SDK parsed it, or the error it threw), then each egress once it ended.
'use strict';
const { sdk, API_KEY, API_SECRET, out, step, sleep, main } = require('./common.cjs');
const { EgressClient, RoomServiceClient, EncodedFileOutput, EncodedFileType, DirectFileOutput, StreamOutput,
        StreamProtocol, EgressStatus, TrackSource, TrackType, RoomCompositeEgressRequest, AccessToken } = sdk;
// The SDK's Twirp client is not in its public exports; it sits beside its entry point.
const { TwirpRpc } = require(require.resolve('livekit-server-sdk').replace(/index\.cjs$/, 'TwirpRPC.cjs'));

const [url, room, seconds] = process.argv.slice(2);
const egress = new EgressClient(url, API_KEY, API_SECRET);
const rooms = new RoomServiceClient(url, API_KEY, API_SECRET);
const summary = (info) => ({ egressId: info.egressId, status: EgressStatus[info.status], roomName: info.roomName,
                             request: info.request.case, info });

main(async () => {
  // Route 1, room status: the room by name with its participant count and metadata, and who is in it.
  const [status] = await rooms.listRooms([room]);
  const participants = await rooms.listParticipants(room);
  out('roomStatus', { name: status.name, numParticipants: status.numParticipants, metadata: status.metadata,
                      participants: participants.map((p) => ({ identity: p.identity, tracks: p.tracks.length })) });
  const host = participants.find((p) => p.identity === 'host');
  const mic = host.tracks.find((t) => t.source === TrackSource.MICROPHONE);
  const camera = host.tracks.find((t) => t.type === TrackType.VIDEO);

  // Route 2, recording start, exactly as the app writes it.
  const composite = await step('startRoomCompositeEgress', () => egress.startRoomCompositeEgress(room,
    new EncodedFileOutput({ fileType: EncodedFileType.MP4, filepath: `recordings/${room}/${Date.now()}.mp4` }),
    { layout: 'grid', audioOnly: false }), summary);

  const started = [composite];
  started.push(await step('startParticipantEgress', () => egress.startParticipantEgress(room, 'host',
    new EncodedFileOutput({ fileType: EncodedFileType.MP4, filepath: `participant/${room}-host.mp4` }),
    { screenShare: false }), summary));
  started.push(await step('startTrackCompositeEgress', () => egress.startTrackCompositeEgress(room,
    new EncodedFileOutput({ fileType: EncodedFileType.MP4, filepath: `track-composite/${room}.mp4` }),
    { audioTrackId: mic.sid, videoTrackId: camera.sid }), summary));
  started.push(await step('startTrackEgress', () => egress.startTrackEgress(room,
    new DirectFileOutput({ filepath: `track/${room}-mic.ogg` }), mic.sid), summary));
  await step('startTrackEgressWebsocket', () => egress.startTrackEgress(room, 'wss://127.0.0.1:1/audio', mic.sid));
  await step('startWebEgress', () => egress.startWebEgress('https://example.com/page',
    new EncodedFileOutput({ filepath: 'web.mp4' })));
  await step('startRoomCompositeEgressStream', () => egress.startRoomCompositeEgress(room,
    new StreamOutput({ protocol: StreamProtocol.RTMP, urls: ['rtmp://127.0.0.1:1/live/key'] }), 'grid'), summary);
  await step('startRoomCompositeEgressUnknownRoom', () => egress.startRoomCompositeEgress(`${room}-nowhere`,
    new EncodedFileOutput({ fileType: EncodedFileType.MP4, filepath: 'x.mp4' }), { layout: 'grid' }));
  // A genuine conflict, built by the SDK's own message class and sent by its own Twirp client:
  // a legacy `file` and a different entry in `fileOutputs`.
  const conflicting = new RoomCompositeEgressRequest({ roomName: room, layout: 'grid',
    output: { case: 'file', value: new EncodedFileOutput({ fileType: EncodedFileType.MP4, filepath: 'a.mp4' }) },
    fileOutputs: [new EncodedFileOutput({ fileType: EncodedFileType.OGG, filepath: 'b.ogg' })] }).toJson();
  const token = new AccessToken(API_KEY, API_SECRET, { ttl: '1m' });
  token.addGrant({ roomRecord: true });
  const jwt = await token.toJwt();
  await step('startRoomCompositeEgressConflict', () => new TwirpRpc(url, 'livekit').request('Egress',
    'StartRoomCompositeEgress', conflicting, { Authorization: `Bearer ${jwt}` }));

  // Until every recording has its first media (ACTIVE), within 10 s: a loaded machine may be slow.
  const waitStart = Date.now();
  for (let i = 0; i < 50; i++) {
    const items = await egress.listEgress({ roomName: room });
    if (items.length >= 4 && items.every((x) => x.status === EgressStatus.EGRESS_ACTIVE)) break;
    await sleep(200);
  }
  out('waitedForActive', { ms: Date.now() - waitStart });
  await step('listEgressByRoom', () => egress.listEgress({ roomName: room }),
             (r) => ({ items: r.map((i) => [i.egressId, EgressStatus[i.status]]) }));
  await step('listEgressById', () => egress.listEgress({ egressId: composite.egressId }),
             (r) => ({ items: r.map((i) => [i.egressId, EgressStatus[i.status]]) }));
  await step('listEgressActive', () => egress.listEgress({ active: true }),
             (r) => ({ items: r.map((i) => [i.egressId, EgressStatus[i.status]]) }));
  await step('listEgressByRoomString', () => egress.listEgress(room), (r) => ({ count: r.length }));
  // A layout name the app chose itself is taken (drawn as a grid, as LiveKit's template does).
  await step('updateLayoutUnknown', () => egress.updateLayout(composite.egressId, 'mosaic'), summary);
  await step('updateLayout', () => egress.updateLayout(composite.egressId, 'speaker'), summary);
  // UpdateStream adds an RTMP URL to the running composite; nobody listens there, so it is
  // retried and then reported FAILED while the file goes on.
  await step('updateStream', () => egress.updateStream(composite.egressId, ['rtmp://127.0.0.1:1/live/b']), summary);
  await step('updateStreamUnknownEgress', () => egress.updateStream('EG_nope', ['rtmp://127.0.0.1:1/live/b']));

  await sleep(Math.max(0, Number(seconds) * 1000 - (Date.now() - waitStart)));
  // Route 3, recording stop; then what the app polls until the file is final.
  for (const info of started.filter(Boolean)) {
    await step(`stopEgress ${info.egressId}`, () => egress.stopEgress(info.egressId), summary);
  }
  await step('stopUnknownEgress', () => egress.stopEgress('EG_nope'));
  for (const info of started.filter(Boolean)) {
    let last;
    for (let i = 0; i < 100; i++) {
      [last] = await egress.listEgress({ egressId: info.egressId });
      if (last.status >= EgressStatus.EGRESS_COMPLETE) break;
      await sleep(200);
    }
    out('ended', summary(last));
  }
  await step('listEgressActiveAfter', () => egress.listEgress({ active: true }), (r) => ({ count: r.length }));
});
