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
#include <functional>
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
  Registrar(std::string name, CommandSetup setup) {
    command_registry().push_back({std::move(name), std::move(setup)});
  }
};

// Exit codes shared by every command.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,      // any other engine error
  kExitUsage = 2,        // bad command line / invalid option value
  kExitInput = 3,        // malformed or unsupported input (file, dataset, model)
  kExitIo = 4,           // cannot read / write a file
  kExitNetwork = 5,      // download failed
};

}  // namespace bert_emotion::cli
