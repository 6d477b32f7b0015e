// torch_pickle.cpp — the restricted pickle interpreter (see torch_pickle.hpp).
//
// Values are small records; strings, containers and tensors live in arenas owned by the
// interpreter and values refer to them by index. So BINGET of a memoized string or container costs
// nothing, mutation through the memo works as in Python, and destruction is flat.
#include "model/torch_pickle.hpp"

#include <cstdio>
#include <unordered_map>

namespace bert_emotion {

const char* rule_name(CheckpointRule rule) {
  switch (rule) {
    case CheckpointRule::LegacyFormat: return "LegacyFormat";
    case CheckpointRule::BadZip: return "BadZip";
    case CheckpointRule::EntryTooLarge: return "EntryTooLarge";
    case CheckpointRule::MissingEntry: return "MissingEntry";
    case CheckpointRule::ForbiddenGlobal: return "ForbiddenGlobal";
    case CheckpointRule::UnsupportedOpcode: return "UnsupportedOpcode";
    case CheckpointRule::LimitExceeded: return "LimitExceeded";
    case CheckpointRule::BadPickle: return "BadPickle";
    case CheckpointRule::StorageTooShort: return "StorageTooShort";
    case CheckpointRule::ShapeOverflow: return "ShapeOverflow";
    case CheckpointRule::BadIndex: return "BadIndex";
  }
  return "?";
}

namespace {

enum class Kind : uint8_t { None, Bool, Int, Float, Str, Global, Tuple, List, Dict, Storage, Tensor };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Global: return "global";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

enum class Global : uint8_t { OrderedDict, RebuildTensorV2, RebuildParameter, RebuildParameterWithState, StorageType };

// i: the int / bool, or the index into the arena of the value's kind; dtype: a StorageType's.
struct Value {
  Kind kind = Kind::None;
  Global global = Global::OrderedDict;
  Dtype dtype = Dtype::F32;
  int64_t i = 0;
};

struct AllowedGlobal {
  const char* module;
  const char* name;
  Global global;
  Dtype dtype;
};

constexpr AllowedGlobal kAllowed[] = {
    {"collections", "OrderedDict", Global::OrderedDict, Dtype::F32},
    {"torch._utils", "_rebuild_tensor_v2", Global::RebuildTensorV2, Dtype::F32},
    {"torch._utils", "_rebuild_parameter", Global::RebuildParameter, Dtype::F32},
    {"torch._utils", "_rebuild_parameter_with_state", Global::RebuildParameterWithState, Dtype::F32},
    {"torch", "FloatStorage", Global::StorageType, Dtype::F32},
    {"torch", "HalfStorage", Global::StorageType, Dtype::F16},
    {"torch", "BFloat16Storage", Global::StorageType, Dtype::BF16},
    {"torch", "DoubleStorage", Global::StorageType, Dtype::F64},
    {"torch", "LongStorage", Global::StorageType, Dtype::I64},
    {"torch", "IntStorage", Global::StorageType, Dtype::I32},
    {"torch", "ShortStorage", Global::StorageType, Dtype::I16},
    {"torch", "CharStorage", Global::StorageType, Dtype::I8},
    {"torch", "ByteStorage", Global::StorageType, Dtype::U8},
    {"torch", "BoolStorage", Global::StorageType, Dtype::BOOL},
};

// Opcodes this reader refuses, by name, so a message says what the pickle tried.
const char* refused_opcode_name(uint8_t op) {
  switch (op) {
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 0x81: return "NEWOBJ";
    case 0x92: return "NEWOBJ_EX";
    case 'P': return "PERSID";
    case 0x82:
    case 0x83:
    case 0x84: return "EXT";
    case 'I': return "INT";
    case 'L': return "LONG";
    case 'F': return "FLOAT";
    case 'S': return "STRING";
    case 'V': return "UNICODE";
    case 'p': return "PUT";
    case 'g': return "GET";
    case 'l': return "LIST";
    case 'd': return "DICT";
    case 'B':
    case 'C':
    case 0x8e: return "BINBYTES";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return nullptr;
  }
}

class Interpreter {
 public:
  Interpreter(std::span<const uint8_t> bytes, const std::string& source, const PickleLimits& limits)
      : in_(bytes), source_(source), limits_(limits) {}

