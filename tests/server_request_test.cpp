// Request parsing (TEI's /predict and /tokenize shapes), truncation and the metrics registry.
// Expected values come from TEI's deserializer rules (router/src/http/types.rs) and HF tokenizers'
// longest_first truncation, derived by hand in each test.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <typeinfo>

#include "serve/api_error.hpp"
#include "serve/prometheus.hpp"
#include "serve/request.hpp"
#include "serve/text_encoder.hpp"
#include "serve/truncation.hpp"
#include "test_support.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"
#include "util/rng.hpp"

using namespace bert_emotion;
using namespace bert_emotion::serve;

namespace {

ErrorType predict_error(const std::string& body, size_t max_batch = 32) {
  try {
    parse_predict_request(body, max_batch);
  } catch (const ApiError& e) {
    return e.type;
  }
  ADD_FAILURE() << "no error for " << body;
  return ErrorType::Backend;
}

}  // namespace

TEST(PredictRequest, SingleString) {
  auto r = parse_predict_request(R"({"inputs": "I love it"})", 32);
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_FALSE(r.is_batch);
  EXPECT_EQ(r.inputs[0].first, "I love it");
  EXPECT_FALSE(r.inputs[0].second.has_value());
  EXPECT_FALSE(r.truncate.has_value());
  EXPECT_FALSE(r.raw_scores);
  EXPECT_EQ(r.truncation_direction, TruncationDirection::Right);
}

TEST(PredictRequest, TwoStringsAreOnePairNotABatch) {
  auto r = parse_predict_request(R"({"inputs": ["a", "b"]})", 32);
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_FALSE(r.is_batch);
  EXPECT_EQ(r.inputs[0].first, "a");
  ASSERT_TRUE(r.inputs[0].second.has_value());
  EXPECT_EQ(*r.inputs[0].second, "b");
}

TEST(PredictRequest, OneStringArrayIsOneSequence) {
  auto r = parse_predict_request(R"({"inputs": ["only"]})", 32);
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_FALSE(r.is_batch);
  EXPECT_FALSE(r.inputs[0].second.has_value());
}

TEST(PredictRequest, BatchOfSinglesAndPairs) {
  auto r = parse_predict_request(R"({"inputs": [["a"], ["b", "c"], ["d"]], "truncate": true,
                                     "truncation_direction": "Left", "raw_scores": true, "unknown": 1})",
                                 32);
  ASSERT_EQ(r.inputs.size(), 3u);
  EXPECT_TRUE(r.is_batch);
  EXPECT_EQ(r.inputs[0].first, "a");
  EXPECT_FALSE(r.inputs[0].second);
  EXPECT_EQ(r.inputs[1].first, "b");
  EXPECT_EQ(*r.inputs[1].second, "c");
  EXPECT_EQ(r.inputs[2].first, "d");
  EXPECT_EQ(r.truncate, std::optional<bool>(true));
  EXPECT_EQ(r.truncation_direction, TruncationDirection::Left);
  EXPECT_TRUE(r.raw_scores);
}

TEST(PredictRequest, TruncateNullMeansServerDefault) {
  auto r = parse_predict_request(R"({"inputs": "x", "truncate": null, "truncation_direction": "right"})", 32);
  EXPECT_FALSE(r.truncate.has_value());
  auto f = parse_predict_request(R"({"inputs": "x", "truncate": false, "truncation_direction": "left"})", 32);
  EXPECT_EQ(f.truncate, std::optional<bool>(false));
  EXPECT_EQ(f.truncation_direction, TruncationDirection::Left);
}

