// generate_bpe.js — expected outputs of Hugging Face's official `tokenizers` bindings for the
// byte-level BPE (RoBERTa layout) tests, from SHARED/models/roberta-bpe-test/tokenizer.json.
// Usage: node generate_bpe.js SHARED_DIR FIXTURE_DIR (writes FIXTURE_DIR/bpe/*.jsonl)
// Texts: the TweetEval emotion splits, FIXTURE_DIR/hard_cases.txt + FIXTURE_DIR/bpe/hard_cases.txt.
// Offsets are converted from the bindings' code point offsets to byte offsets (as generate.js).
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

const [sharedDir, fixtureDir] = process.argv.slice(2);
const outDir = path.join(fixtureDir, 'bpe');
const dataDir = path.join(sharedDir, 'data/tweeteval/datasets/emotion');

function readLines(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

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
    if (seq[i] === null || seq[i] === undefined) return [0, 0];
    const t = seq[i] === 1 ? tb : ta;
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
  console.log(`bpe/${name}: ${rows.length} lines`);
}

async function main() {
  const tok = Tokenizer.fromFile(path.join(sharedDir, 'models/roberta-bpe-test/tokenizer.json'));
  const hard = [...readLines(path.join(fixtureDir, 'hard_cases.txt')), ...readLines(path.join(outDir, 'hard_cases.txt'))];
  const val = readLines(path.join(dataDir, 'val_text.txt'));
  for (const split of ['train', 'val', 'test']) {
    const texts = readLines(path.join(dataDir, `${split}_text.txt`));
    // model_max_length 512 (tokenizer_config.json), as encode() uses by default; full records
    // (tokens, offsets, masks, type ids) for val, ids for the larger splits.
    write(`tweeteval_${split}.jsonl`, await encodeAll(tok, texts, split === 'val', 512));
  }
  write('hard_cases.jsonl', await encodeAll(tok, hard, true, 512));
  write('hard_cases_notrunc.jsonl', await encodeAll(tok, hard, false, 0));
  const rows = [];
  for (const m of [3, 8, 16]) {
    for (const [i, r] of (await encodeAll(tok, val, false, m)).entries()) rows.push({ source: 'val', line: i, max_length: m, ids: r.ids });
    for (const [i, r] of (await encodeAll(tok, hard, false, m)).entries()) rows.push({ source: 'hard', line: i, max_length: m, ids: r.ids });
  }
  write('truncation.jsonl', rows);
  // Pairs (LongestFirst): full records at 512, ids and type ids at small lengths.
  const pairs = [];
  const sources = [...hard, ...val.slice(0, 60)];
  const ref = (k) => (k < hard.length ? ['hard', k] : ['val', k - hard.length]);
  for (const m of [0, 7, 12, 16, 32]) {
    tok.setTruncation(m || 512);
    for (let i = 0; i < sources.length; i++) {
      const j = (i * 7 + 3) % sources.length;
      const r = record(await tok.encode(sources[i], sources[j]), sources[i], sources[j], true);
      const row = { a: ref(i), b: ref(j), max_length: m };
      pairs.push(m ? { ...row, ids: r.ids, type_ids: r.type_ids } : { ...row, ...r });
    }
  }
  write('pairs.jsonl', pairs);
}

main().catch((e) => { console.error(e); process.exit(1); });
