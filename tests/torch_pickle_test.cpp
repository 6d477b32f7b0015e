// The restricted pickle interpreter on bytes in memory: a real torch.save data.pkl, the limits
// (memo, stack, containers), refused opcodes, and every truncation / single-byte corruption of a
// real pickle ending in a parse or a CheckpointError (never a crash).
#include <gtest/gtest.h>

#include "model/torch_pickle.hpp"
#include "model/torch_zip.hpp"

using namespace bert_emotion;
namespace fs = std::filesystem;

namespace {

const fs::path kBin = fs::path(FIXTURES_DIR) / "checkpoints" / "bin-f32" / "pytorch_model.bin";

std::vector<uint8_t> real_pickle() {
  auto zip = TorchZip::open(kBin);
  const auto s = zip->entry("data.pkl");
  return {s.begin(), s.end()};
}

CheckpointRule rule_of(const std::string& bytes, const PickleLimits& limits = {}, std::string* msg = nullptr) {
  try {
    parse_torch_pickle(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), "test.pkl", limits);
  } catch (const CheckpointError& e) {
    if (msg) *msg = e.what();
    return e.rule;
  }
  ADD_FAILURE() << "parsed";
  return CheckpointRule::BadIndex;
}

}  // namespace

TEST(TorchPickle, ReadsARealStateDict) {
  const auto bytes = real_pickle();
  const TorchStateDict sd = parse_torch_pickle(bytes, "data.pkl");
  std::map<std::string, const PickledTensor*> by_name;
  for (const auto& t : sd.tensors) by_name[t.name] = &t;
  ASSERT_TRUE(by_name.count("vocab_projector.weight"));
  const PickledTensor& word = *by_name.at("distilbert.embeddings.word_embeddings.weight");
  EXPECT_EQ(word.shape, (std::vector<int64_t>{200, 16}));
  EXPECT_EQ(word.stride, (std::vector<int64_t>{16, 1}));
  EXPECT_EQ(by_name.at("vocab_projector.weight")->storage_key, word.storage_key);  // tied
  const PickledTensor& lin1 = *by_name.at("distilbert.transformer.layer.1.ffn.lin1.weight");
  EXPECT_EQ(lin1.stride, (std::vector<int64_t>{1, 32}));  // [32, 16] stored transposed
  EXPECT_EQ(by_name.at("distilbert.transformer.layer.0.attention.q_lin.weight")->storage_offset, 7u);
  EXPECT_EQ(by_name.at("distilbert.embeddings.position_ids")->dtype, Dtype::I64);
  EXPECT_EQ(sd.storages.size(), sd.tensors.size() - 1);  // one storage shared by the tied pair
}

TEST(TorchPickle, HugeMemoStackAndContainersHitLimits) {
  std::string memo = "\x80\x02N";
  for (uint32_t k = 0; k <= (1u << 20); ++k) memo += 'r' + std::string(reinterpret_cast<const char*>(&k), 4);
  std::string msg;
  EXPECT_EQ(rule_of(memo + ".", {}, &msg), CheckpointRule::LimitExceeded);
  EXPECT_NE(msg.find("memo exceeds 1048576"), std::string::npos) << msg;
  // a memo key far away costs nothing (no dense table)
  EXPECT_EQ(rule_of(std::string("\x80\x02Nr\xff\xff\xff\xff.", 9)), CheckpointRule::BadPickle);  // not a dict
  EXPECT_EQ(rule_of("\x80\x02" + std::string((1 << 20) + 1, 'N') + "."), CheckpointRule::LimitExceeded);
  EXPECT_EQ(rule_of("\x80\x02" + std::string((1 << 20) + 1, '(') + "."), CheckpointRule::LimitExceeded);
  EXPECT_EQ(rule_of("\x80\x02" + std::string(100, ']') + ".", {.max_containers = 50}), CheckpointRule::LimitExceeded);
  EXPECT_EQ(rule_of("\x80\x02(]" + std::string(100, '2') + "t.", {.max_items = 50}), CheckpointRule::LimitExceeded);
  // deep nesting is just an index: no recursion, no crash
  std::string deep = "\x80\x02N";
  for (int i = 0; i < 200000; ++i) deep += "\x85";
  EXPECT_EQ(rule_of(deep + "."), CheckpointRule::BadPickle);
}

TEST(TorchPickle, RefusedOpcodesAreNamed) {
  std::string msg;
  EXPECT_EQ(rule_of("\x80\x02(cos\nsystem\ni.", {}, &msg), CheckpointRule::ForbiddenGlobal);
  EXPECT_EQ(rule_of("\x80\x02(i.", {}, &msg), CheckpointRule::UnsupportedOpcode);
  EXPECT_NE(msg.find("(INST)"), std::string::npos) << msg;
  EXPECT_EQ(rule_of("\x80\x02"
                    "B\x01\x00\x00\x00x.",
                    {}, &msg),
            CheckpointRule::UnsupportedOpcode);
  EXPECT_EQ(rule_of("\x80\x02}K\x01K\x02s.", {}, &msg), CheckpointRule::BadPickle);  // int key, int value
  EXPECT_EQ(rule_of("\x80\x02X\xff\xff\xff\x7f", {}, &msg), CheckpointRule::BadPickle);
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  // STACK_GLOBAL goes through the same allow-list
  EXPECT_EQ(rule_of("\x80\x04\x8c\x02os\x8c\x06system\x93.", {}, &msg), CheckpointRule::ForbiddenGlobal);
  EXPECT_NE(msg.find("os.system"), std::string::npos) << msg;
}

TEST(TorchPickle, TruncationsAndCorruptionsNeverCrash) {
  const auto bytes = real_pickle();
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_THROW(parse_torch_pickle(std::span(bytes.data(), n), "t.pkl"), CheckpointError) << n;
  }
  for (size_t i = 0; i < bytes.size(); i += 3) {
    for (uint8_t x : {0x01, 0x80, 0xff}) {
      auto b = bytes;
      b[i] ^= x;
      try {
        parse_torch_pickle(b, "c.pkl");
      } catch (const CheckpointError&) {
      }
    }
  }
}
