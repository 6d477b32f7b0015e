# ort_setup.sh — sourced by bench/run.sh and bench/dtype_peers.sh: the ONNX Runtime peer's scratch
# folder, made once per WORK directory.
#
#   source "$ROOT/bench/ort_setup.sh"
#   ort_setup "$ORT_DIR"                 # a writable copy of $SHARED/reference/ort with its npm packages
#   ort_export "$ORT_DIR" "$ONNX"        # export_onnx.py's random distilbert-base-cased model, once
#
# npm ci runs with ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's postinstall only downloads
# optional CUDA binaries (the CPU runtime ships inside the package). Needs SHARED and PY set.
ort_setup() {
  local dir=$1
  [ -d "$dir/node_modules/onnxruntime-node" ] && return 0
  rm -rf "$dir" && cp -r "$SHARED/reference/ort" "$dir" && chmod -R u+w "$dir"
  (cd "$dir" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund >/dev/null)
}
ort_export() {
  local dir=$1 onnx=$2
  [ -f "$onnx" ] || (cd "$dir" && $PY export_onnx.py "$onnx" >/dev/null 2>&1)
}
