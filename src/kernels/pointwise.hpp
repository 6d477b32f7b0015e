// pointwise.hpp — element-wise kernels: activations (exact GELU and friends) and inverted dropout.
//
// Every activation has a forward and a backward; backward takes the forward's *input* and writes
// din = dout * f'(in) (overwriting). GELU is the exact erf form HF DistilBERT uses
// ("activation": "gelu"), computed in float with std::erf as torch does; "gelu_new" is the tanh
// approximation. parse_activation maps config.json's `activation` string and throws
// UnsupportedError for anything else.
//
// Dropout is inverted (kept values scaled by 1/(1-p), as torch) and stateless: element i is kept
// iff counter_uniform(seed, stream, i) >= p, so a step's masks can be regenerated from
// (seed, dropout_stream(step, site)). The keep mask (one byte per element) is written for backward.
//
//   Activation act = parse_activation(cfg.activation);
//   activation_forward(act, g, f, n);                 // g = gelu(f)
//   activation_backward(act, df, dg, f, n);           // df = dg * gelu'(f)
//   dropout_forward(y, keep, x, n, 0.1f, seed, dropout_stream(step, site));
//   dropout_backward(dx, dy, keep, n, 0.1f);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace bert_emotion {

enum class Activation { gelu_erf, gelu_tanh, relu, silu };

// "gelu" -> gelu_erf, "gelu_new" -> gelu_tanh, "relu", "silu"/"swish". Throws UnsupportedError.
Activation parse_activation(const std::string& name);

void gelu_erf_forward(float* out, const float* in, size_t n);
void gelu_erf_backward(float* din, const float* dout, const float* in, size_t n);
void gelu_tanh_forward(float* out, const float* in, size_t n);
void gelu_tanh_backward(float* din, const float* dout, const float* in, size_t n);
void relu_forward(float* out, const float* in, size_t n);
void relu_backward(float* din, const float* dout, const float* in, size_t n);
void tanh_forward(float* out, const float* in, size_t n);  // the BERT pooler / RoBERTa head
void tanh_backward(float* din, const float* dout, const float* in, size_t n);
void silu_forward(float* out, const float* in, size_t n);
void silu_backward(float* din, const float* dout, const float* in, size_t n);

void activation_forward(Activation act, float* out, const float* in, size_t n);
void activation_backward(Activation act, float* din, const float* dout, const float* in, size_t n);

// The dropout stream for one (step, site): sites are small integers chosen by the model
// (embeddings, each layer's attention and FFN, the head).
uint64_t dropout_stream(uint64_t step, uint64_t site);

// out[i] = keep[i] ? in[i] / (1 - p) : 0; out may alias in. p <= 0: copy, keep all. p >= 1: zeros.
// keep may be null when backward will not run.
void dropout_forward(float* out, uint8_t* keep, const float* in, size_t n, float p, uint64_t seed, uint64_t stream);

// din[i] = keep[i] ? dout[i] / (1 - p) : 0; din may alias dout.
void dropout_backward(float* din, const float* dout, const uint8_t* keep, size_t n, float p);

}  // namespace bert_emotion
