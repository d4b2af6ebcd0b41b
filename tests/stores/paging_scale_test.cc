// Ten million stored jobs with bounded memory (issue 4 §2), ctest label `stress`.
//
// A child process fills an LMDB store with APS_PAGING_JOBS jobs (default 10 000 000; one every
// 50 ms of a simulated timeline, so ~139 days), then exits. This process, which has not
// touched the store, starts a scheduler on it with the default 10-minute horizon, runs an
// hour of simulated time, and checks: the scheduler holds only the horizon's jobs, every job
// due in the hour ran once, a call by id reaches a job months away, and the peak resident set
// stays far below what the store would take in memory.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "engine/datetime.h"
#include "engine/executor.h"
#include "engine/scheduler.h"
#include "platform/fake/sim_clock.h"
#include "stores/lmdb/lmdb_store.h"

namespace aps {
namespace {

namespace fs = std::filesystem;
using platform::Deadline;
using platform::Delay;
using platform::SimClock;

constexpr std::int64_t kT0 = 1'704'067'200'000'000;  // 2024-01-01 00:00:00 UTC (µs)
constexpr std::int64_t kSpacingUs = 50'000;

std::string Id(long i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "j%09ld", i);
  return buf;
}

// VmHWM (peak resident set) of this process, in KiB.
long PeakRssKib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

TEST(PagingScale, TenMillionStoredJobsRunWithBoundedMemory) {
  const char* env = std::getenv("APS_PAGING_JOBS");
  const long jobs = env ? std::atol(env) : 10'000'000;
  ASSERT_GT(jobs, 100'000) << "APS_PAGING_JOBS must be over 100000";
  std::string tmpl = (fs::temp_directory_path() / "aps-paging-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const std::string dir = tmpl + "/store";

  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // fill the store, then leave
    LmdbStoreOptions o;
    o.path = dir;
    o.durability = LmdbDurability::kNoSync;
    o.initial_map_bytes = std::size_t{4} << 30;
    LmdbJobStore s(o);
    if (!s.Start("fill").ok()) ::_exit(2);
    JobState j;
    j.task = "tick";
    j.executor = "default";
    for (long i = 0; i < jobs;) {
      if (!s.BeginBatch().ok()) ::_exit(3);
      for (long k = 0; k < 100'000 && i < jobs; ++k, ++i) {
        j.id = Id(i);
        j.name.clear();
        const Instant due{kT0 + (i + 1) * kSpacingUs};
        j.trigger = "date(run_date='" + FormatIsoUtc(due) + "')";
        j.next_run_time = due;
        if (!s.AddJob(j).ok()) ::_exit(4);
      }
      if (!s.CommitBatch().ok()) ::_exit(5);
    }
    s.Shutdown();
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "filling the store failed";
  const long rss_before = PeakRssKib();

  SimClock clock(Deadline{0}, kT0);
  SchedulerOptions opts;
  opts.mode = SchedulerMode::kHostDriven;
  opts.clock = &clock;
  Scheduler s(opts);
  ASSERT_TRUE(s.AddExecutor("default", std::make_unique<InlineExecutor>(clock)).ok());
  LmdbStoreOptions so;
  so.path = dir;
  so.durability = LmdbDurability::kNoSync;
  ASSERT_TRUE(s.AddJobStore("default", std::make_unique<LmdbJobStore>(so)).ok());
  long ran = 0;
  ASSERT_TRUE(s.AddTask("tick", [&](const TaskArgs&) { ++ran; }).ok());
  ASSERT_TRUE(s.Start().ok());
  const std::size_t horizon_jobs = static_cast<std::size_t>(600'000'000 / kSpacingUs);
  EXPECT_LE(s.job_count(), horizon_jobs + 16);

  // One simulated hour, a minute at a time.
  std::size_t most = 0;
  for (int minute = 1; minute <= 60; ++minute) {
    const std::int64_t until = kT0 + minute * 60'000'000LL;
    for (int guard = 0; guard < 1'000'000; ++guard) {
      const std::optional<Deadline> d = s.NextDeadline();
      if (d && *d <= clock.Now()) {
        ASSERT_TRUE(s.RunDue().ok());
        continue;
      }
      if (clock.WallMicros() >= until) break;
      std::int64_t step = until - clock.WallMicros();
      if (d) step = std::min<std::int64_t>(step, (d->ns - clock.Now().ns) / 1000);
      clock.Advance(Delay::Micros(step > 0 ? step : 1));
      ASSERT_TRUE(s.RunDue().ok());
    }
    most = std::max(most, s.job_count());
  }
  EXPECT_EQ(ran, 3600'000'000LL / kSpacingUs);
  EXPECT_LE(most, horizon_jobs + 16);
  // A call by id reaches a job months away.
  const std::string far = Id(jobs - 1);
  std::optional<JobInfo> info = s.GetJob(far);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->next_run_time->us, kT0 + jobs * kSpacingUs);
  ASSERT_TRUE(s.Shutdown().ok());

  const long rss_after = PeakRssKib();
  std::printf("jobs=%ld resident_max=%zu ran=%ld peak_rss_kib before=%ld after=%ld\n", jobs, most,
              ran, rss_before, rss_after);
  // The store holds ~150 bytes a job (1.5 GB for 10 M); the scheduler must not load it.
  EXPECT_LT(rss_after, 256 * 1024) << "peak RSS " << rss_after << " KiB";
  std::error_code ec;
  fs::remove_all(tmpl, ec);
}

}  // namespace
}  // namespace aps
