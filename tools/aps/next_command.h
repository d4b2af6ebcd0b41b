// `aps next`: when does a schedule fire?
#ifndef APS_TOOLS_APS_NEXT_COMMAND_H_
#define APS_TOOLS_APS_NEXT_COMMAND_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <iosfwd>

namespace aps::cli {

// Adds the `next` subcommand to `app`; the returned function runs it (exit code).
std::function<int()> AddNextCommand(CLI::App& app);

// The batch protocol on streams (one JSON line out per line in). Returns 0.
int RunNextBatch(std::istream& in, std::ostream& out);

}  // namespace aps::cli

#endif  // APS_TOOLS_APS_NEXT_COMMAND_H_