  TorchStateDict run() {
    while (true) {
      if (pos_ >= in_.size()) fail(CheckpointRule::BadPickle, "truncated: no STOP opcode");
      op_pos_ = pos_;
      const uint8_t op = in_[pos_++];
      if (op == '.') break;
      step(op);
    }
    if (stack_.size() != 1 || !marks_.empty())
      fail(CheckpointRule::BadPickle,
           "STOP with " + std::to_string(stack_.size()) + " values on the stack (expected 1)");
    return result(stack_.back());
  }

 private:
  [[noreturn]] void fail(CheckpointRule rule, const std::string& what) const {
    throw CheckpointError(rule, source_ + ": at byte " + std::to_string(op_pos_) + ": " + what);
  }

  // ---- input ----
  std::span<const uint8_t> take(uint64_t n) {
    if (n > in_.size() - pos_)
      fail(CheckpointRule::BadPickle, "truncated: an argument of " + std::to_string(n) + " bytes runs past the end (" +
                                          std::to_string(in_.size()) + " bytes)");
    auto s = in_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  uint64_t read_le(int n) {
    auto s = take(n);
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | s[k];
    return v;
  }
  std::string read_line() {
    size_t end = pos_;
    while (end < in_.size() && in_[end] != '\n') ++end;
    if (end >= in_.size()) fail(CheckpointRule::BadPickle, "truncated: GLOBAL without a newline");
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), end - pos_);
    pos_ = end + 1;
    return s;
  }

