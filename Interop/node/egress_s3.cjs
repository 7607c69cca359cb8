// A recording uploaded to S3-compatible storage, started the way an app using LiveKit's Node SDK
// writes it: EncodedFileOutput with its `output` oneof set to an S3Upload. Usage:
//   node egress_s3.cjs <http url> <room> <seconds> <endpoint> <bucket> <access key> <secret>
// A LiveKit host ("host") must be publishing in <room>. Prints the Start and Stop answers, then
// the egress as ListEgress reports it once it is no longer ENDING (the upload done).
'use strict';
const { sdk, API_KEY, API_SECRET, out, step, sleep, main } = require('./common.cjs');
const { EgressClient, EncodedFileOutput, EncodedFileType, S3Upload, EgressStatus } = sdk;

const [url, room, seconds, endpoint, bucket, accessKey, secret] = process.argv.slice(2);
const egress = new EgressClient(url, API_KEY, API_SECRET);

main(async () => {
  const output = new EncodedFileOutput({
    fileType: EncodedFileType.MP4,
    filepath: `${room}/node-host.mp4`,
    output: { case: 's3', value: new S3Upload({ accessKey, secret, region: 'us-east-1', endpoint, bucket,
                                                forcePathStyle: true, metadata: { source: 'node-sdk' } }) },
  });
  const started = await step('startParticipantEgress', () => egress.startParticipantEgress(room, 'host', output));
  if (!started) return;
  await sleep(Number(seconds) * 1000);
  const stopped = await step('stopEgress', () => egress.stopEgress(started.egressId));
  const deadline = Date.now() + 30000;
  let info = stopped;
  while (Date.now() < deadline) {
    [info] = await egress.listEgress({ egressId: started.egressId });
    if (info.status !== EgressStatus.EGRESS_ENDING && info.status !== EgressStatus.EGRESS_ACTIVE) break;
    await sleep(200);
  }
  out('ended', { status: EgressStatus[info.status], error: info.error, fileResults: info.fileResults, info });
});
