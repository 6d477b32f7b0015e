#!/usr/bin/env bash
# main-job.sh — reproduce BERT-Emotion end to end with one command:
#   dependencies -> Release build -> distilbert-base-cased from the hub -> TweetEval emotion ->
#   fine-tune (lr 5e-5, batch 4, 3 epochs, seed 42, AdamW, linear schedule) -> test evaluation ->
#   a few sample predictions.
#
#   scripts/main-job.sh                          # the full recipe
#   MAX_STEPS=20 OUT=runs/smoke scripts/main-job.sh   # a quick smoke run
#   DATA=go_emotions scripts/main-job.sh         # multi-label GoEmotions (28 labels), thresholds tuned
#
# Without network access or pretrained weights it says so in a banner on stderr and runs the same
# pipeline from a RANDOM initialisation of the same architecture (never silently).
#
# Environment (all optional):
#   OUT          output directory of the fine-tuned model      (runs/bert-emotion)
#   MODEL_ID     hub id of the base model                      (distilbert-base-cased)
#   MODEL_DIR    use this local base-model directory instead of downloading
#   DATA         dataset spec: tweet_eval/<task>, go_emotions, a folder or a file (tweet_eval/emotion)
#   EPOCHS, MAX_STEPS, LR, BATCH_SIZE, SEED                   (3, unset, 5e-5, 4, 42)
#   BUILD_DIR    (build-release)   JOBS (nproc)   THREADS (OpenMP threads for training; unset = all)
#   SKIP_DEPS=1  do not run scripts/install-deps.sh     SKIP_BUILD=1  use an existing build
#   ALLOW_RANDOM_INIT=0  fail instead of falling back to a random initialisation
#   EXTRA_TRAIN_ARGS     more `bert-emotion train` flags, e.g. "--ignore-mismatched-sizes --logging-steps 50"
#   HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_TOKEN, HF_HUB_OFFLINE  as for huggingface_hub
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MODEL_ID=${MODEL_ID:-distilbert-base-cased}
MODEL_DIR=${MODEL_DIR:-}
DATA=${DATA:-tweet_eval/emotion}
case "$DATA" in
  go_emotions|go_emotions/simplified|google-research-datasets/go_emotions) GOEMOTIONS=1 ;;
  *) GOEMOTIONS=0 ;;
esac
if [ "$GOEMOTIONS" = 1 ]; then OUT=${OUT:-runs/bert-emotion-goemotions}; else OUT=${OUT:-runs/bert-emotion}; fi
EPOCHS=${EPOCHS:-3}
MAX_STEPS=${MAX_STEPS:-}
LR=${LR:-5e-5}
BATCH_SIZE=${BATCH_SIZE:-4}
SEED=${SEED:-42}
BUILD_DIR=${BUILD_DIR:-build-release}
JOBS=${JOBS:-$(nproc)}
THREADS=${THREADS:-}
ALLOW_RANDOM_INIT=${ALLOW_RANDOM_INIT:-1}
SHARED_MODEL="$ROOT/../shared/models/distilbert-base-cased"
BIN="$ROOT/$BUILD_DIR/bert-emotion"
# A local TweetEval copy beside the checkout, if any: the binary itself searches only
# $BERT_EMOTION_DATA_DIR (docs/HUB.md), else the cache or a download.
if [ -z "${BERT_EMOTION_DATA_DIR:-}" ] && [ -d "$ROOT/../shared/data" ]; then
  export BERT_EMOTION_DATA_DIR="$ROOT/../shared/data"
fi
# Likewise the GoEmotions copy, named explicitly (else the binary downloads the release files).
if [ -z "${BERT_EMOTION_GOEMOTIONS_DIR:-}" ] && [ -f "$ROOT/../shared/data/goemotions/labels.txt" ]; then
  export BERT_EMOTION_GOEMOTIONS_DIR="$ROOT/../shared/data/goemotions"
fi

