// checkpoint_torch.cpp — a torch.save zip as checkpoint tensors (see checkpoint.hpp).
//
// Each pickled tensor is a strided view (offset, shape, stride, in elements) of a storage, the zip
// entry data/<key>. Everything is checked against the bytes actually there before any pointer is
// formed: the storage must hold the elements the pickle declares, and the view's furthest element
// (offset + sum((shape_i - 1) x stride_i)) must lie inside the storage, with overflow checks. A
// contiguous view of a stored entry is a span into the mapping; any other view is copied out once.
#include <cstring>

#include "model/checkpoint.hpp"
#include "model/torch_pickle.hpp"
#include "model/torch_zip.hpp"

namespace bert_emotion {

namespace {

[[noreturn]] void fail(CheckpointRule rule, const std::string& source, const std::string& what) {
  throw CheckpointError(rule, source + ": " + what);
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }
bool add_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_add_overflow(a, b, out); }

bool is_contiguous(const PickledTensor& t) {
  uint64_t expected = 1;
  for (size_t d = t.shape.size(); d-- > 0;) {
    if (t.shape[d] != 1 && static_cast<uint64_t>(t.stride[d]) != expected) return false;
    expected *= static_cast<uint64_t>(t.shape[d]);
  }
  return true;
}

// Copies a strided view of `storage` into `out` in row-major order.
void gather(const PickledTensor& t, const uint8_t* storage, size_t elem, uint8_t* out) {
  const size_t rank = t.shape.size();
  std::vector<int64_t> idx(rank, 0);
  uint64_t src = t.storage_offset;
  uint64_t numel = 1;
  for (int64_t s : t.shape) numel *= static_cast<uint64_t>(s);
  for (uint64_t n = 0; n < numel; ++n) {
    std::memcpy(out + n * elem, storage + src * elem, elem);
    for (size_t d = rank; d-- > 0;) {  // odometer step
      src += static_cast<uint64_t>(t.stride[d]);
      if (++idx[d] < t.shape[d]) break;
      src -= static_cast<uint64_t>(t.stride[d]) * static_cast<uint64_t>(t.shape[d]);
      idx[d] = 0;
    }
  }
}

}  // namespace

void Checkpoint::add_torch_zip(const std::filesystem::path& file) {
  auto zip = TorchZip::open(file);
  const std::string& src = zip->source();
  files_.push_back(src);
  const TorchStateDict sd = parse_torch_pickle(zip->entry("data.pkl"), src + ":" + zip->prefix() + "/data.pkl");

  // Storages: the entry must hold what the pickle declares.
  std::map<std::string, std::span<const uint8_t>> storage_bytes;
  for (const auto& [key, s] : sd.storages) {
    const std::string entry = "data/" + key;
    if (!zip->has(entry))
      fail(CheckpointRule::MissingEntry, src,
           "the pickle names storage " + key + " but there is no entry " + zip->prefix() + "/" + entry);
    const auto bytes = zip->entry(entry);
    const uint64_t elem = dtype_bits(s.dtype) / 8;
    uint64_t need = 0;
    if (mul_overflows(s.numel, elem, &need) || need > bytes.size())
      fail(CheckpointRule::StorageTooShort, src,
           "storage " + zip->prefix() + "/" + entry + " holds " + std::to_string(bytes.size()) +
               " bytes, but the pickle declares " + std::to_string(s.numel) + " " + dtype_name(s.dtype) + " elements");
    storage_bytes[key] = bytes.first(need);
  }

  for (const PickledTensor& t : sd.tensors) {
    const PickledStorage& s = sd.storages.at(t.storage_key);
    const uint64_t elem = dtype_bits(t.dtype) / 8;
    const std::string what = "tensor " + t.name;
    uint64_t numel = 1, last = t.storage_offset;
    for (size_t d = 0; d < t.shape.size(); ++d) {
      uint64_t span = 0;
      if (mul_overflows(numel, static_cast<uint64_t>(t.shape[d]), &numel) ||
          (t.shape[d] > 0 &&
           (mul_overflows(static_cast<uint64_t>(t.shape[d] - 1), static_cast<uint64_t>(t.stride[d]), &span) ||
            add_overflows(last, span, &last))))
        fail(CheckpointRule::ShapeOverflow, src, what + ": its shape and strides overflow 64 bits");
    }
    uint64_t nbytes = 0;
    if (mul_overflows(numel, elem, &nbytes))
      fail(CheckpointRule::ShapeOverflow, src, what + ": its size overflows 64 bits");
    if (numel > 0 && last >= s.numel)
      fail(CheckpointRule::StorageTooShort, src,
           what + " reaches element " + std::to_string(last) + " of storage " + t.storage_key + ", which has " +
               std::to_string(s.numel));
    CheckpointTensor ct{t.name, t.dtype, t.shape, static_cast<size_t>(numel), {}, src, false};
    const auto storage = storage_bytes.at(t.storage_key);
    if (numel == 0) {
      ct.bytes = {};
    } else if (is_contiguous(t)) {
      ct.bytes = storage.subspan(t.storage_offset * elem, nbytes);
      ct.mapped = zip->mapped("data/" + t.storage_key);
    } else {
      // A strided copy may repeat elements (stride 0, as expand() saves), but not without bound.
      if (nbytes > 64 * storage.size() + (uint64_t{1} << 20))
        fail(
            CheckpointRule::EntryTooLarge, src,
            what + " is a view of " + std::to_string(numel) + " elements over a storage of " + std::to_string(s.numel));
      std::vector<uint8_t>& out = owned_.emplace_back(nbytes);
      gather(t, storage.data(), elem, out.data());
      ct.bytes = out;
    }
    add(std::move(ct));
  }
  keep_alive_.push_back(zip);
}

}  // namespace bert_emotion
