// A program outside the aps tree, built against an installed aps: a trigger, then a persistent
// scheduler (a task job in an LMDB store) that is stopped and started again.
#include <stdlib.h>

#include <cstdio>
#include <memory>
#include <string>

#include "engine/datetime.h"
#include "engine/scheduler.h"
#include "engine/trigger_text.h"
#include "stores/lmdb/lmdb_store.h"

namespace {

// Starts a scheduler on the store in `dir`, with the task registered; nullptr on failure.
std::unique_ptr<aps::Scheduler> Open(const std::string& dir) {
  auto s = std::make_unique<aps::Scheduler>();
  aps::LmdbStoreOptions o;
  o.path = dir;
  if (!s->AddJobStore("default", std::make_unique<aps::LmdbJobStore>(o)).ok() ||
      !s->AddTask("report", [](const aps::TaskArgs&) {}).ok()) {
    return nullptr;
  }
  if (aps::Status st = s->Start(); !st.ok()) {
    std::fprintf(stderr, "consumer: %s\n", st.message());
    return nullptr;
  }
  return s;
}

}  // namespace

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
  if (s != "2024-01-01T09:00:00+02:00") return 1;

  char tmpl[] = "/tmp/aps-consumer-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return 1;
  const std::string dir = std::string(tmpl) + "/jobs";
  {
    std::unique_ptr<aps::Scheduler> first = Open(dir);
    if (!first) return 1;
    aps::JobSpec spec;
    spec.id = "daily-report";
    spec.task = "report";
    spec.args.args = {aps::Value("daily.pdf")};
    spec.trigger = std::move(*t);
    if (!first->AddJob(std::move(spec)).ok()) return 1;
    (void)first->Shutdown();
  }
  std::unique_ptr<aps::Scheduler> second = Open(dir);
  const bool kept = second && second->GetJob("daily-report").has_value();
  std::printf("consumer: the stored job %s\n", kept ? "was loaded again" : "is MISSING");
  if (second) (void)second->Shutdown();
  std::system((std::string("rm -rf ") + tmpl).c_str());
  return kept ? 0 : 1;
}
