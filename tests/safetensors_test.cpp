// Safetensors reader/writer: one test per rejection rule of huggingface/safetensors (tensor.rs
// tests ported as byte literals), the positives of the format spec, exact half/bfloat16 widening,
// and bit-exact writer round trips.
#include "model/safetensors.hpp"

// GCC 12 false positive on std::string operator+ (GCC bug 105651).
#pragma GCC diagnostic ignored "-Wrestrict"

#include <gtest/gtest.h>

#include <unistd.h>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>

#include "util/atomic_file.hpp"

using namespace bert_emotion;

namespace {

// 8-byte little-endian length + header + data, as the reference's tests build them.
std::string file_bytes(const std::string& header, const std::string& data = "", std::optional<uint64_t> n = {}) {
  const uint64_t len = n.value_or(header.size());
  std::string out(8, '\0');
  std::memcpy(out.data(), &len, 8);
  return out + header + data;
}

SafetensorsRule rule_of(const std::string& bytes) {
  try {
    SafetensorsFile::from_bytes(std::string_view(bytes), "test.safetensors");
  } catch (const SafetensorsError& e) {
    // Every message names the source and the rule.
    EXPECT_NE(std::string(e.what()).find("test.safetensors: "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::string("(") + rule_name(e.rule) + ")"), std::string::npos) << e.what();
    return e.rule;
  }
  ADD_FAILURE() << "accepted";
  return SafetensorsRule::TensorNotFound;
}

std::string what_of(const std::string& bytes) {
  try {
    SafetensorsFile::from_bytes(std::string_view(bytes), "test.safetensors");
  } catch (const SafetensorsError& e) {
    return e.what();
  }
  return "";
}

const std::string kI32Test = R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}})";

}  // namespace

// ---- rejections, in the reference's order ----

TEST(SafetensorsReject, HeaderTooSmall) {
  EXPECT_EQ(rule_of(""), SafetensorsRule::HeaderTooSmall);
  EXPECT_EQ(rule_of(std::string(7, '\0')), SafetensorsRule::HeaderTooSmall);
}

TEST(SafetensorsReject, HeaderTooLarge) {
  // test_header_too_large: a header length past MAX_HEADER_SIZE (100,000,000).
  EXPECT_EQ(rule_of(file_bytes(kI32Test, std::string(16, '\0'), kI32Test.size() + 100'000'000)),
            SafetensorsRule::HeaderTooLarge);
  EXPECT_EQ(rule_of(file_bytes("", "", 100'000'001)), SafetensorsRule::HeaderTooLarge);
  EXPECT_EQ(rule_of(file_bytes("", "", std::numeric_limits<uint64_t>::max())), SafetensorsRule::HeaderTooLarge);
}

TEST(SafetensorsReject, InvalidHeaderLength) {
  // test_invalid_header_length: the header runs past the end of the buffer.
  EXPECT_EQ(rule_of(file_bytes("", "", 5'000'000)), SafetensorsRule::InvalidHeaderLength);
  EXPECT_EQ(rule_of(file_bytes(kI32Test, "", kI32Test.size() + 1)), SafetensorsRule::InvalidHeaderLength);
}

TEST(SafetensorsReject, InvalidHeaderNonUtf8) {
  EXPECT_EQ(rule_of(file_bytes("\xFF")), SafetensorsRule::InvalidHeader);
  // inside an otherwise valid JSON string: overlong NUL, a UTF-16 surrogate, a truncated sequence
  EXPECT_EQ(rule_of(file_bytes("{\"a\xC0\x80\":1}")), SafetensorsRule::InvalidHeader);
  EXPECT_EQ(rule_of(file_bytes("{\"a\xED\xA0\x80\":1}")), SafetensorsRule::InvalidHeader);
  EXPECT_EQ(rule_of(file_bytes("{\"a\xE2\x82")), SafetensorsRule::InvalidHeader);
  EXPECT_EQ(rule_of(file_bytes("{\"\xF4\x90\x80\x80\":1}")), SafetensorsRule::InvalidHeader);  // > U+10FFFF
}

