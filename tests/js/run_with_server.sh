#!/usr/bin/env bash
# run_with_server.sh BIN TOKENIZER_DIR TEST.mjs — ctest's driver for the JavaScript server tests.
# Makes a tiny random model, serves it on an ephemeral loopback port, runs `node TEST.mjs URL`.
# No node: a loud skip (exit 77). No node_modules: a failure (scripts/install-deps.sh runs npm ci).
set -euo pipefail
bin=$1 tokenizer=$2 test=$3
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1; then
  echo "!!!!!!!!!! SKIPPED $test: node is not installed (scripts/install-deps.sh installs nodejs) !!!!!!!!!!"
  exit 77
fi
if [ ! -d "$here/node_modules" ]; then
  echo "FAILED: $here/node_modules is missing; run scripts/install-deps.sh (npm ci --prefix tests/js)"
  exit 1
fi
tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
# BERT_EMOTION_TEST_MODEL: serve that model instead (e.g. a fine-tuned one for docs/serving-page.png).
model=${BERT_EMOTION_TEST_MODEL:-$tmp/model}
# multilabel_*.test.mjs: the tiny sizes as a multi-label model, with per-label thresholds.json.
config=tiny
case "$test" in
  multilabel_*) config='{"dim":32,"n_layers":2,"n_heads":2,"hidden_dim":64,"max_position_embeddings":128,"problem_type":"multi_label_classification"}' ;;
esac
if [ -z "${BERT_EMOTION_TEST_MODEL:-}" ]; then
  "$bin" init --config "$config" --seed 7 --out "$tmp/model" --tokenizer "$tokenizer" >/dev/null
  case "$test" in
    multilabel_*) echo '{"thresholds": {"anger": 0.3, "joy": 0.45, "optimism": 0.5, "sadness": 0.55}}' >"$tmp/model/thresholds.json" ;;
  esac
fi
"$bin" serve --model "$model" --host 127.0.0.1 --port 0 --threads 1 --no-access-log >"$tmp/out" 2>"$tmp/err" &
pid=$!
url=
for _ in $(seq 600); do
  url=$(sed -n 's/^listening on \(http:\/\/127\.0\.0\.1:[0-9]*\)$/\1/p' "$tmp/out")
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/err"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "the server did not print its URL"; cat "$tmp/err"; exit 1; }
node "$here/$test" "$url" "$tmp"
