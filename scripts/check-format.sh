#!/usr/bin/env bash
# Fails (exit 1, naming the files) when a tracked C++ source is not formatted as .clang-format says:
# clang-format 14 --dry-run --Werror over what scripts/format.sh formats. CI runs it first
# (scripts/test.sh). Fix with scripts/format.sh [FILE...].
exec "$(dirname "$0")/format.sh" --check "$@"
