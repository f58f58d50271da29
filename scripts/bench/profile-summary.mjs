// Summarizes a V8 .cpuprofile: self time by function and inclusive time by file.
// node scripts/bench/profile-summary.mjs FILE.cpuprofile
import fs from 'node:fs';

const p = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const time = new Map();
let total = 0;
p.samples.forEach((id, i) => {
  const dt = p.timeDeltas[i] ?? 0;
  time.set(id, (time.get(id) ?? 0) + dt);
  total += dt;
});
const where = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}${n.callFrame.url ? ':' + (n.callFrame.lineNumber + 1) : ''}`;
const self = new Map();
const incl = new Map();
for (const [id, t] of time) {
  const k = where(byId.get(id));
  self.set(k, (self.get(k) ?? 0) + t);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur);
    const f = n.callFrame.url.replace(/^.*\/(dist|src)\//, '').replace(/^file:\/\//, '') || n.callFrame.functionName;
    if (seen.has(f)) continue;
    seen.add(f);
    incl.set(f, (incl.get(f) ?? 0) + t);
  }
}
const pct = (t) => ((t / total) * 100).toFixed(1).padStart(5) + ' %';
console.log(`profile: ${(total / 1e6).toFixed(1)} s of main-thread samples`);
console.log('self time, top 25:');
for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${pct(t)}  ${k}`);
console.log('inclusive time by file, top 25:');
for (const [k, t] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${pct(t)}  ${k}`);
