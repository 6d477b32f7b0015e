// hard_cases.js — writes the hard-case tokenizer input (one text per "\n"-separated line).
// Every case is written with escapes here so the file's exact bytes are reviewable.
'use strict';
const fs = require('fs');

const long_word = 'a'.repeat(101);                          // 101 chars: one [UNK]
const word_100 = 'b'.repeat(100);                           // exactly the limit
const combining_100 = 'e\u0301'.repeat(50) + 'x';           // 101 code points, 51 "letters"
const many_tokens = Array.from({ length: 320 }, (_, i) => `word${i}!`).join(' ');  // > 600 tokens
const many_cjk = '\u4f60\u597d'.repeat(350);                // 700 ideographs -> 700 tokens

const cases = [
  // emoji, ZWJ sequences, skin tones, flags
  'I love this! \u{1F600}\u{1F602}\u{1F60D}',
  'family \u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466} and \u{1F3F3}\uFE0F\u200D\u{1F308}',
  'thumbs \u{1F44D}\u{1F3FD} wave \u{1F44B}\u{1F3FF}',
  'flags \u{1F1FA}\u{1F1F8}\u{1F1EC}\u{1F1E7} \u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}',
  'emoji\u{1F600}glued\u{1F525}to\u2764\uFE0Fwords',
  // CJK inside and outside the BMP, kana, Hangul, Arabic
  '\u6211\u7231\u5317\u4eac\u5929\u5b89\u95e8',
  'mixed\u4e2d\u6587text \u{20000}\u{2A700}\u{2B820}\u{2B920}\u{2CEAF}\u{2F800} \uF900\uFA0E',
  '\u3053\u3093\u306b\u3061\u306f \u30ab\u30bf\u30ab\u30ca \uff76\uff80\uff76\uff85',
  '\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8 \u1100\u1161\u11a8',
  '\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 \u064b\u0650',
  // accented Latin, precomposed and combining
  'caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c5ngstr\u00f6m',
  'cafe\u0301 nai\u0308ve \u1e9b\u0323 a\u0316\u0301 \u212b',
  // NBSP, zero-width and direction marks, soft hyphen, BOM
  'no\u00a0break\u202fnarrow\u2007figure\u3000ideographic\u2028line\u2029para\u1680ogham\u205fmath',
  'zero\u200bwidth\u200cnon\u200djoiner\ufeffbom\u00adsoft\u2060wj',
  'ltr\u200emark\u200frtl\u202aembed\u202cpop\u2066isolate\u2069',
  // control characters
  'before\u0000after',
  'vt\u000bff\u000cnel\u0085del\u007fend',
  'fs\u001cgs\u001drs\u001eus\u001fend \u0001\u0002\u001b[0m',
  '\u0080\u0081\u009f c1 controls',
  // private use, replacement, noncharacters, unassigned, max code point
  'private\ue000use\uf8ff \u{F0000}\u{10FFFD}',
  'replacement\ufffdchar \ufffd',
  'nonchar \ufffe \uffff \u{1FFFE} \u{10FFFF} end',
  'unassigned \u0378 \u0890 \u{E01F0} \u{3FFFD}',
  // casing
  '\u0130stanbul \u0130 I\u0307 \u0131',
  'Stra\u00dfe STRASSE \u1e9e \ufb01 \ufb03',
  '\u039f\u0394\u039f\u03a3 \u03bf\u03b4\u03bf\u03c2 \u03a3\u0391\u03a3',
  'DZ \u01c4 \u01c5 \u01c6 \u2126 \u212a \u0049\u0307',
  // long words and long lines
  long_word,
  word_100,
  combining_100,
  'prefix ' + 'x'.repeat(99) + '\u{1F600} suffix',
  many_tokens,
  many_cjk,
  // web text
  'check https://example.com/path?q=1&b=2#frag and www.test.org/~user',
  '@user @user_name_123 #hashtag #CamelCaseTag #\u65e5\u672c',
  'email me at someone@example.com!!! $100 50% 3.14 1,000,000',
  'lol!!!! ??? ... \u2026 \u2014 \u201cquoted\u201d \u00abguillemets\u00bb \u00bfque? \u00a1si!',
  'symbols \u20ac5 \u00a9 \u00ae \u2122 \u00b1 \u00b0 \u2192 \u221e \u2211 \u00a7 \u00b6 \u2022 ^_^ <3 |~| `q`',
  // special tokens typed in the text
  '[CLS]',
  'a[SEP]b',
  '[MASK] is [PAD] and [UNK] [SEP]',
  '[cls] [unused1] [ SEP ] [SEP[SEP]] [[CLS]]',
  '  [SEP]  ',
  // empty line, whitespace only, tabs and \r
  '',
  '   ',
  'tab\tseparated\tvalues',
  'carriage\rreturn\r',
  '\r-only line \r end',
  '\t leading and trailing \t',
  // misc
  'Hello, World! How\'s it going?',
  'numbers 12345678901234567890 and 3rd 21st',
  'MiXeD CaSe ThInGs aNd ALLCAPS',
  '\u00bd \u2460 \u00b2 \u2153 \u0660\u0661\u0662 \u0966\u0967',
  'devanagari \u0928\u092e\u0938\u094d\u0924\u0947 thai \u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35',
  'hebrew \u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd greek \u1f00\u1f04 cyrillic \u0419\u0439 \u0451',
  'fullwidth \uff21\uff22\uff23\uff01 \uff08test\uff09',
  'math \u{1D400}\u{1D401} \u{1D7D8} music \u{1D11E}',
];
fs.writeFileSync(process.argv[2], cases.join('\n') + '\n');
console.log(`hard cases: ${cases.length} lines`);
