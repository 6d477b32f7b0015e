// fuzz_dataset — the CSV, TSV and JSONL dataset readers (load_dataset on one file; the first byte
// picks the format and whether a label space is given). Accepts bert_emotion::Error. Rows that load
// must carry labels inside the label space (one id, or a sorted set of ids in a multi-label dataset)
// and a 1-based line within the file.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>

#include "data/dataset.hpp"
#include "dataset_invariants.hpp"
#include "fuzz_common.hpp"
#include "util/error.hpp"

using namespace bert_emotion;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const int format = fdp.ConsumeIntegralInRange(0, 2);
  const bool given_labels = fdp.ConsumeBool();
  const bool pair = fdp.ConsumeBool();
  const bool allow_missing = fdp.ConsumeBool();
  const std::string contents = fdp.ConsumeRemainingBytesAsString();
  static const char* names[] = {"data.csv", "data.tsv", "data.jsonl"};
  const auto path = fuzz::scratch_dir() / names[format];
  fuzz::write_bytes(path, contents);
  DatasetOptions opts;
  if (given_labels) opts.label_names = {"anger", "joy", "optimism", "sadness"};
  if (pair) opts.text_pair_column = "text_pair";
  opts.allow_missing_labels = allow_missing;
  try {
    const Dataset ds = load_dataset(path, "train", opts);
    FUZZ_CHECK(!ds.rows.empty());
    if (given_labels) FUZZ_CHECK(ds.label_names == opts.label_names);
    const size_t lines = std::count(contents.begin(), contents.end(), '\n') + 1;
    for (const LabeledText& row : ds.rows) {
      FUZZ_CHECK(fuzz::label_in_range(ds, row, allow_missing));
      FUZZ_CHECK(row.line >= 1 && row.line <= lines);
    }
  } catch (const Error&) {
  }
  return 0;
}
