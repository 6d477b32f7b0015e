// tokenizer_peer.js — bert-emotion's tokenizer vs Hugging Face's `tokenizers` (npm, Rust core)
// on all 5052 TweetEval emotion tweets, single-threaded, interleaved rounds; run through
// bench/tokenizer_peer.sh. Usage: node tokenizer_peer.js BENCH_BINARY SHARED_DIR ROUNDS [MODEL_DIR]
// (MODEL_DIR's tokenizer.json; the bench binary reads TOKENIZER_BENCH_MODEL, set by the .sh)
// Times are CPU seconds of the process (the machine is shared; wall time is printed too).
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { Tokenizer } = require('tokenizers');

const [bench, shared, roundsArg, modelArg] = process.argv.slice(2);
const modelDir = modelArg || path.join(shared, 'models/distilbert-base-cased');
const rounds = Number(roundsArg || 3);
const texts = [];
for (const split of ['train', 'val', 'test']) {
  const lines = fs.readFileSync(path.join(shared, 'data/tweeteval/datasets/emotion', `${split}_text.txt`), 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  texts.push(...lines);
}
const tok = Tokenizer.fromFile(path.join(modelDir, 'tokenizer.json'));
tok.setTruncation(512);

function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function timeNode(kind) {
  // One warm-up pass, then passes until >= 1 s CPU; seconds per pass over all tweets.
  const pass = async () => {
    if (kind === 'encode') {
      for (const t of texts) await tok.encode(t);
    } else {
      await tok.encodeBatch(texts);
    }
  };
  await pass();
  let n = 0;
  const c0 = cpuSeconds(), w0 = process.hrtime.bigint();
  do {
    await pass();
    n++;
  } while (cpuSeconds() - c0 < 1.0);
  return { cpu: (cpuSeconds() - c0) / n, wall: Number(process.hrtime.bigint() - w0) / 1e9 / n };
}

function timeCpp() {
  const out = execFileSync(bench, ['--benchmark_filter=BM_EncodeFull|BM_EncodeIds', '--benchmark_format=json'],
                           { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const res = {};
  for (const b of JSON.parse(out).benchmarks) {
    const scale = { ms: 1e-3, us: 1e-6, ns: 1e-9, s: 1 }[b.time_unit];
    res[b.name.split('/')[0]] = { cpu: b.cpu_time * scale, wall: b.real_time * scale };
  }
  return res;
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  const rows = { 'bert-emotion encode (full Encoding)': [], 'bert-emotion encode_ids': [],
                 'npm tokenizers encode loop': [], 'npm tokenizers encodeBatch': [] };
  const walls = {};
  for (const k of Object.keys(rows)) walls[k] = [];
  for (let r = 0; r < rounds; r++) {
    const cpp = timeCpp();
    const a = await timeNode('encode');
    const b = await timeNode('batch');
    const put = (k, v) => { rows[k].push(v.cpu); walls[k].push(v.wall); };
    put('bert-emotion encode (full Encoding)', cpp.BM_EncodeFull);
    put('bert-emotion encode_ids', cpp.BM_EncodeIds);
    put('npm tokenizers encode loop', a);
    put('npm tokenizers encodeBatch', b);
  }
  console.log(`${path.basename(modelDir)}: ${texts.length} TweetEval emotion tweets, 1 thread, median of ${rounds} interleaved rounds (CPU ms per pass; wall ms)`);
  const med = {};
  for (const [k, v] of Object.entries(rows)) {
    med[k] = median(v);
    console.log(`  ${k.padEnd(38)} ${(med[k] * 1e3).toFixed(2).padStart(9)} ms  (wall ${(median(walls[k]) * 1e3).toFixed(2)} ms)`);
  }
  const ours = med['bert-emotion encode (full Encoding)'];
  console.log(`ratio npm encodeBatch / bert-emotion encode: ${(med['npm tokenizers encodeBatch'] / ours).toFixed(2)}x`);
  console.log(`ratio npm encode loop / bert-emotion encode: ${(med['npm tokenizers encode loop'] / ours).toFixed(2)}x`);
  console.log(`(>1 means bert-emotion is faster)`);
})();