TEST(SafetensorsReject, InvalidHeaderStart) {
  EXPECT_EQ(rule_of(file_bytes("[]")), SafetensorsRule::InvalidHeaderStart);
  EXPECT_EQ(rule_of(file_bytes("")), SafetensorsRule::InvalidHeaderStart);
  EXPECT_EQ(rule_of(file_bytes("   ")), SafetensorsRule::InvalidHeaderStart);
}

TEST(SafetensorsReject, InvalidHeaderNotJson) {
  // test_invalid_header_not_json
  EXPECT_EQ(rule_of(file_bytes("{}\xC3\xA9")), SafetensorsRule::InvalidHeaderDeserialization);
  EXPECT_EQ(rule_of(file_bytes(R"({"test":)")), SafetensorsRule::InvalidHeaderDeserialization);
  EXPECT_EQ(rule_of(file_bytes("{} {}")), SafetensorsRule::InvalidHeaderDeserialization);
  // trailing NULs are not JSON whitespace
  EXPECT_EQ(rule_of(file_bytes(std::string("{}\0\0", 4))), SafetensorsRule::InvalidHeaderDeserialization);
}

TEST(SafetensorsReject, BadStructure) {
  auto rule = [](const std::string& h) { return rule_of(file_bytes(h, std::string(16, '\0'))); };
  EXPECT_EQ(rule(R"({"t":5})"), SafetensorsRule::InvalidHeaderDeserialization);
  EXPECT_EQ(rule(R"({"t":{"dtype":"F32","shape":[4]}})"), SafetensorsRule::InvalidHeaderDeserialization);
  EXPECT_EQ(rule(R"({"t":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})"),
            SafetensorsRule::InvalidHeaderDeserialization);
  EXPECT_EQ(rule(R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0]}})"),
            SafetensorsRule::InvalidHeaderDeserialization);
  EXPECT_EQ(rule(R"({"t":{"dtype":"F32","shape":[4.5],"data_offsets":[0,16]}})"),
            SafetensorsRule::InvalidHeaderDeserialization);
  // unknown dtype: the message names the tensor and the dtype
  const std::string bad_dtype =
      file_bytes(R"({"weird":{"dtype":"F31","shape":[4],"data_offsets":[0,16]}})", std::string(16, '\0'));
  EXPECT_EQ(rule_of(bad_dtype), SafetensorsRule::InvalidHeaderDeserialization);
  EXPECT_NE(what_of(bad_dtype).find("tensor \"weird\": unknown dtype \"F31\""), std::string::npos)
      << what_of(bad_dtype);
}

TEST(SafetensorsReject, MetadataMustBeStringMap) {
  const std::string t = R"("t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]})";
  EXPECT_EQ(rule_of(file_bytes(R"({"__metadata__":{"format":1},)" + t + "}", "x")),
            SafetensorsRule::InvalidHeaderDeserialization);
  EXPECT_EQ(rule_of(file_bytes(R"({"__metadata__":["pt"],)" + t + "}", "x")),
            SafetensorsRule::InvalidHeaderDeserialization);
  EXPECT_EQ(rule_of(file_bytes(R"({"__metadata__":{"a":{"b":"c"}},)" + t + "}", "x")),
            SafetensorsRule::InvalidHeaderDeserialization);
}

TEST(SafetensorsReject, DuplicateNames) {
  const std::string e = R"({"dtype":"U8","shape":[1],"data_offsets":[0,1]})";
  const std::string bytes = file_bytes("{\"a\":" + e + ",\"a\":" + e + "}", "x");
  EXPECT_EQ(rule_of(bytes), SafetensorsRule::DuplicateName);
  EXPECT_NE(what_of(bytes).find("\"a\" twice"), std::string::npos);
  // a duplicate key inside an entry or in __metadata__ is just as ambiguous
  EXPECT_EQ(rule_of(file_bytes(R"({"a":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}})", "x")),
            SafetensorsRule::DuplicateName);
  EXPECT_EQ(rule_of(file_bytes(R"({"__metadata__":{"format":"pt","format":"tf"}})")), SafetensorsRule::DuplicateName);
}

