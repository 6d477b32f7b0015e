// ort_peer.mjs — the ONNX Runtime peer of bench/run.sh: the same three inference measurements as
// bench/inference_bench.cpp and ../shared/reference/bench.py, on the DistilBERT classifier that
// ../shared/reference/ort/export_onnx.py exports (random weights, distilbert-base-cased shape).
//
//   node bench/ort_peer.mjs ORT_DIR MODEL.onnx LENGTHS.json latency|throughput|load [--threads 2]
//
// ORT_DIR: a scratch copy of ../shared/reference/ort after `ONNXRUNTIME_NODE_INSTALL=skip npm ci`
// (onnxruntime-node is loaded from there). LENGTHS.json: the token counts of the 1421 TweetEval
// emotion test tweets ([CLS]/[SEP] included), in file order.
// latency    : batch 1, the median length (27), median of 100 runs after 10 warm-up runs.
// throughput : all tweets, batches of 32 sorted by length, right-padded with attention_mask 0,
//              one warm-up batch, one timed pass.
// load       : InferenceSession.create (graph optimisation included), median of 3.
// latency also checks the model against MODEL.onnx.ref.json (PyTorch's logits, written by the
// exporters) when present: ref_max_abs_diff in the output.
// Session options as ../shared/reference/ort/bench.mjs: CPU EP, intra-op threads, 1 inter-op
// thread, sequential, graph optimisation 'all'. Prints one JSON line.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const [ortDir, modelPath, lengthsPath, what, ...rest] = process.argv.slice(2);
if (!what) {
  console.error('usage: node ort_peer.mjs ORT_DIR MODEL.onnx LENGTHS.json latency|throughput|load [--threads 2]');
  process.exit(2);
}
const ti = rest.indexOf('--threads');
const threads = ti >= 0 ? Number(rest[ti + 1]) : 2;
const ort = createRequire(path.join(path.resolve(ortDir), 'package.json'))('onnxruntime-node');
const lengths = JSON.parse(fs.readFileSync(lengthsPath, 'utf8'));
const VOCAB = 28996;
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };

function feeds(lens) {
  const B = lens.length, L = Math.max(...lens);
  const ids = new BigInt64Array(B * L), mask = new BigInt64Array(B * L);
  lens.forEach((n, b) => {
    for (let t = 0; t < n; t++) {
      ids[b * L + t] = t === 0 ? 101n : t === n - 1 ? 102n : BigInt(1000 + Math.floor(rand() * (VOCAB - 1000)));
      mask[b * L + t] = 1n;
    }
  });
  return { input_ids: new ort.Tensor('int64', ids, [B, L]), attention_mask: new ort.Tensor('int64', mask, [B, L]) };
}

const options = { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
                  executionMode: 'sequential', graphOptimizationLevel: 'all' };
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;
const out = { threads };
if (what === 'load') {
  const ts = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const s = await ort.InferenceSession.create(modelPath, options);
    ts.push(performance.now() - t0);
    await s.release?.();
  }
  Object.assign(out, { what: 'load', median_ms: median(ts), first_ms: ts[0] });
} else {
  const session = await ort.InferenceSession.create(modelPath, options);
  if (what === 'latency') {
    if (fs.existsSync(modelPath + '.ref.json')) {
      const ref = JSON.parse(fs.readFileSync(modelPath + '.ref.json', 'utf8'));
      const [B, T] = [ref.input_ids.length, ref.input_ids[0].length];
      const int64 = (rows) => new ort.Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [B, T]);
      const got = (await session.run({ input_ids: int64(ref.input_ids), attention_mask: int64(ref.attention_mask) })).logits.data;
      out.ref_max_abs_diff = Math.max(...ref.logits.flat().map((v, i) => Math.abs(v - got[i])));
    }
    const L = Math.floor(median(lengths));
    const f = feeds([L]);
    const ts = [];
    for (let i = 0; i < 110; i++) {
      const t0 = performance.now();
      await session.run(f);
      if (i >= 10) ts.push(performance.now() - t0);
    }
    ts.sort((a, b) => a - b);
    Object.assign(out, { what: 'latency', seq_len: L, iters: ts.length, median_ms: median(ts),
                         p90_ms: ts[Math.floor(0.9 * (ts.length - 1))], min_ms: ts[0] });
  } else if (what === 'throughput') {
    const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
    const batches = [];
    for (let s = 0; s < order.length; s += 32) batches.push(feeds(order.slice(s, s + 32).map((i) => lengths[i])));
    await session.run(batches[Math.floor(batches.length / 2)]);
    const t0 = performance.now();
    for (const f of batches) await session.run(f);
    const dt = (performance.now() - t0) / 1000;
    Object.assign(out, { what: 'throughput_sorted', batch: 32, tweets: lengths.length, seconds: dt,
                         tweets_per_s: lengths.length / dt });
  } else {
    console.error(`unknown measurement ${what}`);
    process.exit(2);
  }
}
out.peak_rss_mb = peakRssMb();
console.log(JSON.stringify(out));
