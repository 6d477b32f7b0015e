// scratch_buffer.hpp — grow-only work space whose contents do not outlive a call.
//
// std::vector<T>::resize zero-fills what it adds and, when it grows, copies the old contents into a
// new block whose pages the kernel faults in once more. For buffers that every call overwrites
// before reading (the packed forward's activations, int8's quantized rows and int32 sums, bf16's
// converted rows, oneDNN's scratchpad) that is all waste, and it is paid on every batch longer than
// the last: inference over length-sorted input grows them on nearly every batch.
//
// A ScratchBuffer keeps nothing across growth: it frees the old block, then allocates a new,
// uninitialised, 64-byte-aligned one at least 1.5x the old capacity, so a run of slowly growing
// batches reallocates a few times rather than every time. Capacity no call touches costs address
// space only. Sanitizer builds (BERT_EMOTION_POISON_SCRATCH) fill new blocks with 0xff bytes (NaN
// floats, -1 integers), so a kernel that reads what it did not write shows in the golden tests.
//
//   ScratchBuffer<float> buf;
//   float* p = buf.ensure(n);   // at least n floats, contents unspecified
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>

namespace bert_emotion {

template <class T>
class ScratchBuffer {
  static_assert(std::is_trivial_v<T>, "ScratchBuffer holds uninitialised trivial values");

 public:
  // At least n elements, 64-byte aligned; contents unspecified. Throws std::bad_alloc.
  T* ensure(size_t n) {
    if (n <= capacity_) return data_.get();
    const size_t grown = std::max(n, capacity_ + capacity_ / 2);
    if (grown > std::numeric_limits<size_t>::max() / sizeof(T)) throw std::bad_alloc();
    data_.reset();  // before allocating: the peak is the new block alone
    capacity_ = 0;
    void* p = nullptr;
    const size_t bytes = std::max<size_t>(grown * sizeof(T), 64);
    if (::posix_memalign(&p, 64, bytes) != 0) throw std::bad_alloc();
#ifdef BERT_EMOTION_POISON_SCRATCH
    std::memset(p, 0xff, bytes);
#endif
    data_.reset(static_cast<T*>(p));
    capacity_ = grown;
    return data_.get();
  }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> data_;
  size_t capacity_ = 0;
};

}  // namespace bert_emotion
