// multilabel_client.test.mjs URL — a multi-label model (run_with_server.sh writes its thresholds.json:
// anger 0.3, joy 0.45, optimism 0.5, sadness 0.55) through Hugging Face's own client (npm
// @huggingface/inference) and plain /predict: the answers keep TEI's and the pipeline's shape (the
// client accepts them), every entry adds `threshold` and `passing`, and `passing` is exactly
// sigmoid(logit) > threshold; /info reports the problem type and the thresholds.
import assert from "node:assert/strict";
import { InferenceClient } from "@huggingface/inference";

const base = process.argv[2];
const thresholds = { anger: 0.3, joy: 0.45, optimism: 0.5, sadness: 0.55 };
const texts = ["I love this so much, best day ever", "this is awful and I am furious", "meh", "so sad today"];

async function post(path, body) {
  const r = await fetch(`${base}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  assert.equal(r.status, 200, await r.clone().text());
  return r.json();
}
const sigmoid = (x) => 1 / (1 + Math.exp(-x));

const info = await (await fetch(`${base}/info`)).json();
assert.equal(info.problem_type, "multi_label_classification");
assert.deepEqual(info.thresholds, thresholds);

const client = new InferenceClient().endpoint(`${base}/pipeline/text-classification`);
let passed = 0, failed = 0;
for (const text of texts) {
  const raw = await post("/predict", { inputs: text, raw_scores: true });
  const logit = Object.fromEntries(raw.map((p) => [p.label, p.score]));
  const check = (list, what) => {
    for (const p of list) {
      assert.equal(p.threshold, thresholds[p.label], `${what} ${p.label} threshold`);
      assert.equal(p.passing, sigmoid(logit[p.label]) > thresholds[p.label], `${what} ${p.label} passing`);
    }
  };
  check(raw, "raw /predict");
  const tei = await post("/predict", { inputs: text });
  check(tei, "/predict");
  for (const p of tei) assert.ok(Math.abs(p.score - sigmoid(logit[p.label])) < 1e-6, `sigmoid score of ${p.label}`);
  const hf = await client.textClassification({ inputs: text });
  assert.equal(hf.length, 4);
  check(hf, "@huggingface/inference");
  passed += hf.filter((p) => p.passing).length;
  failed += hf.filter((p) => !p.passing).length;
}
// The random model's sigmoids sit near 0.5: the thresholds above and below it split them.
assert.ok(passed > 0 && failed > 0, `passing ${passed}, not passing ${failed}: the thresholds decide nothing`);
console.log(`ok: multi-label answers through @huggingface/inference (${passed} passing, ${failed} not)`);
