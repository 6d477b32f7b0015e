// family.cpp — the FamilySpec tables of DistilBERT, BERT and RoBERTa (see family.hpp).
#include "model/family.hpp"

namespace bert_emotion {

namespace {

const FamilySpec kDistilBert{
    Family::distilbert,
    "distilbert",
    "DistilBertForSequenceClassification",
    "distilbert.",
    "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight",
    nullptr,
    "embeddings.LayerNorm",
    "transformer.layer.",
    {"attention.q_lin.weight", "attention.q_lin.bias", "attention.k_lin.weight", "attention.k_lin.bias",
     "attention.v_lin.weight", "attention.v_lin.bias", "attention.out_lin.weight", "attention.out_lin.bias",
     "sa_layer_norm.weight", "sa_layer_norm.bias", "ffn.lin1.weight", "ffn.lin1.bias", "ffn.lin2.weight",
     "ffn.lin2.bias", "output_layer_norm.weight", "output_layer_norm.bias"},
    {"pre_classifier.weight", "pre_classifier.bias", "classifier.weight", "classifier.bias"},
    /*head_tanh=*/false,
    /*head_dropout_first=*/false,
    /*positions_from_ids=*/false,
    /*dropout_after_attention=*/false,
    {"vocab_transform.", "vocab_layer_norm.", "vocab_projector."},
};

// modeling_bert's names; RoBERTa reuses every one of them under its own prefix.
constexpr std::array<const char*, 16> kBertLayer = {"attention.self.query.weight",
                                                    "attention.self.query.bias",
                                                    "attention.self.key.weight",
                                                    "attention.self.key.bias",
                                                    "attention.self.value.weight",
                                                    "attention.self.value.bias",
                                                    "attention.output.dense.weight",
                                                    "attention.output.dense.bias",
                                                    "attention.output.LayerNorm.weight",
                                                    "attention.output.LayerNorm.bias",
                                                    "intermediate.dense.weight",
                                                    "intermediate.dense.bias",
                                                    "output.dense.weight",
                                                    "output.dense.bias",
                                                    "output.LayerNorm.weight",
                                                    "output.LayerNorm.bias"};

const FamilySpec kBert{
    Family::bert,
    "bert",
    "BertForSequenceClassification",
    "bert.",
    "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight",
    "embeddings.LayerNorm",
    "encoder.layer.",
    kBertLayer,
    {"bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"},
    /*head_tanh=*/true,
    /*head_dropout_first=*/false,
    /*positions_from_ids=*/false,
    /*dropout_after_attention=*/true,
    {"cls."},
};

const FamilySpec kRoberta{
    Family::roberta,
    "roberta",
    "RobertaForSequenceClassification",
    "roberta.",
    "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight",
    "embeddings.LayerNorm",
    "encoder.layer.",
    kBertLayer,
    {"classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias"},
    /*head_tanh=*/true,
    /*head_dropout_first=*/true,
    /*positions_from_ids=*/true,
    /*dropout_after_attention=*/true,
    {"lm_head.", "roberta.pooler."},
};

}  // namespace

std::string FamilySpec::layer_param(int layer, int slot) const {
  return std::string(prefix) + layer_prefix + std::to_string(layer) + "." + layer_params[size_t(slot)];
}

const FamilySpec& family_spec(Family family) {
  switch (family) {
    case Family::bert: return kBert;
    case Family::roberta: return kRoberta;
    case Family::distilbert: break;
  }
  return kDistilBert;
}

void roberta_positions(const int32_t* ids, int32_t* positions, int64_t n, int32_t pad) {
  int32_t count = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] != pad) ++count;
    positions[i] = ids[i] != pad ? pad + count : pad;
  }
}

}  // namespace bert_emotion
