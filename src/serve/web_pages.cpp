// web_pages.cpp — the two HTML pages (markup, style and script inline); see web_pages.hpp.
#include "serve/web_pages.hpp"

namespace bert_emotion::serve {

namespace {

constexpr std::string_view kIndex = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bert-emotion</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; max-width: 860px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: .2em; }
#model { color: #555; margin-top: 0; }
textarea { width: 100%; height: 8em; font: inherit; box-sizing: border-box; padding: .4em; }
button { font: inherit; padding: .3em 1.4em; margin: .5em .5em .5em 0; }
#status { color: #666; font-size: 13px; }
.row { border-top: 1px solid #ddd; padding: .7em 0; }
.text { font-weight: 600; margin-bottom: .35em; white-space: pre-wrap; overflow-wrap: anywhere; }
.bar { display: grid; grid-template-columns: 10em 1fr 4.5em; align-items: center; gap: .6em; font-size: 13px; }
.track { background: #eee; height: .85em; border-radius: 3px; overflow: hidden; }
.fill { background: #7d9fd8; height: 100%; }
.bar.top .fill { background: #e07b39; }
.score { text-align: right; font-variant-numeric: tabular-nums; }
.error { color: #b00020; }
</style>
</head>
<body>
<h1>bert-emotion</h1>
<p id="model">&nbsp;</p>
<textarea id="input" placeholder="Type or paste tweets, one per line"></textarea>
<div><button id="classify">Classify</button><span id="status"></span></div>
<div id="results"></div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let maxBatch = 32;
fetch("info").then((r) => r.json()).then((info) => {
  maxBatch = info.max_client_batch_size || maxBatch;
  const labels = Object.values(info.model_type.classifier.id2label);
  $("model").textContent = info.model_id + ": " + labels.join(", ");
}).catch(() => {});

function render(text, predictions) {
  const row = document.createElement("div");
  row.className = "row";
  const t = document.createElement("div");
  t.className = "text";
  t.textContent = text;
  row.append(t);
  predictions.forEach((p, i) => {
    const bar = document.createElement("div");
    bar.className = i === 0 ? "bar top" : "bar";
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = p.label;
    const track = document.createElement("div");
    track.className = "track";
    const fill = document.createElement("div");
    fill.className = "fill";
    fill.style.width = Math.max(0, Math.min(100, 100 * p.score)).toFixed(1) + "%";
    track.append(fill);
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = p.score.toFixed(3);
    bar.append(label, track, score);
    row.append(bar);
  });
  $("results").append(row);
}

async function classify() {
  const lines = $("input").value.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  $("results").textContent = "";
  $("status").textContent = lines.length ? "classifying..." : "";
  try {
    for (let i = 0; i < lines.length; i += maxBatch) {
      const chunk = lines.slice(i, i + maxBatch);
      const r = await fetch("predict", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ inputs: chunk.map((line) => [line]), truncate: true }),
      });
      const body = await r.json();
      if (!r.ok) throw new Error(body.error || r.statusText);
      body.forEach((predictions, k) => render(chunk[k], predictions));
    }
    $("status").textContent = lines.length ? lines.length + (lines.length === 1 ? " line" : " lines") : "";
  } catch (e) {
    $("status").textContent = "";
    const err = document.createElement("div");
    err.className = "error";
    err.textContent = "Error: " + e.message;
    $("results").append(err);
  }
}
$("classify").addEventListener("click", classify);
$("input").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) classify(); });
</script>
</body>
</html>
)html";

constexpr std::string_view kDocs = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bert-emotion API</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; max-width: 960px; margin: 2em auto; padding: 0 1em; color: #222; }
.op { border: 1px solid #ddd; border-radius: 4px; margin: .8em 0; padding: .6em .9em; }
.method { font-weight: 700; display: inline-block; min-width: 4em; }
.path { font-family: monospace; font-size: 1.05em; }
pre { background: #f6f6f6; padding: .5em; overflow-x: auto; font-size: 12px; }
td { padding: .1em .8em .1em 0; vertical-align: top; }
</style>
</head>
<body>
<h1 id="title">API</h1>
<p id="description"></p>
<p>The machine-readable document: <a href="openapi.json">openapi.json</a> (OpenAPI 3).</p>
<div id="paths"></div>
<h2>Schemas</h2>
<div id="schemas"></div>
<script>
"use strict";
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
const refName = (o) => (o && o.$ref ? o.$ref.split("/").pop() : null);
fetch("openapi.json").then((r) => r.json()).then((doc) => {
  document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
  document.getElementById("description").textContent = doc.info.description;
  const c = doc.components;
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const box = el("div", "op");
      box.append(el("span", "method", method.toUpperCase()), el("span", "path", path), el("p", "", op.summary));
      if (op.requestBody) {
        const body = c.requestBodies[refName(op.requestBody)] || op.requestBody;
        const schema = body.content["application/json"].schema;
        box.append(el("div", "", "Request body: " + (refName(schema) || "")), el("pre", "", JSON.stringify(c.schemas[refName(schema)] || schema, null, 2)));
      }
      const table = el("table");
      for (const [status, resp] of Object.entries(op.responses)) {
        const r = c.responses[refName(resp)] || resp;
        const tr = el("tr");
        tr.append(el("td", "", status), el("td", "", r.description));
        table.append(tr);
      }
      box.append(table);
      document.getElementById("paths").append(box);
    }
  }
  for (const [name, schema] of Object.entries(c.schemas)) {
    document.getElementById("schemas").append(el("h3", "", name), el("pre", "", JSON.stringify(schema, null, 2)));
  }
});
</script>
</body>
</html>
)html";

}  // namespace

std::string_view index_page() { return kIndex; }
std::string_view docs_page() { return kDocs; }

}  // namespace bert_emotion::serve