  // ---- values ----
  void push(Value v) {
    if (stack_.size() + marks_.size() >= limits_.max_stack)
      fail(CheckpointRule::LimitExceeded, "the stack exceeds " + std::to_string(limits_.max_stack) + " values");
    stack_.push_back(v);
  }
  Value pop() {
    if (stack_.size() <= floor()) fail(CheckpointRule::BadPickle, "stack underflow");
    Value v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value& top() {
    if (stack_.size() <= floor()) fail(CheckpointRule::BadPickle, "stack underflow");
    return stack_.back();
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  // The values above the topmost mark, which is removed.
  std::vector<Value> pop_mark() {
    if (marks_.empty()) fail(CheckpointRule::BadPickle, "no MARK on the stack");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Value> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  Value new_string(std::string s) {
    strings_.push_back(std::move(s));
    return {Kind::Str, Global::OrderedDict, Dtype::F32, static_cast<int64_t>(strings_.size() - 1)};
  }
  Value new_container(Kind kind, std::vector<Value> items = {}) {
    if (containers_.size() >= limits_.max_containers)
      fail(CheckpointRule::LimitExceeded, "more than " + std::to_string(limits_.max_containers) + " containers");
    count_items(items.size());
    containers_.push_back(std::move(items));
    return {kind, Global::OrderedDict, Dtype::F32, static_cast<int64_t>(containers_.size() - 1)};
  }
  void count_items(size_t n) {
    items_ += n;
    if (items_ > limits_.max_items)
      fail(CheckpointRule::LimitExceeded, "containers hold more than " + std::to_string(limits_.max_items) + " items");
  }
  std::vector<Value>& container(const Value& v, Kind kind, const char* opcode) {
    if (v.kind != kind)
      fail(CheckpointRule::BadPickle,
           std::string(opcode) + " on a " + kind_name(v.kind) + " (expected a " + kind_name(kind) + ")");
    return containers_[static_cast<size_t>(v.i)];
  }
  const std::string& str(const Value& v, const char* what) {
    if (v.kind != Kind::Str)
      fail(CheckpointRule::BadPickle, std::string(what) + " is a " + kind_name(v.kind) + ", expected a str");
    return strings_[static_cast<size_t>(v.i)];
  }
  int64_t integer(const Value& v, const char* what) {
    if (v.kind != Kind::Int)
      fail(CheckpointRule::BadPickle, std::string(what) + " is a " + kind_name(v.kind) + ", expected an int");
    return v.i;
  }
  std::vector<int64_t> int_tuple(const Value& v, const char* what) {
    if (v.kind != Kind::Tuple)
      fail(CheckpointRule::BadPickle, std::string(what) + " is a " + kind_name(v.kind) + ", expected a tuple");
    std::vector<int64_t> out;
    for (const Value& e : containers_[static_cast<size_t>(v.i)]) {
      const int64_t x = integer(e, what);
      if (x < 0) fail(CheckpointRule::BadPickle, std::string(what) + " holds a negative value " + std::to_string(x));
      out.push_back(x);
    }
    return out;
  }

  void memo_put(uint64_t key) {
    if (memo_.size() >= limits_.max_memo && memo_.find(key) == memo_.end())
      fail(CheckpointRule::LimitExceeded, "the memo exceeds " + std::to_string(limits_.max_memo) + " entries");
    memo_[key] = top();
  }
  void memo_get(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) fail(CheckpointRule::BadPickle, "memo key " + std::to_string(key) + " was never stored");
    push(it->second);
  }

  void global(const std::string& module, const std::string& name) {
    for (const AllowedGlobal& g : kAllowed)
      if (module == g.module && name == g.name) return push({Kind::Global, g.global, g.dtype, 0});
    fail(CheckpointRule::ForbiddenGlobal,
         "forbidden global " + module + "." + name +
             " (a state dict only uses collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter "
             "and torch.*Storage; nothing is executed)");
  }

  void reduce() {
    const Value args = pop();
    const Value callable = pop();
    if (callable.kind != Kind::Global)
      fail(CheckpointRule::ForbiddenGlobal,
           std::string("REDUCE of a ") + kind_name(callable.kind) + " (only the allowed globals may be called)");
    const std::vector<Value> a = container(args, Kind::Tuple, "REDUCE arguments");
    switch (callable.global) {
      case Global::OrderedDict:
        if (!a.empty()) fail(CheckpointRule::BadPickle, "OrderedDict called with arguments (expected none)");
        return push(new_container(Kind::Dict));
      case Global::RebuildTensorV2: return push(rebuild_tensor(a));
      case Global::RebuildParameter:
      case Global::RebuildParameterWithState: {
        const size_t want = callable.global == Global::RebuildParameter ? 3 : 4;
        if (a.size() != want || a[0].kind != Kind::Tensor)
          fail(CheckpointRule::BadPickle,
               "_rebuild_parameter expects (tensor, requires_grad, hooks" + std::string(want == 4 ? ", state)" : ")"));
        return push(a[0]);
      }
      case Global::StorageType:
        fail(CheckpointRule::ForbiddenGlobal, "REDUCE of a storage type (storages come only from persistent ids)");
    }
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  Value rebuild_tensor(const std::vector<Value>& a) {
    if ((a.size() != 6 && a.size() != 7) || a[0].kind != Kind::Storage)
      fail(CheckpointRule::BadPickle,
           "_rebuild_tensor_v2 expects (storage, offset, size, stride, requires_grad, hooks)");
    const PickledStorage& s = storages_by_index_[static_cast<size_t>(a[0].i)];
    PickledTensor t;
    t.storage_key = s.key;
    t.dtype = s.dtype;
    const int64_t offset = integer(a[1], "storage_offset");
    if (offset < 0) fail(CheckpointRule::BadPickle, "negative storage_offset " + std::to_string(offset));
    t.storage_offset = static_cast<uint64_t>(offset);
    t.shape = int_tuple(a[2], "size");
    t.stride = int_tuple(a[3], "stride");
    if (t.shape.size() != t.stride.size())
      fail(CheckpointRule::BadPickle,
           "size has " + std::to_string(t.shape.size()) + " dims but stride has " + std::to_string(t.stride.size()));
    tensors_.push_back(std::move(t));
    return {Kind::Tensor, Global::OrderedDict, Dtype::F32, static_cast<int64_t>(tensors_.size() - 1)};
  }

  // ('storage', torch.XStorage, key, location, numel)
  void persistent_load() {
    const Value pid = pop();
    if (pid.kind != Kind::Tuple)
      fail(CheckpointRule::ForbiddenGlobal,
           std::string("persistent id is a ") + kind_name(pid.kind) + ", expected a storage tuple");
    const std::vector<Value> p = containers_[static_cast<size_t>(pid.i)];
    if (p.size() != 5 || p[0].kind != Kind::Str || strings_[static_cast<size_t>(p[0].i)] != "storage")
      fail(CheckpointRule::ForbiddenGlobal, "persistent id is not ('storage', type, key, location, numel)");
    if (p[1].kind != Kind::Global || p[1].global != Global::StorageType)
      fail(CheckpointRule::ForbiddenGlobal, "persistent id's storage type is not a torch.*Storage");
    const std::string& key = str(p[2], "storage key");
    str(p[3], "storage location");
    const int64_t numel = integer(p[4], "storage numel");
    if (numel < 0) fail(CheckpointRule::BadPickle, "storage " + key + " has a negative size");
    if (key.empty() || key.size() > 64 ||
        key.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_") != std::string::npos)
      fail(CheckpointRule::BadPickle, "storage key '" + key.substr(0, 64) + "' (expected letters, digits, '_')");
    auto [it, fresh] = storage_index_.try_emplace(key, storages_by_index_.size());
    if (fresh) {
      storages_by_index_.push_back({key, p[1].dtype, static_cast<uint64_t>(numel)});
    } else {
      const PickledStorage& s = storages_by_index_[it->second];
      if (s.dtype != p[1].dtype || s.numel != static_cast<uint64_t>(numel))
        fail(CheckpointRule::BadPickle, "storage " + key + " is named twice with different types or sizes");
    }
    push({Kind::Storage, Global::OrderedDict, Dtype::F32, static_cast<int64_t>(it->second)});
  }

  void step(uint8_t op) {
    switch (op) {
      case 0x80: {  // PROTO
        const uint64_t v = read_le(1);
        if (v < 2 || v > 5)
          fail(CheckpointRule::BadPickle, "pickle protocol " + std::to_string(v) + " (expected 2 to 5)");
        return;
      }
      case 0x95: read_le(8); return;  // FRAME: a size hint only
      case '(':
        if (stack_.size() + marks_.size() >= limits_.max_stack)
          fail(CheckpointRule::LimitExceeded, "the stack exceeds " + std::to_string(limits_.max_stack) + " values");
        marks_.push_back(stack_.size());
        return;
      case '0': pop(); return;
      case '1': pop_mark(); return;
      case '2': push(top()); return;
      case 'N': return push({Kind::None});
      case 0x88: return push({Kind::Bool, Global::OrderedDict, Dtype::F32, 1});
      case 0x89: return push({Kind::Bool, Global::OrderedDict, Dtype::F32, 0});
      case 'J': return push({Kind::Int, Global::OrderedDict, Dtype::F32, static_cast<int32_t>(read_le(4))});
      case 'K': return push({Kind::Int, Global::OrderedDict, Dtype::F32, static_cast<int64_t>(read_le(1))});
      case 'M': return push({Kind::Int, Global::OrderedDict, Dtype::F32, static_cast<int64_t>(read_le(2))});
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes
        const uint64_t n = read_le(1);
        if (n > 8) fail(CheckpointRule::BadPickle, "LONG1 of " + std::to_string(n) + " bytes (at most 8 supported)");
        uint64_t v = n == 0 ? 0 : read_le(static_cast<int>(n));
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) != 0) v |= ~uint64_t{0} << (8 * n);  // sign-extend
        return push({Kind::Int, Global::OrderedDict, Dtype::F32, static_cast<int64_t>(v)});
      }
      case 'G': {  // BINFLOAT, big-endian
        take(8);   // the value itself is never needed
        return push({Kind::Float});
      }
      case 'X': return push(new_string(as_string(take(read_le(4)))));
      case 0x8c: return push(new_string(as_string(take(read_le(1)))));
      case 0x8d: return push(new_string(as_string(take(read_le(8)))));
      case 'T': return push(new_string(as_string(take(read_le(4)))));
      case 'U': return push(new_string(as_string(take(read_le(1)))));
      case ')': return push(new_container(Kind::Tuple));
      case ']': return push(new_container(Kind::List));
      case '}': return push(new_container(Kind::Dict));
      case 't': return push(new_container(Kind::Tuple, pop_mark()));
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        const size_t n = op - 0x84u;
        if (stack_.size() < floor() + n) fail(CheckpointRule::BadPickle, "stack underflow");
        std::vector<Value> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
        stack_.resize(stack_.size() - n);
        return push(new_container(Kind::Tuple, std::move(items)));
      }
      case 'a': {
        const Value v = pop();
        count_items(1);
        container(top(), Kind::List, "APPEND").push_back(v);
        return;
      }
      case 'e': {
        std::vector<Value> items = pop_mark();
        count_items(items.size());
        auto& list = container(top(), Kind::List, "APPENDS");
        list.insert(list.end(), items.begin(), items.end());
        return;
      }
      case 's': {
        const Value v = pop();
        const Value k = pop();
        count_items(2);
        auto& dict = container(top(), Kind::Dict, "SETITEM");
        dict.push_back(k);
        dict.push_back(v);
        return;
      }
      case 'u': {
        std::vector<Value> items = pop_mark();
        if (items.size() % 2 != 0) fail(CheckpointRule::BadPickle, "SETITEMS with an odd number of values");
        count_items(items.size());
        auto& dict = container(top(), Kind::Dict, "SETITEMS");
        dict.insert(dict.end(), items.begin(), items.end());
        return;
      }
      case 'q': return memo_put(read_le(1));
      case 'r': return memo_put(read_le(4));
      case 0x94: return memo_put(memo_.size());
      case 'h': return memo_get(read_le(1));
      case 'j': return memo_get(read_le(4));
      case 'c': {
        const std::string module = read_line();
        const std::string name = read_line();
        return global(module, name);
      }
      case 0x93: {  // STACK_GLOBAL
        const Value name = pop();
        const Value module = pop();
        return global(str(module, "STACK_GLOBAL module"), str(name, "STACK_GLOBAL name"));
      }
      case 'R': return reduce();
      case 'Q': return persistent_load();
      case 'b': {  // BUILD: only the state an OrderedDict (its _metadata) or a tensor carries; ignored
        pop();
        const Kind k = top().kind;
        if (k != Kind::Dict && k != Kind::Tensor)
          fail(CheckpointRule::ForbiddenGlobal,
               std::string("BUILD on a ") + kind_name(k) + " (only a dict or a tensor takes state)");
        return;
      }
      default: break;
    }
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", op);
    const char* name = refused_opcode_name(op);
    fail(CheckpointRule::UnsupportedOpcode,
         std::string("opcode ") + hex + (name ? std::string(" (") + name + ")" : "") + " is not used by a state dict");
  }

