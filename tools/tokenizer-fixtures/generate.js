// generate.js — expected outputs of Hugging Face's official `tokenizers` bindings for the C++
// tokenizer tests. Usage: node generate.js SHARED_DIR FIXTURE_DIR
// Offsets: the bindings report code point offsets; we convert them to byte offsets in the UTF-8
// input, which is what bert-emotion reports.
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

const [sharedDir, outDir] = process.argv.slice(2);
const casedJson = path.join(sharedDir, 'models/distilbert-base-cased/tokenizer.json');
const dataDir = path.join(sharedDir, 'data/tweeteval/datasets/emotion');

function readLines(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

// code point offset -> byte offset, per input string
function byteOffsets(text) {
  const table = [0];
  let bytes = 0;
  for (const ch of text) {
    bytes += Buffer.byteLength(ch, 'utf8');
    table.push(bytes);
  }
  return table;
}

function record(enc, a, b, full) {
  const ids = enc.getIds();
  if (!full) return { ids };
  const ta = byteOffsets(a), tb = b === undefined ? null : byteOffsets(b);
  const seq = enc.getSequenceIds();
  const offsets = enc.getOffsets().map(([s, e], i) => {
    const t = seq[i] === 1 ? tb : ta;
    if (seq[i] === null || seq[i] === undefined) return [0, 0];
    return [t[s], t[e]];
  });
  return {
    ids, tokens: enc.getTokens(), offsets,
    special_tokens_mask: enc.getSpecialTokensMask(), type_ids: enc.getTypeIds(),
  };
}

async function encodeAll(tok, texts, full, maxLength) {
  if (maxLength) tok.setTruncation(maxLength); else tok.disableTruncation();
  const out = [];
  for (const t of texts) out.push(record(await tok.encode(t), t, undefined, full));
  return out;
}

function write(name, rows) {
  fs.writeFileSync(path.join(outDir, name), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  console.log(`${name}: ${rows.length} lines`);
}

async function main() {
  // The uncased variant: the cased file with lowercase on (strip_accents null -> accents stripped).
  const cased = JSON.parse(fs.readFileSync(casedJson, 'utf8'));
  const uncased = JSON.parse(JSON.stringify(cased));
  uncased.normalizer.lowercase = true;
  const uncasedPath = path.join(outDir, 'uncased/tokenizer.json');
  fs.mkdirSync(path.dirname(uncasedPath), { recursive: true });
  fs.writeFileSync(uncasedPath, JSON.stringify(uncased));

  // lowercase without accent stripping exercises full lowercasing ('İ' -> "i̇"); the test derives
  // the same file from the uncased one (strip_accents: false), so it is not committed.
  const lowerNoStrip = JSON.parse(JSON.stringify(uncased));
  lowerNoStrip.normalizer.strip_accents = false;
  const lowerNoStripPath = path.join(require('os').tmpdir(), `lower_nostrip_${process.pid}.json`);
  fs.writeFileSync(lowerNoStripPath, JSON.stringify(lowerNoStrip));

  const hard = readLines(path.join(outDir, 'hard_cases.txt'));
  write('hard_cases_lower_nostrip.jsonl', await encodeAll(Tokenizer.fromFile(lowerNoStripPath), hard, true, 512));
  fs.unlinkSync(lowerNoStripPath);

  // Added tokens with every flag (lstrip, rstrip, single_word, normalized), on the uncased file;
  // the test builds the same file from uncased/tokenizer.json + added_tokens_extra.json.
  const withAdded = JSON.parse(JSON.stringify(uncased));
  withAdded.added_tokens.push(...JSON.parse(fs.readFileSync(path.join(outDir, 'added_tokens_extra.json'), 'utf8')));
  const withAddedPath = path.join(require('os').tmpdir(), `added_${process.pid}.json`);
  fs.writeFileSync(withAddedPath, JSON.stringify(withAdded));
  const addedTexts = [...readLines(path.join(outDir, 'added_cases.txt')), ...hard];
  write('added_tokens_uncased.jsonl', await encodeAll(Tokenizer.fromFile(withAddedPath), addedTexts, true, 512));
  fs.unlinkSync(withAddedPath);

  const variants = { cased: casedJson, uncased: uncasedPath };
  for (const [name, file] of Object.entries(variants)) {
    const tok = Tokenizer.fromFile(file);
    for (const split of ['train', 'val', 'test']) {
      const texts = readLines(path.join(dataDir, `${split}_text.txt`));
      // The model maximum (512) of the file's truncation settings, as encode() uses by default.
      write(`tweeteval_${split}_${name}.jsonl`, await encodeAll(tok, texts, false, 512));
    }
    write(`hard_cases_${name}.jsonl`, await encodeAll(tok, hard, true, 512));
    write(`hard_cases_${name}_notrunc.jsonl`, await encodeAll(tok, hard, false, 0));
    // Truncation at small max_length.
    const val = readLines(path.join(dataDir, 'val_text.txt'));
    const rows = [];
    for (const m of [8, 16]) {
      for (const [i, r] of (await encodeAll(tok, val, false, m)).entries()) rows.push({ source: 'val', line: i, max_length: m, ids: r.ids });
      for (const [i, r] of (await encodeAll(tok, hard, false, m)).entries()) rows.push({ source: 'hard', line: i, max_length: m, ids: r.ids });
    }
    write(`truncation_${name}.jsonl`, rows);
    // Pairs, default and small max_length (LongestFirst): ids, tokens and offsets at the default
    // length, ids and type ids at the small ones.
    const pairs = [];
    const sources = [...hard, ...val.slice(0, 60)];
    for (const m of [0, 8, 13, 16, 32]) {
      if (m) tok.setTruncation(m); else tok.setTruncation(512);
      // Texts by reference: line L of hard_cases.txt, or of val_text.txt for L >= hard.length.
      const ref = (k) => (k < hard.length ? ['hard', k] : ['val', k - hard.length]);
      for (let i = 0; i < sources.length; i++) {
        const j = (i * 7 + 3) % sources.length;
        const a = sources[i], b = sources[j];
        const r = record(await tok.encode(a, b), a, b, true);
        const row = { a: ref(i), b: ref(j), max_length: m };
        if (m) pairs.push({ ...row, ids: r.ids, type_ids: r.type_ids });
        else pairs.push({ ...row, ...r });
      }
    }
    write(`pairs_${name}.jsonl`, pairs);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