TEST(SafetensorsReject, JsonAttackOverlappingOffsets) {
  // test_json_attack: 10 F32 [2, 2] tensors all claiming bytes [0, 16).
  std::string h = "{";
  for (int i = 0; i < 10; ++i)
    h += (i ? "," : "") + std::string("\"weight_") + std::to_string(i) +
         R"(":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})";
  h += "}";
  const std::string bytes = file_bytes(h, std::string(16, '\0'));
  EXPECT_EQ(rule_of(bytes), SafetensorsRule::InvalidOffset);
  EXPECT_NE(what_of(bytes).find("data_offsets [0, 16) overlap the previous tensor"), std::string::npos)
      << what_of(bytes);
}

TEST(SafetensorsReject, InvalidOffsetGapsAndReversed) {
  // a hole: second tensor starts after the first one's end
  EXPECT_EQ(rule_of(file_bytes(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                               R"("b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}})",
                               "xyz")),
            SafetensorsRule::InvalidOffset);
  // the first tensor must start at 0
  EXPECT_EQ(rule_of(file_bytes(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", "xy")),
            SafetensorsRule::InvalidOffset);
  // end before begin
  EXPECT_EQ(rule_of(file_bytes(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},)"
                               R"("b":{"dtype":"U8","shape":[1],"data_offsets":[0,18446744073709551615]}})",
                               "x")),
            SafetensorsRule::TensorInvalidInfo);
  const std::string reversed = file_bytes(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                          R"("b":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}})",
                                          "x");
  EXPECT_EQ(rule_of(reversed), SafetensorsRule::InvalidOffset);
}

TEST(SafetensorsReject, ValidationOverflow) {
  // test_validation_overflow: shape [2, 2^64 - 2]
  EXPECT_EQ(rule_of(file_bytes(R"({"test":{"dtype":"I32","shape":[2,18446744073709551614],"data_offsets":[0,16]}})",
                               std::string(16, '\0'))),
            SafetensorsRule::ValidationOverflow);
  // element count fits, bit count does not
  EXPECT_EQ(rule_of(file_bytes(R"({"test":{"dtype":"F64","shape":[1152921504606846976],"data_offsets":[0,16]}})",
                               std::string(16, '\0'))),
            SafetensorsRule::ValidationOverflow);
}

TEST(SafetensorsReject, MisalignedSlice) {
  // F4 is 4 bits: 3 elements are 12 bits, not a whole number of bytes
  EXPECT_EQ(rule_of(file_bytes(R"({"t":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}})", "xy")),
            SafetensorsRule::MisalignedSlice);
  // 4 F4 values are 2 bytes: accepted
  auto ok = SafetensorsFile::from_bytes(file_bytes(R"({"t":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}})", "xy"));
  EXPECT_EQ(ok->at("t").numel, 4u);
}

TEST(SafetensorsReject, TensorInvalidInfo) {
  // test_invalid_info: a 2x2 I32 tensor needs 16 bytes, not 4
  const std::string bytes =
      file_bytes(R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,4]}})", std::string(4, '\0'));
  EXPECT_EQ(rule_of(bytes), SafetensorsRule::TensorInvalidInfo);
  EXPECT_NE(what_of(bytes).find("hold 4 bytes but I32 shape needs 16"), std::string::npos) << what_of(bytes);
}

TEST(SafetensorsReject, MetadataIncompleteBuffer) {
  // test_metadata_incomplete_buffer: trailing bytes after the last tensor (polyglot files)
  EXPECT_EQ(rule_of(file_bytes(kI32Test, std::string(16, '\0') + "extra_bogus_data_for_polyglot_file")),
            SafetensorsRule::MetadataIncompleteBuffer);
  // and a truncated buffer
  EXPECT_EQ(rule_of(file_bytes(kI32Test, std::string(15, '\0'))), SafetensorsRule::MetadataIncompleteBuffer);
  EXPECT_EQ(rule_of(file_bytes("{}", "x")), SafetensorsRule::MetadataIncompleteBuffer);
}