TEST(PredictRequest, RejectionRules) {
  EXPECT_EQ(predict_error(R"({"inputs": []})"), ErrorType::Empty);
  EXPECT_EQ(predict_error(R"({"inputs": ["a", "b", "c"]})"), ErrorType::Validation);  // 3 strings: not a pair
  EXPECT_EQ(predict_error(R"({"inputs": ["a", ["b"]]})"), ErrorType::Validation);     // mixed
  EXPECT_EQ(predict_error(R"({"inputs": [["a"], "b"]})"), ErrorType::Validation);
  EXPECT_EQ(predict_error(R"({"inputs": [[]]})"), ErrorType::Validation);
  EXPECT_EQ(predict_error(R"({"inputs": [["a", "b", "c"]]})"), ErrorType::Validation);
  EXPECT_EQ(predict_error(R"({"inputs": [[1]]})"), ErrorType::Validation);
  EXPECT_EQ(predict_error(R"({"inputs": 5})"), ErrorType::Validation);
  EXPECT_EQ(predict_error(R"({"inputs": null})"), ErrorType::Validation);
  EXPECT_EQ(predict_error(R"({"inputs": [null]})"), ErrorType::Validation);
  EXPECT_EQ(predict_error(R"({"text": "a"})"), ErrorType::Validation);   // missing inputs
  EXPECT_EQ(predict_error(R"(["a"])"), ErrorType::Validation);           // not an object
  EXPECT_EQ(predict_error(R"({"inputs": "a")"), ErrorType::Validation);  // truncated JSON
  EXPECT_EQ(predict_error(""), ErrorType::Validation);
  EXPECT_EQ(predict_error(R"({"inputs": "a", "truncate": "yes"})"), ErrorType::Validation);
  EXPECT_EQ(predict_error(R"({"inputs": "a", "raw_scores": 1})"), ErrorType::Validation);
  EXPECT_EQ(predict_error(R"({"inputs": "a", "truncation_direction": "up"})"), ErrorType::Validation);
  EXPECT_EQ(predict_error("{\"inputs\": \"\xff\"}"), ErrorType::Validation);          // invalid UTF-8
  EXPECT_EQ(predict_error(R"({"inputs": "a", "x": 1e400})"), ErrorType::Validation);  // number overflow (out_of_range)
}

TEST(PredictRequest, BatchSizeLimitNamesTheLimit) {
  try {
    parse_predict_request(R"({"inputs": [["a"], ["b"], ["c"]]})", 2);
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.type, ErrorType::Validation);
    EXPECT_EQ(e.metric_label, "batch_size");
    EXPECT_EQ(std::string(e.what()), "batch size 3 > maximum allowed batch size 2");
  }
  EXPECT_NO_THROW(parse_predict_request(R"({"inputs": [["a"], ["b"]]})", 2));
}

