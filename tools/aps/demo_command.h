// `aps demo`: the README's main job — a real scheduler running several kinds of jobs.
#ifndef APS_TOOLS_APS_DEMO_COMMAND_H_
#define APS_TOOLS_APS_DEMO_COMMAND_H_

#include <CLI/CLI.hpp>
#include <functional>

namespace aps::cli {

std::function<int()> AddDemoCommand(CLI::App& app);

}  // namespace aps::cli

#endif  // APS_TOOLS_APS_DEMO_COMMAND_H_
