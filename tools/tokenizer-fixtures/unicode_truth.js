// unicode_truth.js — per-code-point behaviour of Hugging Face's BertNormalizer / BertPreTokenizer,
// read from the official `tokenizers` bindings, for every Unicode scalar value (surrogates excluded).
// Writes (to the folder given as argv[2]):
//   unicode_classes.txt   "FIRST LAST N P" hex ranges; N = clean_text+chinese result of one char
//                          (D deleted, W -> space, C -> " c ", K kept); P = pre-tokenizer
//                          (S split as whitespace, P own punctuation token, N neither)
//   unicode_lowercase.txt "CP MAPPED..." where lowercase (Rust char::to_lowercase) != identity
//   unicode_strip.txt     "CP MAPPED..." (empty list = removed) where NFD + drop Mn != identity
'use strict';
const fs = require('fs');
const path = require('path');
const tk = require('tokenizers');

const outDir = process.argv[2];
const clean = tk.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: false });
const lower = tk.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: true });
const strip = tk.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false });
const pre = tk.bertPreTokenizer();

const hex = (cp) => cp.toString(16).toUpperCase().padStart(4, '0');
const cps = (s) => Array.from(s).map((c) => hex(c.codePointAt(0))).join(' ');

function normClass(c) {
  const n = clean.normalizeString(c);
  if (n === '') return 'D';
  if (n === ' ') return 'W';
  if (n === ' ' + c + ' ') return 'C';
  if (n === c) return 'K';
  throw new Error('unexpected normalization of U+' + hex(c.codePointAt(0)) + ': ' + JSON.stringify(n));
}
function preClass(c) {
  const pieces = pre.preTokenizeString('a' + c + 'b').map((p) => p[0]);
  if (pieces.length === 1) return 'N';
  if (pieces.length === 2 && pieces[0] === 'a' && pieces[1] === 'b') return 'S';
  if (pieces.length === 3 && pieces[1] === c) return 'P';
  throw new Error('unexpected pre-tokenization of U+' + hex(c.codePointAt(0)) + ': ' + JSON.stringify(pieces));
}

const ranges = [];
const lowers = [];
const strips = [];
for (let cp = 0; cp <= 0x10ffff; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  const c = String.fromCodePoint(cp);
  const cls = normClass(c) + ' ' + preClass(c);
  const last = ranges[ranges.length - 1];
  if (last && last.cls === cls && last.last === cp - 1) last.last = cp;
  else ranges.push({ first: cp, last: cp, cls });
  const l = lower.normalizeString(c);
  if (l !== c) lowers.push(hex(cp) + ' ' + cps(l));
  const s = strip.normalizeString(c);
  if (s !== c) strips.push((hex(cp) + ' ' + cps(s)).trimEnd());
}
// Surrogates cannot occur in UTF-8; give them their own class so the ranges stay contiguous.
fs.writeFileSync(path.join(outDir, 'unicode_classes.txt'),
  ranges.map((r) => hex(r.first) + ' ' + hex(r.last) + ' ' + r.cls).join('\n') + '\n');
fs.writeFileSync(path.join(outDir, 'unicode_lowercase.txt'), lowers.join('\n') + '\n');
fs.writeFileSync(path.join(outDir, 'unicode_strip.txt'), strips.join('\n') + '\n');
console.log(`unicode: ${ranges.length} ranges, ${lowers.length} lowercase, ${strips.length} strip entries`);
