// bpe_hard_cases.js — writes the byte-level BPE hard cases (one text per "\n"-separated line),
// added to hard_cases.txt's lines by generate_bpe.js. Escapes keep the file's bytes reviewable.
// Usage: node bpe_hard_cases.js OUT.txt
'use strict';
const fs = require('fs');

const cases = [
  '',
  ' ',
  '   ',
  // runs of spaces, tabs and newlines: \s+(?!\S) leaves the last space to the next word
  'a   b',
  '   leading spaces',
  'trailing spaces   ',
  'a \t b\t\tc \u3000 d',
  'tabs\t\tand\ttabs\t',
  'spaces  \u00a0 \u2009mixed\u2028\u0085end',
  ' \u3000x',
  // <mask> (lstrip) and other specials inside the text
  'Hello <mask>!',
  'a  <mask> b',
  '<mask>',
  ' <mask>',
  '\t<mask>\t',
  'x\u00a0<mask>y',
  'a\u3000<mask>b',
  'a\u3000\u3000<mask>',
  '<mask><mask> <mask>',
  'word<mask>word',
  '<s>hello</s>',
  'a </s> b <pad> c <unk>',
  '<s <s>> </s</s>',
  '<MASK> <Mask>',
  // contractions, lowercase only; 'S and friends are not
  "it's I'm you're we've they'll he'd can't",
  "IT'S I'M YOU'RE WE'VE THEY'LL HE'D CAN'T",
  "'s 'S 'sup 're're ''s",
  "O'Reilly's rock'n'roll",
  '\u2019s it\u2019s',
  // numbers and URLs
  'numbers 123 4567 3.14 1,000,000 -5 +6',
  '\u0663\u0664\u0665 \u00bd \u00b2 \u2160 12abc34',
  'https://t.co/AbC123xyz @user_name #hashtag',
  'www.example.com/path?q=1&x=2#frag email@example.org',
  // emoji and ZWJ sequences
  '\u{1F602}\u{1F602}\u{1F602}',
  ' \u{1F468}\u200D\u{1F469}\u200D\u{1F467} \u{1F44D}\u{1F3FD}',
  'I\'m SO happy!!! \u{1F60D}\u{1F60D} #blessed \u2764\uFE0F',
  // letters and digits Unicode 16 added (letters/digits for HF's Oniguruma)
  'x\u1C89y \u{105C0}\u{105C1} \u{10D40}\u{10D41} \u{16100}',
  // categories at the edges of the classes
  'marks e\u0301\u0302 \u0903x \u20dd',
  'ctrl \u0000\u0001\u001c\u001f\u007f end',
  'zw\u200b\u200c\u200d\ufeff\u00ad\u180e',
  'private \uE000 \u{F0000} unassigned \u0378 \u{10FFFF}',
  'supercalifragilisticexpialidocious antidisestablishmentarianism',
  'a'.repeat(300),
  '!!!???...,,,;;;',
  'ÀÉÎÕÜ àéîõü ñ ç ß œ æ ø å',
];
fs.writeFileSync(process.argv[2], cases.join('\n') + '\n');
console.log(`bpe hard cases: ${cases.length} lines`);
