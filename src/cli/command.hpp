// command.hpp — how a sub-command of the `bert-emotion` executable registers itself.
//
// Each sub-command lives in its own src/cli/cmd_<name>.cpp and registers with a static object:
//
//   static bert_emotion::cli::Registrar reg("init", [](CLI::App& app) {
//     auto* sub = app.add_subcommand("init", "Create a randomly initialised model directory");
//     auto opts = std::make_shared<InitOptions>();
//     sub->add_option("--out", opts->out)->required();
//     return std::function<int()>([opts] { return run_init(*opts); });
//   });
//
// main() builds the CLI11 app from every registrar, parses, runs the chosen command and maps
// engine exceptions (src/util/error.hpp) to exit codes — the only place that does so, with the
// server.
#pragma once

#include <CLI/CLI.hpp>
#include <charconv>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace bert_emotion::cli {

// Adds a subcommand to `app` and returns the function that runs it once parsed.
using CommandSetup = std::function<std::function<int()>(CLI::App& app)>;

struct CommandEntry {
  std::string name;
  CommandSetup setup;
};

std::vector<CommandEntry>& command_registry();

struct Registrar {
  Registrar(std::string name, CommandSetup setup) { command_registry().push_back({std::move(name), std::move(setup)}); }
};

// An integer option's bounds, checked on the text before conversion and printed as integers
// (CLI::Range / PositiveNumber print doubles: "Value 0 not in range 0.000000 to 1797...", and an
// unsigned option would take "-1" as 2^64-1). CLI11 prefixes the option name:
//   --threads: must be an integer >= 0 (got -1)
inline CLI::Validator IntRange(long long min, long long max) {
  const std::string range = max == std::numeric_limits<long long>::max()
                                ? ">= " + std::to_string(min)
                                : "in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  return CLI::Validator(
      [min, max, range](std::string& text) -> std::string {
        long long v = 0;
        const char* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, v);
        const bool positive_overflow = ec == std::errc::result_out_of_range && !text.empty() && text[0] != '-';
        if (positive_overflow && max == std::numeric_limits<long long>::max())
          return "";  // the type's own limit applies
        if (ec != std::errc() || ptr != end || v < min || v > max)
          return "must be an integer " + range + " (got " + text + ")";
        return "";
      },
      "INT " + range);
}
inline CLI::Validator AtLeast(long long min) { return IntRange(min, std::numeric_limits<long long>::max()); }

// The options every inference command (eval, predict, serve) takes alike.
inline CLI::Option* add_threads_option(CLI::App* sub, int& threads, const std::string& help) {
  return sub->add_option("--threads", threads, help)->capture_default_str()->check(AtLeast(0));
}
inline CLI::Option* add_dtype_option(CLI::App* sub, std::string& dtype) {
  return sub
      ->add_option("--dtype", dtype,
                   "Inference dtype: f32, bf16 (bf16 linears, FP32 accumulation), int8 (dynamic quantization of the "
                   "linears) or auto (the model directory's)")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "bf16", "int8", "auto"}));
}

// Exit codes shared by every command.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,  // any other engine error
  kExitUsage = 2,    // bad command line / invalid option value
  kExitInput = 3,    // malformed or unsupported input (file, dataset, model)
  kExitIo = 4,       // cannot read / write a file
  kExitNetwork = 5,  // download failed
};

}  // namespace bert_emotion::cli
