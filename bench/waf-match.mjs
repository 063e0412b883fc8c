// The WAF's matching libraries (filters/waf/match) inside a filter: the RE2-semantics regex
// engine against JavaScript's RegExp (V8's backtracking irregexp) on CRS-style patterns, on a
// pattern that makes backtracking explode ((a+)+$), and the detectors and phrase matcher on
// typical values. Driven through the waf-match-probe fixture (build/waf-match-probe.wasm) in the
// Node proxy-wasm host; `repeat K <op>` runs an operation K times in one request and the
// per-operation time is (time(repeat K) - time(repeat 1)) / (K - 1), so request handling and the
// probe's hex decoding cancel out. Best of a few rounds. One run, well under a minute.
//
// JavaScript's RegExp on the pathological input is run in a worker with a time limit: it is
// exponential there, so it is shown at small sizes and marked as over the limit beyond.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { loadFilter } from '../sdk/dist/host/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wasmPath = join(root, 'build', 'waf-match-probe.wasm');
if (!existsSync(wasmPath)) {
  console.error('bench/waf-match: build/waf-match-probe.wasm is missing; run `node scripts/build.mjs --filters-only`');
  process.exit(1);
}
const hex = (s) => (s === '' ? '-' : Buffer.from(s, 'utf8').toString('hex'));
const host = await loadFilter(readFileSync(wasmPath), { rootId: 'waf-match-probe', bufferLimitBytes: 64 << 20 });

async function run(line) {
  const res = await host.http({ method: 'POST', path: '/', body: line + '\n' });
  if (res.trap) throw new Error(`probe trapped: ${res.trap.message}`);
  if (res.body.startsWith('error')) throw new Error(`probe: ${res.body}`);
  return res.body;
}

/** Microseconds per operation inside the filter (op: the probe line without "repeat"). */
async function wasmMicros(op) {
  await run(`repeat 1 ${op}`); // compile and warm the DFA cache
  // Aim for ~50 ms per measurement; the best of 4 rounds of each of repeat 1 and repeat K.
  const t0 = performance.now();
  await run(`repeat 20 ${op}`);
  const est = Math.max((performance.now() - t0) / 20, 0.0002);
  const k = Math.max(5, Math.min(100000, Math.round(50 / est)));
  let one = Infinity, many = Infinity;
  for (let round = 0; round < 4; round++) {
    let a = performance.now();
    await run(`repeat 1 ${op}`);
    one = Math.min(one, performance.now() - a);
    a = performance.now();
    await run(`repeat ${k} ${op}`);
    many = Math.min(many, performance.now() - a);
  }
  return Math.max(((many - one) / (k - 1)) * 1000, 0.01);
}

function jsMicros(re, input) {
  re.test(input);
  let k = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < k; i++) re.test(input);
    const ms = performance.now() - t;
    if (ms > 30 || k > 1e6) {
      let best = ms / k;
      for (let r = 0; r < 2; r++) {
        const t2 = performance.now();
        for (let i = 0; i < k; i++) re.test(input);
        best = Math.min(best, (performance.now() - t2) / k);
      }
      return best * 1000;
    }
    k *= 4;
  }
}

/** JS RegExp.test in a worker, given up after limitMs: microseconds, or null when over the limit. */
function jsMicrosLimited(pattern, flags, input, limitMs) {
  return new Promise((resolve) => {
    const w = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const re = new RegExp(workerData.pattern, workerData.flags);
       const t = performance.now(); const r = re.test(workerData.input);
       parentPort.postMessage({ us: (performance.now() - t) * 1000, r });`,
      { eval: true, workerData: { pattern, flags, input } },
    );
    const timer = setTimeout(() => {
      w.terminate();
      resolve(null);
    }, limitMs);
    w.on('message', (m) => {
      clearTimeout(timer);
      w.terminate();
      resolve(m.us);
    });
  });
}

const fmt = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(2)} µs`);
const mbps = (len, us) => `${((len * 2) / us).toFixed(0)} MB/s`; // UTF-16 bytes scanned per µs = MB/s

function table(title, header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  console.log(`\n${title}`);
  console.log(header.map((h, i) => h.padEnd(widths[i])).join('  '));
  for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(widths[i])).join('  '));
}

