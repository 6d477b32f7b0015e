// torch_pickle.hpp — a restricted pickle interpreter for the data.pkl of a PyTorch state dict.
//
// What `torch.save(model.state_dict())` pickles is an OrderedDict of names to tensors, each rebuilt
// by torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...) (optionally wrapped in
// _rebuild_parameter), where the storage is a persistent id ('storage', torch.FloatStorage, key,
// location, numel) naming the zip entry data/<key>. This reader understands exactly that and
// nothing else — the stance of torch.load(weights_only=True): no code is ever executed. GLOBAL
// resolves only the few names below; REDUCE calls only those, on arguments of the expected types;
// every other global, callable, persistent id or opcode is a CheckpointError naming the source, the
// byte offset and what was found. Memo, stack and containers are bounded; containers and strings
// live in flat arenas referenced by index, so nothing is recursive (no deep nesting can overflow the
// stack, no cycle can leak) and a memoized string is never copied.
//
//   TorchStateDict sd = parse_torch_pickle(bytes, "pytorch_model.bin:archive/data.pkl");
//   for (const PickledTensor& t : sd.tensors) std::cout << t.name << " -> data/" << t.storage_key << "\n";
//
// Allowed globals: collections.OrderedDict, torch._utils._rebuild_tensor_v2, _rebuild_parameter,
// _rebuild_parameter_with_state, and the typed storages torch.{Float,Half,BFloat16,Double,Long,Int,
// Short,Char,Byte,Bool}Storage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "model/checkpoint_error.hpp"
#include "model/safetensors.hpp"  // Dtype

namespace bert_emotion {

// One storage the pickle refers to: zip entry data/<key>, `numel` elements of `dtype`.
struct PickledStorage {
  std::string key;
  Dtype dtype = Dtype::F32;
  uint64_t numel = 0;
};

// One tensor: a strided view of a storage (offset and strides in elements).
struct PickledTensor {
  std::string name;
  std::string storage_key;
  Dtype dtype = Dtype::F32;
  uint64_t storage_offset = 0;
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;
};

struct TorchStateDict {
  std::vector<PickledTensor> tensors;              // in pickle order
  std::map<std::string, PickledStorage> storages;  // by key; shared by tied tensors
};

// The limits a pickle must stay within (the defaults are far above any real state dict's needs).
struct PickleLimits {
  size_t max_stack = 1 << 20;       // values on the stack, all marks together
  size_t max_memo = 1 << 20;        // memo entries
  size_t max_containers = 1 << 22;  // tuples, lists and dicts created
  size_t max_items = 1 << 22;       // elements in all containers together
};

// Interprets `bytes` (a data.pkl). `source` names it in messages. Throws CheckpointError.
TorchStateDict parse_torch_pickle(std::span<const uint8_t> bytes, const std::string& source,
                                  const PickleLimits& limits = {});

}  // namespace bert_emotion
