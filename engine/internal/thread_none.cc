// aps/engine/internal/thread_none.cc — engine_internal::Thread where there are no threads (bare
// metal): Start() always reports false, so a thread-pool executor cannot start and the
// application runs its jobs with the inline executor on the scheduler loop.
#include "engine/check.h"
#include "engine/internal/thread.h"

namespace aps::engine_internal {

namespace {
bool g_in_job = false;  // one thread: no thread_local needed (nor the TLS runtime it implies)
}  // namespace

void SetInJob(bool in_job) noexcept { g_in_job = in_job; }
bool InJob() noexcept { return g_in_job; }
void YieldThread() noexcept {}

Thread::~Thread() { APS_CHECK(handle_ == nullptr); }

bool Thread::Start(Entry /*entry*/, void* /*arg*/) noexcept { return false; }

void Thread::Join() noexcept {}

}  // namespace aps::engine_internal
