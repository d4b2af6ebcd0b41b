// aps — the command-line tool of the aps scheduling engine.
#include <CLI/CLI.hpp>
#include <iostream>

#include "tools/aps/demo_command.h"
#include "tools/aps/examples_command.h"
#include "tools/aps/jobs_command.h"
#include "tools/aps/next_command.h"

int main(int argc, char** argv) {
  CLI::App app{"aps — a real-time-grade job scheduler with APScheduler's semantics"};
  app.require_subcommand(1);
  app.footer("Run 'aps <command> --help' for a command's forms and examples.");
  auto run_next = aps::cli::AddNextCommand(app);
  auto run_demo = aps::cli::AddDemoCommand(app);
  auto run_examples = aps::cli::AddExamplesCommand(app);
  auto run_jobs = aps::cli::AddJobsCommand(app);
  CLI11_PARSE(app, argc, argv);
  if (app.got_subcommand("next")) return run_next();
  if (app.got_subcommand("demo")) return run_demo();
  if (app.got_subcommand("examples")) return run_examples();
  if (app.got_subcommand("jobs")) return run_jobs();
  return 2;
}