  static std::string as_string(std::span<const uint8_t> s) {
    return {reinterpret_cast<const char*>(s.data()), s.size()};
  }

  TorchStateDict result(const Value& root) {
    if (root.kind != Kind::Dict)
      fail(CheckpointRule::BadPickle,
           std::string("the pickle holds a ") + kind_name(root.kind) + ", expected a state dict (a dict of tensors)");
    const std::vector<Value>& items = containers_[static_cast<size_t>(root.i)];
    TorchStateDict out;
    std::unordered_map<std::string, size_t> position;
    for (size_t k = 0; k + 1 < items.size(); k += 2) {
      const std::string& name = str(items[k], "a state dict key");
      if (items[k + 1].kind != Kind::Tensor)
        fail(CheckpointRule::BadPickle,
             "state dict entry '" + name + "' is a " + kind_name(items[k + 1].kind) + ", expected a tensor");
      PickledTensor t = tensors_[static_cast<size_t>(items[k + 1].i)];
      t.name = name;
      auto [it, fresh] = position.try_emplace(name, out.tensors.size());
      if (fresh) out.tensors.push_back(std::move(t));
      else out.tensors[it->second] = std::move(t);  // a repeated key replaces, as in Python
    }
    for (const PickledTensor& t : out.tensors)
      out.storages.try_emplace(t.storage_key, storages_by_index_[storage_index_.at(t.storage_key)]);
    return out;
  }

  std::span<const uint8_t> in_;
  const std::string& source_;
  const PickleLimits& limits_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  std::vector<Value> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value> memo_;
  std::vector<std::string> strings_;
  std::vector<std::vector<Value>> containers_;
  size_t items_ = 0;
  std::vector<PickledTensor> tensors_;
  std::vector<PickledStorage> storages_by_index_;
  std::unordered_map<std::string, size_t> storage_index_;
};

}  // namespace

TorchStateDict parse_torch_pickle(std::span<const uint8_t> bytes, const std::string& source,
                                  const PickleLimits& limits) {
  return Interpreter(bytes, source, limits).run();
}

}  // namespace bert_emotion
