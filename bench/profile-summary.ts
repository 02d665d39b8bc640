// Summarises a .cpuprofile written by `BENCH_CPU_PROF=<dir> npm run bench` (Node-RED run with
// --cpu-prof): where the busy time went, by area, by function (self time), and the inclusive time of
// every function of this package (dist/), so that a cost can be pinned on a line of src/.
//
//   node --require tsx/cjs bench/profile-summary.ts <file.cpuprofile> [--top 30] [--match <text>]
//
// --match <text>: also print the inclusive time of every function whose name or file contains <text>.
import * as fs from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const ROOT = path.join(__dirname, '..');

function parseArgs(argv: string[]) {
  const args = { file: '', top: 30, match: [] as string[] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--top') args.top = Number(argv[++i]);
    else if (argv[i] === '--match') args.match.push(argv[++i]);
    else args.file = argv[i];
  }
  if (!args.file) throw new Error('usage: node --require tsx/cjs bench/profile-summary.ts <file.cpuprofile> [--top 30] [--match <text>]');
  return args;
}

function shortUrl(url: string): string {
  if (!url) return '';
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm !== -1) return file.slice(nm + '/node_modules/'.length);
  if (file.startsWith(ROOT + '/')) return file.slice(ROOT.length + 1);
  return file;
}

/** The area a frame belongs to, for the coarse breakdown. */
function area(frame: ProfileNode): string {
  const { functionName, url } = frame.callFrame;
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (functionName === '(program)') return 'program (native, unattributed)';
  const file = shortUrl(url);
  if (file.startsWith('dist/')) return `package: ${file}`;
  if (file.startsWith('better-sqlite3/')) return 'better-sqlite3';
  if (file.startsWith('libphonenumber-js/')) return 'libphonenumber-js';
  const pkg = /^(@[^/]+\/[^/]+|[^/]+)\//.exec(file);
  if (pkg && url.includes('/node_modules/')) return pkg[1];
  if (url.startsWith('node:') || (!url.startsWith('file:') && !url.startsWith('/') && url)) return 'node core';
  if (!url) return functionName ? `native: ${functionName}` : 'native';
  return file;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const profile = JSON.parse(fs.readFileSync(args.file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const node = (id: number) => byId.get(id) as ProfileNode;
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map<number, number>(); // node id → µs
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + dt);
    total += dt;
  });
  const idle = [...self].filter(([id]) => node(id).callFrame.functionName === '(idle)').reduce((s, [, t]) => s + t, 0);
  const busy = total - idle;
  const ms = (us: number) => (us / 1000).toFixed(0).padStart(7);
  const pct = (us: number) => ((100 * us) / busy).toFixed(1).padStart(5) + '%';

  console.log(`${args.file}\n  profiled ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (${((100 * busy) / total).toFixed(0)}%); percentages are of busy time\n`);

  // Self time by area.
  const areas = new Map<string, number>();
  for (const [id, t] of self) {
    const a = area(node(id));
    if (a !== 'idle') areas.set(a, (areas.get(a) ?? 0) + t);
  }
  console.log('self time by area');
  for (const [a, t] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, args.top)) console.log(`${ms(t)} ms ${pct(t)}  ${a}`);

  // Self time by function.
  const fnKey = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}  ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const fns = new Map<string, number>();
  for (const [id, t] of self) {
    const n = node(id);
    if (n.callFrame.functionName === '(idle)') continue;
    fns.set(fnKey(n), (fns.get(fnKey(n)) ?? 0) + t);
  }
  console.log('\nself time by function');
  for (const [k, t] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, args.top)) console.log(`${ms(t)} ms ${pct(t)}  ${k}`);

  // Inclusive time: each sample counts once for every distinct function on its stack.
  const inclusive = new Map<string, number>();
  const selected = (n: ProfileNode) => {
    const file = shortUrl(n.callFrame.url);
    if (file.startsWith('dist/')) return true;
    return args.match.some((m) => file.includes(m) || n.callFrame.functionName.includes(m));
  };
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = node(cur);
      if (!selected(n)) continue;
      const k = fnKey(n);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
  });
  console.log('\ninclusive time of the package’s functions' + (args.match.length ? ` and of those matching ${args.match.join(', ')}` : ''));
  for (const [k, t] of [...inclusive].sort((x, y) => y[1] - x[1]).slice(0, args.top * 2)) console.log(`${ms(t)} ms ${pct(t)}  ${k}`);
}

main();
