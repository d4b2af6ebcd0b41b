// `aps examples`: example schedules and their next fire times.
#ifndef APS_TOOLS_APS_EXAMPLES_COMMAND_H_
#define APS_TOOLS_APS_EXAMPLES_COMMAND_H_

#include <CLI/CLI.hpp>
#include <functional>

namespace aps::cli {

std::function<int()> AddExamplesCommand(CLI::App& app);

}  // namespace aps::cli

#endif  // APS_TOOLS_APS_EXAMPLES_COMMAND_H_
