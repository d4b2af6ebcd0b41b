// A program outside the aps tree, built against an installed aps.
#include <cstdio>

#include "engine/datetime.h"
#include "engine/trigger_text.h"

int main() {
  const aps::Instant now = aps::Instant::FromUnixSeconds(1704067200);  // 2024-01-01T00:00:00Z
  aps::Result<std::unique_ptr<aps::Trigger>> t =
      aps::ParseTrigger("crontab('0 9 * * 1-5', timezone='Europe/Helsinki')", now);
  if (!t.ok()) {
    std::fprintf(stderr, "consumer: %s\n", t.status().message());
    return 1;
  }
  std::optional<aps::Instant> next = (*t)->Next(std::nullopt, now);
  const std::string s = next ? aps::FormatIso(*next, *(*t)->zone()) : "none";
  std::printf("consumer: %s -> %s\n", (*t)->Describe().c_str(), s.c_str());
  return s == "2024-01-01T09:00:00+02:00" ? 0 : 1;
}