TEST(SafetensorsReject, TruncationsAndCorruptionsNeverCrash) {
  // Every prefix of a valid file and every single-byte corruption of its header is either
  // accepted or refused with a SafetensorsError; nothing else escapes.
  std::vector<float> x = {1.f, 2.f, 3.f, 4.f, 5.f, 6.f};
  const std::string good =
      serialize_safetensors({{"a", Dtype::F32, {2, 3}, x.data(), 24}, {"b", Dtype::F32, {}, x.data(), 4}});
  for (size_t len = 0; len < good.size(); ++len)
    EXPECT_THROW(SafetensorsFile::from_bytes(std::string_view(good).substr(0, len)), SafetensorsError) << len;
  std::mt19937 gen(7);
  for (size_t i = 0; i < good.size() - 28; ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(gen() & 0xFF);
    try {
      SafetensorsFile::from_bytes(std::string_view(bad));
    } catch (const SafetensorsError&) {
    }
  }
}

// ---- accepted files ----

TEST(SafetensorsRead, LeadingAndTrailingWhitespaceInHeader) {
  // test_whitespace_padded_header / test_whitespace_leading_padded_header
  auto trailing = SafetensorsFile::from_bytes(file_bytes(kI32Test + "       ", std::string(16, '\0')));
  EXPECT_EQ(trailing->at("test").shape, (std::vector<int64_t>{2, 2}));
  auto leading = SafetensorsFile::from_bytes(file_bytes(" \t\n\r" + kI32Test, std::string(16, '\0')));
  EXPECT_EQ(leading->at("test").dtype, Dtype::I32);
  EXPECT_EQ(leading->header_size(), kI32Test.size() + 4);
}

TEST(SafetensorsRead, ZeroSizedTensorsAndScalars) {
  const std::string h = R"({"empty":{"dtype":"F32","shape":[2,0],"data_offsets":[0,0]},)"
                        R"("none":{"dtype":"F16","shape":[0],"data_offsets":[0,0]},)"
                        R"("scalar":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})";
  const float v = 2.5f;
  auto f = SafetensorsFile::from_bytes(file_bytes(h, std::string(reinterpret_cast<const char*>(&v), 4)));
  EXPECT_EQ(f->at("empty").numel, 0u);
  EXPECT_EQ(f->at("empty").shape, (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(f->bytes("none").size(), 0u);
  EXPECT_TRUE(f->at("scalar").shape.empty());
  EXPECT_EQ(f->at("scalar").numel, 1u);
  float out = 0;
  f->to_float32("scalar", &out);
  EXPECT_EQ(out, 2.5f);
  EXPECT_EQ(f->names(), (std::vector<std::string>{"empty", "none", "scalar"}));
}

TEST(SafetensorsRead, EmptyHeaderObjectAndMetadata) {
  auto f = SafetensorsFile::from_bytes(file_bytes(R"({"__metadata__":{"format":"pt","note":"héllo"}})"));
  EXPECT_TRUE(f->tensors().empty());
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_EQ(f->metadata().at("note"), "h\xC3\xA9llo");
  auto g = SafetensorsFile::from_bytes(file_bytes(R"({"__metadata__":null})"));
  EXPECT_TRUE(g->metadata().empty());
}

TEST(SafetensorsRead, MissingTensorIsTensorNotFound) {
  auto f = SafetensorsFile::from_bytes(file_bytes(kI32Test, std::string(16, '\0')), "m.safetensors");
  EXPECT_EQ(f->find("nope"), nullptr);
  try {
    f->at("nope");
    FAIL();
  } catch (const SafetensorsError& e) {
    EXPECT_EQ(e.rule, SafetensorsRule::TensorNotFound);
    EXPECT_NE(std::string(e.what()).find("no tensor named \"nope\""), std::string::npos);
  }
}

TEST(SafetensorsRead, Float16Widening) {
  // Hand-derived IEEE binary16 values: sign | 5-bit exponent (bias 15) | 10-bit mantissa.
  const std::vector<std::pair<uint16_t, float>> cases = {
      {0x0000, 0.0f},
      {0x3C00, 1.0f},                        // 2^0
      {0xC000, -2.0f},                       // -2^1
      {0x3555, 0.333251953125f},             // (1 + 341/1024) / 4
      {0x7BFF, 65504.0f},                    // largest finite: (2 - 2^-10) * 2^15
      {0x0400, 6.103515625e-05f},            // smallest normal: 2^-14
      {0x0001, 5.9604644775390625e-08f},     // smallest subnormal: 2^-24
      {0x03FF, 6.0975551605224609375e-05f},  // largest subnormal: 1023 * 2^-24
      {0x8001, -5.9604644775390625e-08f},
      {0x7C00, std::numeric_limits<float>::infinity()},
      {0xFC00, -std::numeric_limits<float>::infinity()},
  };
  for (const auto& [h, want] : cases) EXPECT_EQ(f16_to_f32(h), want) << std::hex << h;
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
  EXPECT_EQ(f16_to_f32(0x8000), 0.0f);
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7E00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7C01)));  // signalling NaN stays NaN, not inf

  // Through a file.
  std::vector<uint16_t> raw;
  for (const auto& c : cases) raw.push_back(c.first);
  const std::string bytes =
      serialize_safetensors({{"h", Dtype::F16, {static_cast<int64_t>(raw.size())}, raw.data(), raw.size() * 2}});
  auto f = SafetensorsFile::from_bytes(std::string_view(bytes));
  std::vector<float> out(raw.size());
  f->to_float32("h", out.data());
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(out[i], cases[i].second) << i;
  EXPECT_EQ(f->f32_data(f->at("h")), nullptr);
}

