// openapi.test.mjs URL — GET /openapi.json is a valid OpenAPI 3 document (npm
// @apidevtools/swagger-parser validates it, $refs resolved), every documented operation is answered
// (not 404/405) and an undocumented one is not; /docs renders it without external requests.
import assert from "node:assert/strict";
import SwaggerParser from "@apidevtools/swagger-parser";

const base = process.argv[2];
const r = await fetch(`${base}/openapi.json`);
assert.equal(r.status, 200);
const doc = await r.json();
const api = await SwaggerParser.validate(structuredClone(doc));
assert.match(api.openapi, /^3\./);

const operations = [];
for (const [path, ops] of Object.entries(api.paths)) for (const method of Object.keys(ops)) operations.push([method.toUpperCase(), path]);
assert.ok(operations.length >= 12, `only ${operations.length} operations documented`);
for (const [method, path] of operations) {
  const init = { method, headers: { Accept: "text/html" } };
  if (method === "POST") Object.assign(init, { headers: { "Content-Type": "application/json" }, body: JSON.stringify({ inputs: "hello" }) });
  const res = await fetch(base + path, init);
  assert.ok(res.status !== 404 && res.status !== 405, `${method} ${path} documented but answered ${res.status}`);
  const documented = Object.keys(api.paths[path][method.toLowerCase()].responses);
  assert.ok(documented.includes(String(res.status)), `${method} ${path} answered ${res.status}, not documented (${documented})`);
  // Every error status documented has the error body.
  for (const status of documented.filter((s) => s >= 400)) {
    const schema = api.paths[path][method.toLowerCase()].responses[status].content["application/json"].schema;
    assert.deepEqual(schema.required, ["error", "error_type"], `${method} ${path} ${status}`);
  }
}
// Not documented, not answered.
for (const [method, path] of [["GET", "/predict"], ["POST", "/health"], ["GET", "/embed"]]) {
  const res = await fetch(base + path, { method, body: method === "POST" ? "{}" : undefined });
  assert.ok(res.status === 404 || res.status === 405, `${method} ${path} answered ${res.status}`);
}
// The docs page: served, and self-contained (no http(s):// script, style or link).
const page = await (await fetch(`${base}/docs`)).text();
assert.match(page, /openapi\.json/);
assert.doesNotMatch(page, /(src|href)="https?:/);
console.log(`ok: ${operations.length} operations, a valid OpenAPI ${api.openapi} document`);
