#!/usr/bin/env python3
"""Regenerates tests/fixtures/data/: a miniature TweetEval task folder whose tweets carry the
characters that must stay inside a line (U+0085, U+2028, VT, FF, CR), and a CSV with RFC 4180
quoting edge cases. Run from the repository root: python3 tools/make_data_fixtures.py"""
import os

root = os.path.join("tests", "fixtures", "data")
mini = os.path.join(root, "tweeteval_mini")
os.makedirs(mini, exist_ok=True)

texts = [
    "plain tweet #happy ",
    "next\u0085line stays in one row",
    "para\u2028sep too",
    "vertical\x0btab and form\x0cfeed",
    "carriage\rreturn inside",
    "emoji \U0001F600 and accents caf\u00e9",
]
labels = [1, 3, 2, 0, 3, 1]
with open(os.path.join(mini, "test_text.txt"), "wb") as f:
    f.write(("\n".join(texts) + "\n").encode("utf-8"))
with open(os.path.join(mini, "test_labels.txt"), "wb") as f:
    f.write(("\n".join(str(x) for x in labels) + "\n").encode())
# TweetEval's mapping.txt has no final newline.
with open(os.path.join(mini, "mapping.txt"), "wb") as f:
    f.write(b"0\tanger\n1\tjoy\n2\toptimism\n3\tsadness")

# CSV: header, quoted field with "" escapes, embedded comma and newline, CRLF record ends,
# an unquoted field, label names, a blank line (skipped, as pandas does).
csv = (
    'id,text,label\r\n'
    '1,"He said ""hi"", then left",joy\r\n'
    '2,"two\nlines, one text",sadness\r\n'
    '\r\n'
    '3,unquoted text,anger\r\n'
    '4,"",optimism\r\n'
)
with open(os.path.join(root, "quoted.csv"), "wb") as f:
    f.write(csv.encode())