TEST(SafetensorsRead, Float16WideningAllBitPatterns) {
  // The bulk path (vectorised where the CPU has F16C) equals the scalar conversion for all 65536
  // half values; NaNs stay NaNs of the same sign.
  std::vector<uint16_t> raw(65536);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint16_t>(i);
  const std::string bytes = serialize_safetensors({{"h", Dtype::F16, {65536}, raw.data(), raw.size() * 2}});
  auto f = SafetensorsFile::from_bytes(std::string_view(bytes));
  std::vector<float> out(raw.size());
  f->to_float32("h", out.data());
  for (size_t i = 0; i < raw.size(); ++i) {
    const float want = f16_to_f32(raw[i]);
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(out[i])) << i;
      ASSERT_EQ(std::signbit(out[i]), std::signbit(want)) << i;
    } else {
      ASSERT_EQ(std::bit_cast<uint32_t>(out[i]), std::bit_cast<uint32_t>(want)) << i;
    }
  }
  // and the scalar conversion is monotonic over the positive finite halves: 0x0000..0x7BFF
  for (uint32_t h = 1; h <= 0x7BFF; ++h)
    ASSERT_LT(f16_to_f32(static_cast<uint16_t>(h - 1)), f16_to_f32(static_cast<uint16_t>(h))) << h;
}

TEST(SafetensorsRead, BFloat16Widening) {
  // bfloat16 is the top half of a float32: sign | 8-bit exponent (bias 127) | 7-bit mantissa.
  const std::vector<std::pair<uint16_t, float>> cases = {
      {0x3F80, 1.0f},
      {0xC040, -3.0f},                    // -(1 + 64/128) * 2^1
      {0x4049, 3.140625f},                // (1 + 73/128) * 2
      {0x0080, 1.1754943508222875e-38f},  // smallest normal float: 2^-126
      {0x0001, 9.1835496157991212e-41f},  // 2^-133, a float subnormal
      {0x7F7F, 3.3895313892515355e38f},   // largest finite: (2 - 2^-7) * 2^127
      {0x7F80, std::numeric_limits<float>::infinity()},
      {0xFF80, -std::numeric_limits<float>::infinity()},
  };
  for (const auto& [b, want] : cases) EXPECT_EQ(bf16_to_f32(b), want) << std::hex << b;
  EXPECT_TRUE(std::isnan(bf16_to_f32(0x7FC0)));
  EXPECT_TRUE(std::isnan(bf16_to_f32(0xFFC1)));

  std::vector<uint16_t> raw;
  for (const auto& c : cases) raw.push_back(c.first);
  const std::string bytes = serialize_safetensors({{"b", Dtype::BF16, {2, 4}, raw.data(), raw.size() * 2}});
  auto f = SafetensorsFile::from_bytes(std::string_view(bytes));
  std::vector<float> out(raw.size());
  f->to_float32("b", out.data());
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_EQ(out[i], cases[i].second) << i;
}

