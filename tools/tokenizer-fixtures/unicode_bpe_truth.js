// unicode_bpe_truth.js — how Hugging Face's ByteLevel pre-tokenizer (GPT-2's split pattern, run by
// Oniguruma in the official `tokenizers` bindings) classifies every Unicode scalar value.
// Writes FIXTURE_DIR/unicode_bpe_classes.txt: "FIRST LAST C" hex ranges, C one of
//   L  \p{L} (joins a letter run: "a"+c is one piece)
//   N  \p{N} ("1"+c is one piece)
//   O  [^\s\p{L}\p{N}] ("!"+c is one piece)
//   S  \s (" "+c is one piece and c is none of the above)
// Surrogates are skipped (they cannot occur in UTF-8). Usage: node unicode_bpe_truth.js FIXTURE_DIR
'use strict';
const fs = require('fs');
const path = require('path');
const tk = require('tokenizers');

const outDir = process.argv[2];
const pre = tk.byteLevelPreTokenizer(false, true);
const hex = (cp) => cp.toString(16).toUpperCase().padStart(4, '0');
const onePiece = (s) => pre.preTokenizeString(s).length === 1;

function bpeClass(c) {
  if (onePiece('a' + c)) return 'L';
  if (onePiece('1' + c)) return 'N';
  if (onePiece('!' + c)) return 'O';
  if (onePiece(' ' + c)) return 'S';
  throw new Error('unexpected pre-tokenization of U+' + hex(c.codePointAt(0)));
}

const ranges = [];
for (let cp = 0; cp <= 0x10ffff; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  const cls = bpeClass(String.fromCodePoint(cp));
  const last = ranges[ranges.length - 1];
  if (last && last.cls === cls && last.last === cp - 1) last.last = cp;
  else ranges.push({ first: cp, last: cp, cls });
}
fs.writeFileSync(path.join(outDir, 'unicode_bpe_classes.txt'),
  ranges.map((r) => hex(r.first) + ' ' + hex(r.last) + ' ' + r.cls).join('\n') + '\n');
console.log(`unicode_bpe_classes.txt: ${ranges.length} ranges`);
