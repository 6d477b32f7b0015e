#!/usr/bin/env bash
# clang-tidy (Debian's, 14) over the engine and CLI sources in src/, with the checks of .clang-tidy;
# exits non-zero on any finding (.clang-tidy makes every warning an error).
#
#   scripts/tidy.sh                 # every src/**/*.cpp (and the src/ headers they include)
#   scripts/tidy.sh --changed [REF] # only src/ files changed since the merge base with REF (default main),
#                                   # or in the last commit when that is empty (CI on main itself)
#   scripts/tidy.sh src/cli/main.cpp src/model/config.cpp
#
# The compile commands come from a configure-only CMake tree (BUILD_DIR, default build-tidy:
# CMAKE_EXPORT_COMPILE_COMMANDS), so nothing is compiled. A changed header is checked through the
# .cpp of the same name, and through every other file only in a whole-tree run. Fix findings at
# their cause; silence a proven false positive at its line: `// NOLINT(check-name): why`.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-tidy}
JOBS=${JOBS:-$(nproc)}
RUN_CLANG_TIDY=${RUN_CLANG_TIDY:-run-clang-tidy}
command -v "$RUN_CLANG_TIDY" >/dev/null || { echo "tidy: $RUN_CLANG_TIDY not found (scripts/install-deps.sh installs clang-tidy)" >&2; exit 2; }

files=()
if [[ ${1:-} == --changed ]]; then
  ref=${2:-main}
  base=$(git merge-base HEAD "$ref" 2>/dev/null || true)
  changed=()
  [[ -n $base ]] && mapfile -t changed < <(git diff --name-only --diff-filter=d "$base" -- 'src/*.cpp' 'src/*.hpp')
  if ((${#changed[@]} == 0)); then
    mapfile -t changed < <(git diff --name-only --diff-filter=d HEAD~1 -- 'src/*.cpp' 'src/*.hpp' 2>/dev/null || true)
  fi
  for f in "${changed[@]}"; do
    cpp=$f
    [[ $f == *.hpp ]] && cpp=${f%.hpp}.cpp
    [[ -f $cpp ]] && files+=("$cpp")
  done
  mapfile -t files < <(printf '%s\n' "${files[@]}" | sort -u | grep . || true)
  if ((${#files[@]} == 0)); then
    echo "tidy: no src/ file changed"
    exit 0
  fi
elif (($# > 0)); then
  files=("$@")
fi

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DBERT_EMOTION_TESTS=OFF -DBERT_EMOTION_BENCH=OFF >/dev/null
# run-clang-tidy takes regexes over the absolute paths in compile_commands.json.
patterns=("^$PWD/src/")
if ((${#files[@]} > 0)); then
  patterns=()
  for f in "${files[@]}"; do patterns+=("^$PWD/$(sed 's/[.+]/\\&/g' <<<"${f#./}")\$"); done
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
status=0
"$RUN_CLANG_TIDY" -p "$BUILD_DIR" -j "$JOBS" -quiet "${patterns[@]}" >"$log" 2>&1 || status=$?
# Findings only: no colour codes, no per-file "N warnings generated" noise from system headers.
sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter=|^$' || true
echo "tidy: $([[ ${#files[@]} == 0 ]] && echo 'all of src/' || echo "${#files[@]} file(s)"), $(($(date +%s) - start)) s, status $status"
exit "$status"