TEST(SafetensorsRead, NonFloatDtypeRejectedForFloats) {
  std::vector<int64_t> ids = {1, 2, 3};
  const std::string bytes = serialize_safetensors({{"position_ids", Dtype::I64, {1, 3}, ids.data(), 24}});
  auto f = SafetensorsFile::from_bytes(std::string_view(bytes), "m.safetensors");
  std::vector<float> out(3);
  try {
    f->to_float32("position_ids", out.data());
    FAIL();
  } catch (const UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("tensor \"position_ids\" has dtype I64"), std::string::npos) << e.what();
  }
}

// ---- writer ----

TEST(SafetensorsWrite, HeaderLayoutMatchesReference) {
  std::vector<float> a = {1, 2, 3, 4};
  std::vector<uint16_t> h = {0x3C00, 0x4000};
  std::vector<int64_t> ids = {7, 8, 9};
  const std::string bytes = serialize_safetensors({{"zeta", Dtype::F32, {2, 2}, a.data(), 16},
                                                   {"alpha", Dtype::F32, {4}, a.data(), 16},
                                                   {"half", Dtype::F16, {2}, h.data(), 4},
                                                   {"ids", Dtype::I64, {3}, ids.data(), 24}});
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  const std::string header = bytes.substr(8, n);
  // serde_json's compact form, metadata first, then by dtype alignment (I64 > F32 > F16), then name
  const std::string expected_json = R"({"__metadata__":{"format":"pt"},)"
                                    R"("ids":{"dtype":"I64","shape":[3],"data_offsets":[0,24]},)"
                                    R"("alpha":{"dtype":"F32","shape":[4],"data_offsets":[24,40]},)"
                                    R"("zeta":{"dtype":"F32","shape":[2,2],"data_offsets":[40,56]},)"
                                    R"("half":{"dtype":"F16","shape":[2],"data_offsets":[56,60]}})";
  EXPECT_EQ(header.substr(0, expected_json.size()), expected_json);
  EXPECT_EQ(header.find_first_not_of(' ', expected_json.size()), std::string::npos);  // only space padding
  EXPECT_LT(header.size() - expected_json.size(), 8u);
  EXPECT_EQ(bytes.size(), 8 + n + 60);
  auto f = SafetensorsFile::from_bytes(std::string_view(bytes));
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_EQ(f->tensors()[0].name, "ids");
}

TEST(SafetensorsWrite, RejectsInconsistentInput) {
  std::vector<float> a = {1, 2, 3, 4};
  EXPECT_THROW(serialize_safetensors({{"a", Dtype::F32, {2, 2}, a.data(), 12}}), InvalidArgument);
  EXPECT_THROW(serialize_safetensors({{"a", Dtype::F32, {4}, a.data(), 16}, {"a", Dtype::F32, {4}, a.data(), 16}}),
               InvalidArgument);
  EXPECT_THROW(serialize_safetensors({{"__metadata__", Dtype::F32, {4}, a.data(), 16}}), InvalidArgument);
  EXPECT_THROW(serialize_safetensors({{"a", Dtype::F32, {-1}, a.data(), 0}}), InvalidArgument);
}

