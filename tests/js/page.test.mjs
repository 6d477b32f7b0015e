// page.test.mjs URL TMP — GET / in headless Chromium (Debian's `chromium`, driven by npm
// puppeteer-core): the page loads with no request leaving the server, text typed into it is
// classified through /predict, one row per line with every label's score as a bar, equal to
// /predict's answer; saves a screenshot (TMP/page.png, and docs/serving-page.png when
// BERT_EMOTION_UPDATE_SCREENSHOT=1).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

const [base, tmp] = process.argv.slice(2);
const browserPath = ["/usr/bin/chromium", "/usr/bin/chromium-headless-shell", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));
if (!browserPath) {
  console.log("!!!!!!!!!! SKIPPED page.test.mjs: no Chromium (apt-get install chromium; scripts/install-deps.sh does) !!!!!!!!!!");
  process.exit(77);
}
const lines = ["I love this so much, best day ever!", "Why does everything go wrong today", "ok"];
const browser = await puppeteer.launch({
  executablePath: browserPath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 900, height: 760 });
  const foreign = [];
  page.on("request", (req) => { if (!req.url().startsWith(base)) foreign.push(req.url()); });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const response = await page.goto(`${base}/`, { waitUntil: "networkidle0" });
  assert.equal(response.status(), 200);
  assert.match(response.headers()["content-type"], /text\/html/);
  await page.type("#input", lines.join("\n"));
  await page.click("#classify");
  await page.waitForFunction((n) => document.querySelectorAll(".row").length === n, { timeout: 30000 }, lines.length);
  const rows = await page.$$eval(".row", (rs) => rs.map((r) => ({
    text: r.querySelector(".text").textContent,
    bars: [...r.querySelectorAll(".bar")].map((b) => ({
      label: b.querySelector(".label").textContent,
      score: Number(b.querySelector(".score").textContent),
      width: parseFloat(b.querySelector(".fill").style.width),
    })),
  })));
  const expected = await (await fetch(`${base}/predict`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ inputs: lines.map((l) => [l]), truncate: true }),
  })).json();
  assert.equal(rows.length, lines.length);
  rows.forEach((row, i) => {
    assert.equal(row.text, lines[i]);
    assert.equal(row.bars.length, expected[i].length, "every label is shown");
    row.bars.forEach((bar, k) => {
      assert.equal(bar.label, expected[i][k].label);
      assert.ok(Math.abs(bar.score - expected[i][k].score) < 0.0006, `${bar.score} vs ${expected[i][k].score}`);
      assert.ok(Math.abs(bar.width - 100 * expected[i][k].score) < 0.06, `bar width ${bar.width}`);
    });
  });
  assert.deepEqual(foreign, [], "the page made requests outside the server");
  assert.deepEqual(errors, []);
  await page.screenshot({ path: path.join(tmp, "page.png") });
  if (process.env.BERT_EMOTION_UPDATE_SCREENSHOT === "1") {
    const docs = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "docs", "serving-page.png");
    fs.copyFileSync(path.join(tmp, "page.png"), docs);
  }
  console.log(`ok: ${rows.length} rows rendered in ${browserPath}`);
} finally {
  await browser.close();
}