JOB_START=$(date +%s)
STEP_START=$JOB_START
STEP_NAME=""
declare -a TIMINGS=()

end_step() {
  if [ -n "$STEP_NAME" ]; then
    local now; now=$(date +%s)
    TIMINGS+=("$(printf '%7ds  %s' $((now - STEP_START)) "$STEP_NAME")")
    echo "==> done: $STEP_NAME ($((now - STEP_START)) s)" >&2
  fi
}
step() {
  end_step
  STEP_NAME="$1"
  STEP_START=$(date +%s)
  echo >&2
  echo "==> [$(date -u +%H:%M:%S)] $1" >&2
}
on_error() {
  local rc=$?
  echo >&2
  echo "main-job: FAILED during step '${STEP_NAME:-setup}' (exit $rc)" >&2
  exit "$rc"
}
trap on_error ERR

banner() {
  local line="################################################################################"
  {
    echo
    echo "$line"
    for msg in "$@"; do printf '#  %-76s#\n' "$msg"; done
    echo "$line"
    echo
  } >&2
}

# ---- 1. dependencies -------------------------------------------------------------------------
if [ "${SKIP_DEPS:-0}" != 1 ]; then
  step "install dependencies"
  scripts/install-deps.sh
fi

# ---- 2. build --------------------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  step "build (Release) in $BUILD_DIR"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DBERT_EMOTION_TESTS=OFF -DBERT_EMOTION_BENCH=OFF >&2
  cmake --build "$BUILD_DIR" -j "$JOBS" --target bert-emotion >&2
fi
[ -x "$BIN" ] || { echo "main-job: $BIN not found (build it, or unset SKIP_BUILD)" >&2; exit 1; }

# ---- 3. data ---------------------------------------------------------------------------------
step "dataset: $DATA"
DATA_DIR=$("$BIN" download --data "$DATA")
echo "dataset $DATA in $DATA_DIR" >&2
for split in train val dev test; do
  for f in "$DATA_DIR/${split}_text.txt" "$DATA_DIR/${split}.tsv"; do
    if [ -f "$f" ]; then printf '  %-5s %6d examples\n' "$split" "$(wc -l < "$f")" >&2; fi
  done
done

# The dataset's label names, for a random initialisation's head (TweetEval's mapping.txt:
# "id<TAB>name"; GoEmotions' labels.txt: one name per line).
LABELS=""
for m in "$DATA_DIR/mapping.txt" "$DATA_DIR/../mapping.txt"; do
  if [ -f "$m" ]; then LABELS=$(cut -f2 "$m" | tr -d '\r' | paste -sd, -); break; fi
done
if [ -z "$LABELS" ] && [ -f "$DATA_DIR/labels.txt" ]; then LABELS=$(tr -d '\r' < "$DATA_DIR/labels.txt" | paste -sd, -); fi

# ---- 4. base model ---------------------------------------------------------------------------
RANDOM_INIT=0
if [ -n "$MODEL_DIR" ]; then
  step "base model: local directory $MODEL_DIR"
  MODEL="$MODEL_DIR"
