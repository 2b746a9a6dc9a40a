import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--liftoff-only');
const t0 = performance.now();
const lap = (l) => console.log(l.padEnd(24), (performance.now() - t0).toFixed(0));
const { openMessenger } = await import('@messenger/core');
lap('import core');
const m = await openMessenger({
  databaseUrl: process.argv[2],
  migrate: process.argv[3] !== 'nomig',
});
lap('open');
await m.send({ sender: 'a', recipient: 'b', message_content: 'x' });
lap('send');
await m.close();
lap('close');
