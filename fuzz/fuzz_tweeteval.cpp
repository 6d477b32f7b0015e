// fuzz_tweeteval — the TweetEval task-folder reader: the input is split into mapping.txt,
// train_text.txt and train_labels.txt. Accepts bert_emotion::Error; rows that load must have one
// label per text, in range, with names from mapping.txt.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>

#include "data/dataset.hpp"
#include "dataset_invariants.hpp"
#include "fuzz_common.hpp"
#include "util/error.hpp"

using namespace bert_emotion;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const bool given_labels = fdp.ConsumeBool();
  const std::string mapping = fdp.ConsumeRandomLengthString();
  const std::string labels = fdp.ConsumeRandomLengthString();
  const std::string texts = fdp.ConsumeRemainingBytesAsString();
  const auto dir = fuzz::scratch_dir() / "tweeteval";
  std::filesystem::create_directories(dir);
  fuzz::write_bytes(dir / "mapping.txt", mapping);
  fuzz::write_bytes(dir / "train_labels.txt", labels);
  fuzz::write_bytes(dir / "train_text.txt", texts);
  DatasetOptions opts;
  if (given_labels) opts.label_names = {"anger", "joy", "optimism", "sadness"};
  try {
    const Dataset ds = load_dataset(dir, "train", opts);
    FUZZ_CHECK(!ds.rows.empty());
    for (const LabeledText& row : ds.rows) FUZZ_CHECK(fuzz::label_in_range(ds, row, false));
  } catch (const Error&) {
  }
  return 0;
}