else
  step "base model: download $MODEL_ID"
  if MODEL_SNAPSHOT=$("$BIN" download "$MODEL_ID"); then
    MODEL="$MODEL_ID"   # train resolves the id through the cache; the model card keeps the name
    echo "base model $MODEL_ID in $MODEL_SNAPSHOT" >&2
  else
    if [ "$ALLOW_RANDOM_INIT" != 1 ]; then
      echo "main-job: cannot obtain $MODEL_ID and ALLOW_RANDOM_INIT=0" >&2
      exit 1
    fi
    RANDOM_INIT=1
    banner "NO PRETRAINED WEIGHTS: $MODEL_ID could not be downloaded" \
      "(offline, HF_HUB_OFFLINE=1, or the hub is unreachable; see the error above)." \
      "" \
      "Continuing from a RANDOM INITIALISATION of the same architecture." \
      "The pipeline is the real one, but the scores will be far below" \
      "BERT-Emotion's: this run does NOT reproduce the published model."
    step "base model: random initialisation of $MODEL_ID's architecture"
    MODEL="$(dirname "$OUT")/random-init-$(basename "$MODEL_ID")"
    if [ -f "$SHARED_MODEL/config.json" ]; then
      # The genuine config.json and tokenizer of distilbert-base-cased, random weights.
      # --overwrite: a rerun recreates this scratch directory (init refuses a non-empty --out otherwise).
      init_args=(init --config "$SHARED_MODEL/config.json" --tokenizer "$SHARED_MODEL" --seed "$SEED" --out "$MODEL" --overwrite)
      if [ -n "$LABELS" ]; then init_args+=(--labels "$LABELS"); fi
      echo "+ bert-emotion ${init_args[*]}" >&2
      "$BIN" "${init_args[@]}" >&2
    else
      banner "Cannot build the random model either: $SHARED_MODEL" \
        "(the genuine config.json + tokenizer files) is missing." \
        "Pass MODEL_DIR=<a model directory> or run with network access."
      exit 1
    fi
  fi
fi

# ---- 5. fine-tune ----------------------------------------------------------------------------
step "fine-tune -> $OUT"
train_args=(train --model "$MODEL" --data "$DATA" --output-dir "$OUT"
  --learning-rate "$LR" --per-device-train-batch-size "$BATCH_SIZE" --num-train-epochs "$EPOCHS"
  --seed "$SEED")
if [ -n "$MAX_STEPS" ]; then train_args+=(--max-steps "$MAX_STEPS"); fi
if [ -n "$THREADS" ]; then train_args+=(--threads "$THREADS"); fi
# GoEmotions is multi-label: BCE training, and per-label thresholds tuned on its dev split
# (thresholds.json, used by the eval and predict steps below).
if [ "$GOEMOTIONS" = 1 ]; then train_args+=(--problem-type multi_label_classification --tune-thresholds); fi
# A random initialisation without the dataset's labels has init's default 2-label head: replace it,
# as from_pretrained(..., ignore_mismatched_sizes=True) does.
if [ "$RANDOM_INIT" = 1 ] && [ -z "$LABELS" ]; then train_args+=(--ignore-mismatched-sizes); fi
# shellcheck disable=SC2206  # word splitting of EXTRA_TRAIN_ARGS is intended
if [ -n "${EXTRA_TRAIN_ARGS:-}" ]; then train_args+=($EXTRA_TRAIN_ARGS); fi
echo "+ bert-emotion ${train_args[*]}" >&2
"$BIN" "${train_args[@]}"

# ---- 6. evaluate on test ---------------------------------------------------------------------
step "evaluate on the test split"
"$BIN" eval --model "$OUT" --data "$DATA" --split test --output "$OUT/test_eval.json"

# ---- 7. sample predictions -------------------------------------------------------------------
step "classify sample tweets"
predict_args=(predict --model "$OUT" --format table)
if [ "$GOEMOTIONS" = 1 ]; then predict_args+=(--top-k 3); fi
"$BIN" "${predict_args[@]}" \
  "I can't believe they cancelled my flight again, this is ridiculous" \
  "Just got the job offer!! Best day ever 🎉" \
  "Tomorrow is a new day, things will get better" \
  "Missing my grandma so much today" \
  "Why does everyone keep ignoring my messages #annoyed"

end_step
STEP_NAME=""
echo >&2
echo "==> summary" >&2
for t in "${TIMINGS[@]}"; do echo "  $t" >&2; done
printf '  %7ds  %s\n' $(( $(date +%s) - JOB_START )) "total" >&2
echo "  model: $OUT" >&2
if [ "$RANDOM_INIT" = 1 ]; then
  banner "REMINDER: this run started from RANDOM weights, not from the pretrained" \
    "$MODEL_ID. Its scores are not BERT-Emotion's." \
    "Re-run with network access to reproduce the published model."
fi