// ---- CRS-style patterns on typical values ----
const words = ['select', 'union', 'insert', 'update', 'delete', 'drop', 'truncate', 'exec', 'declare', 'waitfor', 'benchmark', 'sleep', 'load_file', 'outfile', 'information_schema', 'sysobjects', 'xp_cmdshell', 'concat', 'group_concat', 'char', 'substring', 'ascii', 'having', 'order by', 'group by', 'case when', 'cast', 'convert', 'pg_sleep', 'dbms_pipe', 'utl_http', 'extractvalue', 'updatexml', 'sqlite_master', 'pg_catalog', 'msysobjects', 'shutdown', 'alter table', 'create table', 'into dumpfile'];
const patterns = [
  ['sqli keywords', String.raw`(?i)\b(?:union\s+(?:all\s+)?select|select\b.{0,40}\bfrom\b|insert\s+into|drop\s+table|information_schema|(?:sleep|benchmark|pg_sleep)\s*\()`],
  ['xss tags/handlers', String.raw`(?i)<(?:script|iframe|object|embed|svg|img|body)\b[^>]*>|\bon[a-z]{3,25}\s*=|javascript\s*:`],
  ['path traversal', String.raw`(?:\.\.[/\\]|%2e%2e(?:[/\\]|%2f|%5c))`],
  ['rce commands', String.raw`(?:[;|&` + '`' + String.raw`]|\$\()\s*(?:cat|ls|id|whoami|wget|curl|nc|bash|sh|python|perl)\b`],
  ['40-word alternation', `(?i)\\b(?:${words.map((w) => w.replace(/ /g, '\\s+')).join('|')})\\b`],
];
const benignQuery = 'q=best+pizza+near+me&page=2&sort=rating&filters=open_now%2Cdelivery&lang=en-US&session=9f2c1e7a44b0&utm_source=newsletter&utm_campaign=spring_sale';
const benignJson = JSON.stringify({ user: { name: "Conan O'Brien", email: 'conan@example.com', address: '1600 Pennsylvania Ave NW' }, items: Array.from({ length: 40 }, (_, i) => ({ sku: `SKU-${i}`, qty: i % 3, note: 'Leave at the door, please' })) });
const attack = "1' UNION ALL SELECT username, password FROM users-- <script>alert(1)</script> ../../etc/passwd; cat /etc/passwd";

const rows = [];
for (const [name, pattern] of patterns) {
  const jsPattern = pattern.startsWith('(?i)') ? pattern.slice(4) : pattern;
  const jsRe = new RegExp(jsPattern, pattern.startsWith('(?i)') ? 'i' : '');
  for (const [label, input] of [['query 160 B', benignQuery], [`json ${(benignJson.length / 1024).toFixed(1)} KiB`, benignJson], ['attack 110 B', attack]]) {
    const w = await wasmMicros(`test - ${hex(pattern)} ${hex(input)}`);
    const j = jsMicros(jsRe, input);
    rows.push([name, label, jsRe.test(input) ? 'match' : 'no match', fmt(w), fmt(j), (w / j).toFixed(1) + 'x', mbps(input.length, w)]);
  }
}
table('Regex test() on CRS-style patterns: meshward (wasm, lazy DFA) vs JS RegExp (V8, native)', ['pattern', 'input', 'result', 'meshward', 'JS RegExp', 'ratio', 'meshward scan'], rows);

// ---- The pathological pattern ----
const evil = '(a+)+$';
const prow = [];
for (const n of [1_000, 10_000, 100_000]) {
  const input = 'a'.repeat(n) + '!';
  const w = await wasmMicros(`test - ${hex(evil)} ${hex(input)}`);
  const we = await wasmMicros(`exec - ${hex(evil)} ${hex(input)}`);
  // JS only at 1k (given up after 2 s); 10k and 100k would only take longer.
  const js = n === 1_000 ? await jsMicrosLimited(evil, '', input, 2000) : undefined;
  const jsText = js === undefined ? 'not run (1k already over)' : js === null ? 'over 2 s (stopped)' : fmt(js);
  prow.push([`'a' x ${n.toLocaleString('en')} + '!'`, fmt(w), fmt(we), `${((w * 1000) / n).toFixed(2)} ns`, jsText]);
}
for (const n of [18, 22, 26]) {
  const input = 'a'.repeat(n) + '!';
  const js = await jsMicrosLimited(evil, '', input, 2000);
  const w = await wasmMicros(`test - ${hex(evil)} ${hex(input)}`);
  prow.push([`'a' x ${n} + '!'`, fmt(w), '', '', js === null ? 'over 2 s' : fmt(js)]);
}
table(`Pathological: ${evil} (no match). meshward is linear; JS RegExp backtracks exponentially`, ['input', 'meshward test', 'meshward exec', 'per char', 'JS RegExp test'], prow);

// ---- Detectors and phrase matcher ----
const drow = [];
const values = [
  ['benign name', "Conan O'Brien"],
  ['benign query', 'how to select a good watermelon from the store'],
  ['benign json 3 KiB', benignJson],
  ['sqli payload', "1' AND (SELECT * FROM (SELECT(SLEEP(5)))a)-- -"],
  ['xss payload', '"><svg/onload=alert(document.cookie)>'],
];
for (const [label, v] of values) {
  const s = await wasmMicros(`sqli ${hex(v)}`);
  const x = await wasmMicros(`xss ${hex(v)}`);
  drow.push([label, `${v.length}`, fmt(s), fmt(x)]);
}
table('Detectors per value (in the filter)', ['value', 'length', 'detectSQLi', 'detectXSS'], drow);

const phrases = Array.from({ length: 500 }, (_, i) => `scanner-${i.toString(36)}`).concat(['nikto', 'sqlmap', 'nessus', 'masscan', 'dirbuster']);
const ua = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const big = ua.repeat(40);
const prowPm = [];
for (const [label, input] of [['user agent 111 B', ua], ['4.4 KiB text', big]]) {
  const line = `pm i ${phrases.map(hex).join(',')} ${hex(input)}`;
  const w = await wasmMicros(line);
  const re = new RegExp(phrases.map((p) => p.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')).join('|'), 'i');
  const j = jsMicros(re, input);
  prowPm.push([label, fmt(w), fmt(j), mbps(input.length, w)]);
}
table('@pm with 505 phrases (Aho-Corasick) vs a JS RegExp alternation of the same phrases', ['input', 'meshward', 'JS RegExp', 'meshward scan'], prowPm);

host.close();