TEST(PredictRequest, DeepNestingIsRejectedBeforeParsing) {
  std::string deep = "{\"inputs\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(predict_error(deep), ErrorType::Validation);
  EXPECT_EQ(json_nesting_depth(R"({"a": "[[[[", "b": [[1]]})", 16), 3u);  // brackets in strings do not count
  EXPECT_EQ(json_nesting_depth(R"({"a": "\"[[", "b": [1]})", 16), 2u);    // escaped quote stays in the string
}

TEST(TokenizeRequest, Shapes) {
  auto one = parse_tokenize_request(R"({"inputs": "hello"})", 32);
  ASSERT_EQ(one.inputs.size(), 1u);
  EXPECT_TRUE(one.add_special_tokens);
  auto two = parse_tokenize_request(R"({"inputs": ["a", "b"], "add_special_tokens": false})", 32);
  ASSERT_EQ(two.inputs.size(), 2u);  // /tokenize: a list of strings is a batch
  EXPECT_FALSE(two.add_special_tokens);
  EXPECT_THROW(parse_tokenize_request(R"({"inputs": []})", 32), ApiError);
  EXPECT_THROW(parse_tokenize_request(R"({"inputs": ["a", "b", "c"]})", 2), ApiError);
  EXPECT_THROW(parse_tokenize_request(R"({"inputs": [["a"]]})", 32), ApiError);
}

// ---- truncation ----

namespace {

// [CLS] a1..an [SEP] (b1..bm [SEP]) with ids = position markers: a_i = 1000 + i, b_i = 2000 + i.
Encoding make_encoding(size_t n, size_t m, bool pair) {
  Encoding e;
  auto push = [&](int32_t id, bool special, uint8_t type) {
    e.ids.push_back(id);
    e.tokens.push_back(std::to_string(id));
    e.offsets.push_back({0, 0});
    e.special_tokens_mask.push_back(special);
    e.type_ids.push_back(type);
    e.sequence_ids.push_back(special ? -1 : int8_t(type));
  };
  push(101, true, 0);
  for (size_t i = 0; i < n; ++i) push(1000 + int32_t(i), false, 0);
  push(102, true, 0);
  if (pair) {
    for (size_t i = 0; i < m; ++i) push(2000 + int32_t(i), false, 1);
    push(102, true, 1);
  }
  return e;
}

}  // namespace

TEST(Truncation, SingleRightKeepsHeadAndSpecials) {
  Encoding e = make_encoding(10, 0, false);
  EXPECT_TRUE(truncate_encoding(e, 5, TruncationDirection::Right));
  EXPECT_EQ(e.ids, (std::vector<int32_t>{101, 1000, 1001, 1002, 102}));
  EXPECT_EQ(e.tokens.size(), 5u);
  EXPECT_EQ(e.offsets.size(), 5u);
  EXPECT_EQ(e.special_tokens_mask, (std::vector<uint8_t>{1, 0, 0, 0, 1}));
}

TEST(Truncation, SingleLeftKeepsTail) {
  Encoding e = make_encoding(10, 0, false);
  EXPECT_TRUE(truncate_encoding(e, 5, TruncationDirection::Left));
  EXPECT_EQ(e.ids, (std::vector<int32_t>{101, 1007, 1008, 1009, 102}));
}

TEST(Truncation, ShortInputUntouched) {
  Encoding e = make_encoding(3, 0, false);
  EXPECT_FALSE(truncate_encoding(e, 5, TruncationDirection::Right));
  EXPECT_EQ(e.ids.size(), 5u);
  EXPECT_THROW(truncate_encoding(e, 1, TruncationDirection::Right), InvalidArgument);
}

TEST(Truncation, LongestFirstLengths) {
  // Hand-derived from tokenizers' LongestFirst: shorter side kept whole when the longer absorbs the cut,
  // else both get budget/2 and the longer original gets the odd token.
  EXPECT_EQ(longest_first_lengths(3, 10, 8), (std::pair<size_t, size_t>{3, 5}));
  EXPECT_EQ(longest_first_lengths(10, 3, 8), (std::pair<size_t, size_t>{5, 3}));
  EXPECT_EQ(longest_first_lengths(10, 10, 8), (std::pair<size_t, size_t>{4, 4}));
  EXPECT_EQ(longest_first_lengths(6, 10, 9), (std::pair<size_t, size_t>{4, 5}));
  EXPECT_EQ(longest_first_lengths(10, 6, 9), (std::pair<size_t, size_t>{5, 4}));
  EXPECT_EQ(longest_first_lengths(2, 3, 9), (std::pair<size_t, size_t>{2, 3}));
  EXPECT_EQ(longest_first_lengths(7, 7, 9), (std::pair<size_t, size_t>{4, 5}));
}

TEST(Truncation, PairRightAndLeft) {
  Encoding e = make_encoding(3, 10, true);                            // 3 + 10 content + 3 specials = 16
  EXPECT_TRUE(truncate_encoding(e, 11, TruncationDirection::Right));  // budget 8: keep 3 + 5
  EXPECT_EQ(e.ids, (std::vector<int32_t>{101, 1000, 1001, 1002, 102, 2000, 2001, 2002, 2003, 2004, 102}));
  EXPECT_EQ(e.type_ids, (std::vector<uint8_t>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}));
  Encoding l = make_encoding(3, 10, true);
  EXPECT_TRUE(truncate_encoding(l, 11, TruncationDirection::Left));
  EXPECT_EQ(l.ids, (std::vector<int32_t>{101, 1000, 1001, 1002, 102, 2005, 2006, 2007, 2008, 2009, 102}));
}

TEST(Truncation, PairSidesBySequenceIdsWithRealTokenizers) {
  // RoBERTa's pair is type 0 on both sides, so the sides must come from the sequence ids; the
  // server's cut must equal the tokenizer's own longest-first truncation (WordPiece and BPE).
  const std::string a = "the first side is much longer than the second one, with many more words in it";
  const std::string b = "short one";
  for (const char* name : {"roberta-bpe-test", "distilbert-base-cased"}) {
    const Tokenizer tok = Tokenizer::from_model_dir(std::string(SHARED_DIR) + "/models/" + name);
    const TokenizerEncoder encoder(tok);
    Encoding e = encoder.encode_pair(a, b);
    ASSERT_EQ(e.sequence_ids.size(), e.ids.size()) << name;
    for (size_t i = 0; i < e.ids.size(); ++i)
      EXPECT_EQ(e.sequence_ids[i] == -1, e.special_tokens_mask[i] == 1) << name << " token " << i;
    EXPECT_EQ(e.sequence_ids[1], 0) << name;
    EXPECT_EQ(e.sequence_ids[e.ids.size() - 2], 1) << name;
    if (std::string(name) == "roberta-bpe-test") {
      EXPECT_EQ(std::count(e.type_ids.begin(), e.type_ids.end(), 0), std::ptrdiff_t(e.ids.size()));
    }
    const size_t max_length = 12;
    ASSERT_GT(e.ids.size(), max_length) << name;
    ASSERT_TRUE(truncate_encoding(e, max_length, TruncationDirection::Right));
    const Encoding want = tok.encode_pair(a, b, max_length);
    EXPECT_EQ(e.ids, want.ids) << name;
    EXPECT_EQ(e.offsets, want.offsets) << name;
    EXPECT_EQ(e.sequence_ids, want.sequence_ids) << name;
    EXPECT_EQ(e.type_ids, want.type_ids) << name;
  }
  Encoding bad = make_encoding(10, 0, false);
  bad.sequence_ids.clear();  // an encoder that gives no sequence ids cannot be cut
  EXPECT_THROW(truncate_encoding(bad, 5, TruncationDirection::Right), InvalidArgument);
}

TEST(TokenizerEncoder, NoLengthCapEvenWithMoreTokensThanBytes) {
  // Byte-level BPE with add_prefix_space prefixes every piece between added tokens with a space, so
  // "\x01|\x01|..." (a one-byte added token "|", a byte that merges with nothing) has about 1.5
  // tokens per byte: a cap of bytes + a few specials would cut it silently.
  namespace ts = bert_emotion::testing_support;
  ts::TempDir tmp;
  auto j = nlohmann::json::parse(ts::slurp(std::string(SHARED_DIR) + "/models/roberta-bpe-test/tokenizer.json"));
  j["pre_tokenizer"]["add_prefix_space"] = true;
  int64_t next_id = 0;
  for (const auto& [tok, id] : j["model"]["vocab"].items()) next_id = std::max<int64_t>(next_id, id.get<int64_t>() + 1);
  for (const auto& t : j["added_tokens"]) next_id = std::max<int64_t>(next_id, t["id"].get<int64_t>() + 1);
  j["added_tokens"].push_back({{"id", next_id},
                               {"content", "|"},
                               {"single_word", false},
                               {"lstrip", false},
                               {"rstrip", false},
                               {"normalized", false},
                               {"special", false}});
  ts::spit(tmp.path / "tokenizer.json", j.dump());
  const Tokenizer tok = Tokenizer::from_tokenizer_json(tmp.path / "tokenizer.json");
  std::string text = "\x01";
  for (int i = 0; i < 11; ++i) text += "|\x01";
  const Encoding e = TokenizerEncoder(tok).encode(text);
  EXPECT_GT(e.ids.size(), text.size() + 8) << "the premise: more tokens than bytes + slack";
  EXPECT_EQ(e.ids, tok.encode(text, kNoTruncation).ids);
  const Encoding p = TokenizerEncoder(tok).encode_pair(text, text);
  EXPECT_EQ(p.ids, tok.encode_pair(text, text, kNoTruncation).ids);
  EXPECT_GT(p.ids.size(), 2 * text.size() + 8);
}

// ---- metrics ----

TEST(Prometheus, BucketLayouts) {
  auto d = duration_buckets();
  ASSERT_EQ(d.size(), 35u);
  EXPECT_DOUBLE_EQ(d[0], 1e-5);
  EXPECT_NEAR(d[1], 1.5e-5, 1e-18);
  EXPECT_NEAR(d[34] / d[33], 1.5, 1e-12);
  auto p = power_of_two_buckets(512);
  ASSERT_EQ(p.size(), 10u);  // 1 .. 512
  EXPECT_EQ(p.back(), 512.0);
  EXPECT_EQ(power_of_two_buckets(4096).size(), 13u);     // 2^0 .. 2^12
  EXPECT_EQ(power_of_two_buckets(1 << 20).size(), 21u);  // 2^0 .. 2^20
}

TEST(Prometheus, RenderCountersGaugesHistograms) {
  MetricsRegistry m;
  m.add_histogram("h", {1.0, 2.0, 4.0});
  m.increment("c", "method=\"predict\"");
  m.increment("c", "method=\"predict\"", 2);
  m.set_gauge("g", 3);
  m.observe("h", 0.5);
  m.observe("h", 3.0);
  m.observe("h", 100.0);
  EXPECT_EQ(m.counter("c", "method=\"predict\""), 3.0);
  EXPECT_EQ(m.histogram_count("h"), 3u);
  const std::string text = m.render();
  EXPECT_NE(text.find("# TYPE c counter\nc{method=\"predict\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE g gauge\ng 3\n"), std::string::npos) << text;
  // cumulative buckets: <=1: 1, <=2: 1, <=4: 2, +Inf: 3
  EXPECT_NE(text.find("h_bucket{le=\"1\"} 1\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"4\"} 2\nh_bucket{le=\"+Inf\"} 3\n"
                      "h_sum 103.5\nh_count 3\n"),
            std::string::npos)
      << text;
  EXPECT_THROW(m.observe("missing", 1.0), std::logic_error);
  EXPECT_EQ(prometheus_number(1e-5), "1e-05");
}

TEST(ApiErrors, TeiStatusMapping) {
  EXPECT_EQ(http_status(ErrorType::Unhealthy), 503);
  EXPECT_EQ(http_status(ErrorType::Backend), 424);
  EXPECT_EQ(http_status(ErrorType::Overloaded), 429);
  EXPECT_EQ(http_status(ErrorType::Tokenizer), 422);
  EXPECT_EQ(http_status(ErrorType::Validation), 422);
  EXPECT_EQ(http_status(ErrorType::Empty), 400);
  EXPECT_EQ(http_status(ErrorType::Unauthorized), 401);
  EXPECT_EQ(error_body(ErrorType::Validation, "bad"), R"({"error":"bad","error_type":"Validation"})");
}

// ---- robustness: mutated bodies either parse into a valid request or raise ApiError ----

TEST(PredictRequest, MutatedBodiesNeverEscapeAsOtherErrors) {
  const std::vector<std::string> seeds = {
      R"({"inputs": "I love it", "truncate": true, "raw_scores": false})",
      R"({"inputs": ["a", "b"], "truncation_direction": "left"})",
      R"({"inputs": [["a"], ["b", "c"]], "truncate": null})",
      R"({"inputs": [["x"]], "raw_scores": true, "extra": {"k": [1, 2, {"z": null}]}})",
  };
  const std::string alphabet = "{}[]\",:\\ abtruefalsenull0123456789.-e\xC3\xA9\xFF";
  bert_emotion::Rng rng(1234);
  size_t parsed = 0, rejected = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string body = seeds[rng.below(seeds.size())];
    const int edits = 1 + int(rng.below(4));
    for (int e = 0; e < edits && !body.empty(); ++e) {
      const size_t pos = rng.below(body.size());
      switch (rng.below(4)) {
        case 0: body[pos] = alphabet[rng.below(alphabet.size())]; break;
        case 1: body.insert(pos, 1, alphabet[rng.below(alphabet.size())]); break;
        case 2: body.erase(pos, 1); break;
        default: body.resize(pos); break;
      }
    }
    try {
      const PredictRequest r = parse_predict_request(body, 2);
      ++parsed;
      ASSERT_FALSE(r.inputs.empty()) << body;
      ASSERT_LE(r.inputs.size(), 2u) << body;
      if (!r.is_batch) {
        ASSERT_EQ(r.inputs.size(), 1u) << body;
      }
    } catch (const ApiError&) {
      ++rejected;
    } catch (const std::exception& e) {
      FAIL() << "body " << body << " escaped as " << typeid(e).name() << ": " << e.what();
    }
  }
  EXPECT_GT(parsed, 100u);  // the mutations keep enough bodies valid to exercise the success path
  EXPECT_GT(rejected, 100u);
}