TEST(SafetensorsWrite, RandomRoundTripsAreBitExact) {
  // The reference's proptest round trip: arbitrary tensors, dtypes and metadata, 20 cases.
  std::mt19937_64 gen(1234);
  const Dtype dtypes[] = {Dtype::F32, Dtype::F16, Dtype::BF16, Dtype::I64, Dtype::U8, Dtype::F64, Dtype::BOOL};
  for (int round = 0; round < 20; ++round) {
    const int n_tensors = static_cast<int>(gen() % 6);
    std::vector<std::string> storage(n_tensors);
    std::vector<TensorToWrite> tensors;
    for (int t = 0; t < n_tensors; ++t) {
      TensorToWrite w;
      w.name = "t" + std::to_string(gen() % 1000) + "_" + std::to_string(t);
      w.dtype = dtypes[gen() % 7];
      const int rank = static_cast<int>(gen() % 4);
      size_t numel = 1;
      for (int r = 0; r < rank; ++r) {
        w.shape.push_back(static_cast<int64_t>(gen() % 5));
        numel *= static_cast<size_t>(w.shape.back());
      }
      storage[t].resize(numel * dtype_bits(w.dtype) / 8);
      for (auto& c : storage[t]) c = static_cast<char>(gen());
      w.data = storage[t].data();
      w.nbytes = storage[t].size();
      tensors.push_back(w);
    }
    std::map<std::string, std::string> meta;
    if (gen() % 2) meta["format"] = "pt";
    if (gen() % 2) meta["k" + std::to_string(gen() % 100)] = "v\"\\\n" + std::to_string(gen());
    const std::string bytes = serialize_safetensors(tensors, meta);
    auto f = SafetensorsFile::from_bytes(std::string_view(bytes));
    EXPECT_EQ(f->metadata(), meta);
    ASSERT_EQ(f->tensors().size(), tensors.size());
    for (int t = 0; t < n_tensors; ++t) {
      const TensorEntry& e = f->at(tensors[t].name);
      EXPECT_EQ(e.dtype, tensors[t].dtype);
      EXPECT_EQ(e.shape, tensors[t].shape);
      auto got = f->bytes(e);
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(got.data()), got.size()), storage[t]);
    }
    // re-serialising what was read gives the same bytes
    std::vector<TensorToWrite> again;
    for (const auto& e : f->tensors())
      again.push_back({e.name, e.dtype, e.shape, f->bytes(e).data(), f->bytes(e).size()});
    EXPECT_EQ(serialize_safetensors(again, f->metadata()), bytes);
  }
}

TEST(SafetensorsWrite, FileIsAtomicMmappedAndAligned) {
  const auto dir = std::filesystem::temp_directory_path() / ("st_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::vector<float> w(1000);
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(static_cast<float>(i)) * 1e-3f;
  w[3] = std::numeric_limits<float>::quiet_NaN();
  w[4] = -0.0f;
  std::vector<float> b = {0.5f, -1.25f, 3.0f};
  std::vector<TensorToWrite> tensors = {{"layer.weight", Dtype::F32, {10, 100}, w.data(), 4000},
                                        {"layer.bias", Dtype::F32, {3}, b.data(), 12}};
  const auto path = dir / "model.safetensors";
  write_safetensors(path, tensors);
  EXPECT_EQ(read_file(path), serialize_safetensors(tensors));
  size_t leftovers = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) leftovers += e.path() != path;
  EXPECT_EQ(leftovers, 0u) << "temporary file left behind";

  auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f->file_size(), std::filesystem::file_size(path));
  const float* in_place = f->f32_data(f->at("layer.weight"));
  ASSERT_NE(in_place, nullptr);  // 8-byte aligned header -> tensors usable straight from the mapping
  EXPECT_EQ(std::memcmp(in_place, w.data(), 4000), 0);
  std::vector<float> copy(3);
  f->to_float32("layer.bias", copy.data());
  EXPECT_EQ(copy, b);

  EXPECT_THROW(SafetensorsFile::open(dir / "missing.safetensors"), IoError);
  std::filesystem::remove_all(dir);
}
