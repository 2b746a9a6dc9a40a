// Live delivery: a WebSocket watcher, and sends timed until the watcher has them.
import { measureLiveDelivery } from '../lib/live.mjs';

/** Returns the live delivery summary, or undefined when the phase failed. */
export function measureLive(run, { server }) {
  return run.phase('live delivery', async () => {
    const l = await measureLiveDelivery(server.url, run.options.settings.liveCount);
    run.log(
      `live delivery: p50 ${l.delivery.p50.toFixed(2)} ms, p99 ${l.delivery.p99.toFixed(2)} ms over ${l.count}`,
    );
    return l;
  });
}
