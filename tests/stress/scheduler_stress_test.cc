// Scheduler stress (label `stress`): the randomized multi-producer run of scheduler_stress.h at
// a larger size. APS_STRESS_SCALE (default 1) multiplies the producers' operations; the default
// size takes a few seconds, so it can stay in the default ctest run.
//
//   APS_STRESS_SCALE=20 ctest -L stress --output-on-failure
#include "tests/stress/scheduler_stress.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace aps {
namespace {

int Scale() {
  const char* v = std::getenv("APS_STRESS_SCALE");
  const int n = v != nullptr ? std::atoi(v) : 1;
  return n > 0 ? n : 1;
}

TEST(SchedulerStress, ManyProducersAddModifyAndRemoveJobsWhileJobsFire) {
  const int scale = Scale();
  RecordProperty("scale", std::to_string(scale));
  for (int round = 0; round < scale; ++round) {
    test::StressParams p;
    p.producers = 8;
    p.ops_per_producer = 3000;
    p.max_delay_ms = 50;
    p.seed = 1000 + static_cast<unsigned>(round);
    test::RunSchedulerStress(p);
    if (HasFailure()) break;
  }
}

TEST(SchedulerStress, ManyProducersWithDateJobsDueAtOnce) {
  const int scale = Scale();
  for (int round = 0; round < scale; ++round) {
    test::StressParams p;
    p.producers = 6;
    p.ops_per_producer = 2000;
    p.max_delay_ms = 0;  // everything is due immediately: submissions race with removals
    p.pool_threads = 2;
    p.seed = 5000 + static_cast<unsigned>(round);
    test::RunSchedulerStress(p);
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace aps
