#!/usr/bin/env bash
# server_load.sh — load test of `bert-emotion serve` /predict with wrk (a benchmark, not a test).
#
# Makes a base-size random model (distilbert-base-cased shape, real tokenizer), starts the server on
# a loopback ephemeral port, and drives POST /predict with single-tweet bodies from TweetEval's
# emotion test split at 1, 16, 32 and 64 connections (DURATION seconds each). The offline baseline
# is `bert-emotion predict --batch-size 32` over the same tweets (tweets/s, model load subtracted).
# Prints a markdown table (requests/s, p50/p90/p99 latency, errors, % of offline) for
# docs/PERFORMANCE.md "Serving"; --out FILE also writes it there.
#
#   bench/server_load.sh [--build build] [--duration 10] [--conns "1 16 32 64"] [--threads 0] [--out FILE]
#                        [--config base|tiny]   (tiny: a quick check of the script itself)
#
# Needs wrk (Debian package) and python3 (only to JSON-escape the tweets). wrk runs on the same
# machine and takes CPU from the server: on a small box the numbers are a lower bound.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
DURATION=10
CONNS="1 16 32 64"
THREADS=0
OUT=""
CONFIG=base
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) BUILD=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --config) CONFIG=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

# libgomp's spinning workers fight wrk, the HTTP threads and everything else on a small or shared
# box (docs/PERFORMANCE.md); both the offline baseline and the server run with the same setting.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}  # the CLI's choice on an idle machine

BIN=$BUILD/bert-emotion
SHARED=$ROOT/../shared
TOKENIZER=$SHARED/models/distilbert-base-cased
TWEETS=$SHARED/data/tweeteval/datasets/emotion/test_text.txt
for f in "$BIN" "$TOKENIZER/vocab.txt" "$TWEETS"; do [[ -e $f ]] || { echo "missing $f" >&2; exit 1; }; done
command -v wrk >/dev/null || { echo "wrk not installed (apt-get install wrk)" >&2; exit 1; }

LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
WORK=$(mktemp -d /tmp/bert-emotion-serve-bench.XXXXXX)
SERVER_PID=""
cleanup() {
  if [[ -n $SERVER_PID ]]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "model: $CONFIG-size random DistilBERT in $WORK/model" >&2
"$BIN" init --config "$CONFIG" --tokenizer "$TOKENIZER" --out "$WORK/model" --seed 0 >/dev/null

# wrk script: cycle through 512 single-tweet bodies; print one machine-readable line at the end.
head -n 512 "$TWEETS" > "$WORK/tweets.txt"
python3 - "$WORK/tweets.txt" "$WORK/predict.lua" <<'PY'
import json, sys
tweets = open(sys.argv[1], encoding="utf-8").read().split("\n")
tweets = [t for t in tweets if t]
def lua(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
with open(sys.argv[2], "w") as f:
    f.write("local bodies = {\n")
    for t in tweets:
        f.write("  " + lua(json.dumps({"inputs": t})) + ",\n")
    f.write("}\n")
    f.write("""local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/predict", {["Content-Type"] = "application/json"}, bodies[(i % #bodies) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %.3f %.3f %.3f\\n", summary.requests, summary.duration,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write, summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000))
end
""")
PY
N_TWEETS=$(grep -c '' "$WORK/tweets.txt")

# Offline baseline: predict over the same tweets at batch 32, minus the cost of loading (1 tweet).
# Measured before and after the load points: on a shared machine the spread shows the noise.
now() { date +%s.%N; }
offline() {
  local t0 t1 t2
  t0=$(now); "$BIN" predict --model "$WORK/model" --threads "$THREADS" --batch-size 32 --input <(head -n 1 "$WORK/tweets.txt") >/dev/null; t1=$(now)
  "$BIN" predict --model "$WORK/model" --threads "$THREADS" --batch-size 32 --input "$WORK/tweets.txt" >/dev/null; t2=$(now)
  python3 -c "print(f'{$N_TWEETS / max(1e-9, ($t2 - $t1) - ($t1 - $t0)):.2f}')"
}
OFFLINE=$(offline)
echo "offline predict --batch-size 32: $OFFLINE tweets/s over $N_TWEETS tweets" >&2

"$BIN" serve --model "$WORK/model" --port 0 --threads "$THREADS" --no-access-log \
  --max-concurrent-requests 512 > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER_PID=$!
PORT=""
for _ in $(seq 1 600); do
  PORT=$(sed -n 's/^listening on http:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/serve.out")
  [[ -n $PORT ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; exit 1; }
  sleep 0.1
done
[[ -n $PORT ]] || { echo "server did not start" >&2; exit 1; }
URL=http://127.0.0.1:$PORT
echo "server on $URL; warm-up" >&2
wrk -t 2 -c 16 -d 3s -s "$WORK/predict.lua" "$URL" >/dev/null
# wrk stops without waiting for answers; the server still computes what was queued. One more request
# waits behind all of it (FIFO), so the next point starts on an idle server.
drain() { curl -s -o /dev/null -m 300 -H 'Content-Type: application/json' -d '{"inputs": "drain"}' "$URL/predict" || true; }
drain

TABLE="| connections | requests/s | p50 ms | p90 ms | p99 ms | non-2xx | socket errors | % of offline |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for c in $CONNS; do
  t=$(( c < 2 ? 1 : 2 ))
  line=$(wrk -t "$t" -c "$c" -d "${DURATION}s" --timeout 30s -s "$WORK/predict.lua" "$URL" | grep '^RESULT')
  drain
  read -r _ reqs dur_us non2xx sockerr timeouts p50 p90 p99 <<<"$line"
  rps=$(python3 -c "print(f'{$reqs / ($dur_us / 1e6):.2f}')")
  pct=$(python3 -c "print(f'{100 * $rps / $OFFLINE:.0f}%')")
  echo "c=$c: $rps req/s p50 $p50 ms p99 $p99 ms (non-2xx $non2xx, socket errors $sockerr, timeouts $timeouts)" >&2
  TABLE+=$'\n'"| $c | $rps | $p50 | $p90 | $p99 | $non2xx | $((sockerr + timeouts)) | $pct |"
done

kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=""
OFFLINE_AFTER=$(offline)
echo "offline again after the load points: $OFFLINE_AFTER tweets/s" >&2

REPORT="Model: $CONFIG-size random DistilBERT. Offline baseline (\`predict --batch-size 32\`, same $N_TWEETS tweets, load time subtracted): $OFFLINE tweets/s before the load points, $OFFLINE_AFTER after; % of offline uses the first.
wrk ${DURATION} s per point, single-tweet bodies, loopback, $(nproc) cores shared by wrk and the server, OMP_WAIT_POLICY=$OMP_WAIT_POLICY, GOMP_SPINCOUNT=$GOMP_SPINCOUNT, load average before: $LOAD_BEFORE.

$TABLE"
echo "$REPORT"
[[ -z $OUT ]] || printf '%s\n' "$REPORT" > "$OUT"
