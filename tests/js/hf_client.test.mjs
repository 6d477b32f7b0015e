// hf_client.test.mjs URL — Hugging Face's own JavaScript client (npm @huggingface/inference) against
// our /pipeline/text-classification route: what it sends ({inputs, parameters: {top_k,
// function_to_apply}}) is accepted and what we answer (a nested list for one input) it parses; the
// scores equal /predict's.
import assert from "node:assert/strict";
import { InferenceClient } from "@huggingface/inference";

const base = process.argv[2];
const client = new InferenceClient().endpoint(`${base}/pipeline/text-classification`);
const text = "I love this so much, best day ever";

async function predict(body) {
  const r = await fetch(`${base}/predict`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  assert.equal(r.status, 200);
  return r.json();
}
const close = (a, b) => Math.abs(a - b) < 1e-6;

// Every label, sorted, equal to TEI's /predict.
const tei = await predict({ inputs: text });
const all = await client.textClassification({ inputs: text });
assert.equal(all.length, tei.length);
all.forEach((p, i) => {
  assert.equal(p.label, tei[i].label);
  assert.ok(close(p.score, tei[i].score), `${p.score} vs ${tei[i].score}`);
});

// top_k, as the example.
const top2 = await client.textClassification({ inputs: text, parameters: { top_k: 2 } });
assert.deepEqual(top2.map((p) => p.label), tei.slice(0, 2).map((p) => p.label));

// function_to_apply: sigmoid and none against /predict's raw logits.
const raw = await predict({ inputs: text, raw_scores: true });
const logit = Object.fromEntries(raw.map((p) => [p.label, p.score]));
for (const p of await client.textClassification({ inputs: text, parameters: { function_to_apply: "sigmoid" } }))
  assert.ok(close(p.score, 1 / (1 + Math.exp(-logit[p.label]))), `sigmoid of ${p.label}`);
for (const p of await client.textClassification({ inputs: text, parameters: { function_to_apply: "none" } }))
  assert.ok(Math.abs(p.score - logit[p.label]) < 1e-5, `raw ${p.label}`);

// A bad parameter reaches the client as an error naming the field.
await assert.rejects(client.textClassification({ inputs: text, parameters: { top_k: 0 } }), /top_k/);

// TEI's routes are unchanged: /predict still answers the flat list the HF client refuses.
await assert.rejects(new InferenceClient().endpoint(`${base}/predict`).textClassification({ inputs: text }), /malformed/);
console.log("ok: @huggingface/inference textClassification against", base);
