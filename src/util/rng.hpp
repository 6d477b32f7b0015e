// rng.hpp — the engine's deterministic random numbers (one seeded source, owned by the caller).
//
// Rng: xoshiro256** seeded through splitmix64; uniform floats, normal(0, std) by Box-Muller,
// shuffles. Its whole state is four words, saved in checkpoints so that a resumed run continues the
// same sequence. counter_uniform(): a stateless hash of (seed, stream, index) -> [0, 1), used for
// dropout masks so that any step's masks can be regenerated without carrying RNG state.
//
//   Rng rng(42);
//   float x = rng.normal(0.f, 0.02f);
//   rng.shuffle(order);                         // Fisher-Yates
//   float u = counter_uniform(seed, site, i);   // same (seed, site, i) -> same u, always
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace bert_emotion {

inline uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Stateless mixing of three words; good enough to drive dropout masks.
inline uint64_t hash3(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t x = a;
  uint64_t h = splitmix64(x);
  x = h ^ b;
  h = splitmix64(x);
  x = h ^ c;
  return splitmix64(x);
}

// Uniform in [0, 1) from (seed, stream, index), 24 bits of resolution like a float mantissa.
inline float counter_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
  return static_cast<float>(hash3(seed, stream, index) >> 40) * (1.0f / 16777216.0f);
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 42) { reseed(seed); }
  void reseed(uint64_t seed) {
    uint64_t x = seed;
    for (auto& w : s_) w = splitmix64(x);
  }
  uint64_t next_u64() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // [0, 1) with 53 bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0); }
  // Box-Muller in double precision, rounded to float.
  float normal(float mean, float stddev) {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    const double r = std::sqrt(-2.0 * std::log(u1));
    return static_cast<float>(mean + stddev * r * std::cos(6.283185307179586 * u2));
  }
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next_u64() % n; }
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }
  std::array<uint64_t, 4> state() const { return s_; }
  void set_state(const std::array<uint64_t, 4>& s) { s_ = s; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_{};
};

}  // namespace bert_emotion
