// `aps jobs`: list, add, remove, pause, resume, modify, export, import and check the jobs of
// an LMDB job store from the command line.
#ifndef APS_TOOLS_APS_JOBS_COMMAND_H_
#define APS_TOOLS_APS_JOBS_COMMAND_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <istream>
#include <ostream>

namespace aps::cli {

// Registers `jobs` and its subcommands; the returned function runs the one given.
std::function<int()> AddJobsCommand(CLI::App& app);

}  // namespace aps::cli

#endif  // APS_TOOLS_APS_JOBS_COMMAND_H_
