// checkpoint_error.hpp — the typed error every checkpoint reader other than safetensors throws.
//
// PyTorch zip checkpoints (torch_zip), their pickles (torch_pickle) and sharded index files
// (checkpoint) are refused with a CheckpointError carrying the rule that failed, so a caller or a
// test knows why without parsing the message; the message names the file and what was expected.
//
//   try { auto ck = Checkpoint::open("pytorch_model.bin"); }
//   catch (const CheckpointError& e) { if (e.rule == CheckpointRule::ForbiddenGlobal) ...; }
#pragma once

#include <string>

#include "util/error.hpp"

namespace bert_emotion {

enum class CheckpointRule {
  LegacyFormat,       // a pre-1.6 torch.save file (raw pickle or tar), not a zip
  BadZip,             // not a zip archive, truncated, or an entry that fails its checks
  EntryTooLarge,      // a zip entry claims more bytes than the file (or the limit) allows
  MissingEntry,       // no data.pkl, or a storage the pickle names has no data/<key> entry
  ForbiddenGlobal,    // a GLOBAL / REDUCE / persistent id outside what a state dict uses
  UnsupportedOpcode,  // a pickle opcode a state dict never needs
  LimitExceeded,      // memo, stack, container or nesting beyond the reader's limits
  BadPickle,          // a malformed pickle (stack underflow, wrong types, truncated)
  StorageTooShort,    // a tensor reaches past its storage, or a storage past its entry
  ShapeOverflow,      // a shape or stride whose element count or extent overflows
  BadIndex,           // a sharded index (*.index.json) that is malformed or lies
};

const char* rule_name(CheckpointRule rule);

class CheckpointError : public FormatError {
 public:
  CheckpointError(CheckpointRule rule, const std::string& what) : FormatError(what), rule(rule) {}
  CheckpointRule rule;
};

}  // namespace bert_emotion
