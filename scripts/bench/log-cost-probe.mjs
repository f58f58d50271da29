// What the logs cost the transport's main thread in a running server: times the entry points of the
// protocol log and message tracking (the built classes, patched in place) and, at exit, appends one line
// to $LOG_COST_PROBE_OUT (default /tmp/log-cost-probe.txt): calls, milliseconds and ns per call of each,
// and the main thread's own CPU time (schedstat). The wrapper's own cost, measured hot, is in the line too.
//   npm run build && BENCH_NODE_OPTIONS="--import $PWD/scripts/bench/log-cost-probe.mjs" \
//     BENCH_RECEIVE_LOGGING=Verbose BENCH_SEND_LOGGING=Verbose ../shared/bench/relay-bench.sh \
//     --relay-cmd scripts/bench/interchange-relay.sh --listen 14525 --next-hop 14526 --messages 10000 --sessions 20 --size 5120
import fs from 'node:fs';

const dist = new URL('../../dist/transport/', import.meta.url);
const load = (p) => import(new URL(p, dist).href);
const { ProtocolLogSession } = await load('protocol-log/session.js');
const { ProtocolLogWriter } = await load('protocol-log/writer.js');
const { MessageTrackingLog } = await load('tracking/message-tracking.js');
const { TransportService } = await load('service/transport-service.js');
const { DeliveryTracking } = await load('delivery/delivery-tracking.js');

const totals = new Map();
let depth = 0;
function time(proto, method, label) {
  const f = proto[method];
  if (typeof f !== 'function') throw new Error(`log-cost-probe: ${label}: no method ${method} (the classes changed)`);
  proto[method] = function (...args) {
    // Nested calls (a tracking event inside trackReceived) count once, in the outer one.
    if (depth++ > 0) {
      try {
        return f.apply(this, args);
      } finally {
        depth--;
      }
    }
    const t = process.hrtime.bigint();
    try {
      return f.apply(this, args);
    } finally {
      depth--;
      const x = totals.get(label) ?? { calls: 0, ns: 0n };
      x.calls++;
      x.ns += process.hrtime.bigint() - t;
      totals.set(label, x);
    }
  };
}
time(ProtocolLogSession.prototype, 'row', 'protocol log row');
time(ProtocolLogWriter.prototype, 'newSessionId', 'protocol log session id');
time(TransportService.prototype, 'trackReceived', 'tracking RECEIVE (built and written)');
time(DeliveryTracking.prototype, 'track', 'tracking SEND and others (built and written)');
time(MessageTrackingLog.prototype, 'track', 'tracking other events');

process.on('exit', () => {
  const probe = { f() {} };
  time(probe, 'f', 'the wrapper itself, hot');
  for (let i = 0; i < 100_000; i++) probe.f();
  const stat = fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8');
  const parts = [...totals].map(([label, x]) => `${label}: ${x.calls} calls, ${(Number(x.ns) / 1e6).toFixed(1)} ms, ${(Number(x.ns) / x.calls).toFixed(0)} ns/call`);
  parts.push(`main thread CPU ${(Number(stat.split(' ')[0]) / 1e6).toFixed(0)} ms`);
  fs.appendFileSync(process.env.LOG_COST_PROBE_OUT || '/tmp/log-cost-probe.txt', parts.join(' | ') + '\n');
});
