// aps/engine/internal/thread_none.cc — engine_internal::Thread where there are no threads (bare
// metal): Start() always reports false, so a thread-pool executor cannot start and the
// application runs its jobs with the inline executor on the scheduler loop.
#include "engine/check.h"
#include "engine/internal/thread.h"

namespace aps::engine_internal {

Thread::~Thread() { APS_CHECK(handle_ == nullptr); }

bool Thread::Start(Entry /*entry*/, void* /*arg*/) noexcept { return false; }

void Thread::Join() noexcept {}

}  // namespace aps::engine_internal
