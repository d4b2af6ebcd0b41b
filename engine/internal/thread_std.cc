// aps/engine/internal/thread_std.cc — engine_internal::Thread on std::thread (hosted builds).
#include <new>
#include <thread>

#include "engine/check.h"
#include "engine/internal/thread.h"

namespace aps::engine_internal {

namespace {
thread_local bool t_in_job = false;
}  // namespace

void SetInJob(bool in_job) noexcept { t_in_job = in_job; }
bool InJob() noexcept { return t_in_job; }
void YieldThread() noexcept { std::this_thread::yield(); }

Thread::~Thread() { APS_CHECK(handle_ == nullptr); }

bool Thread::Start(Entry entry, void* arg) noexcept {
  APS_CHECK(handle_ == nullptr);
  std::thread* t = new (std::nothrow) std::thread(entry, arg);
  if (t == nullptr) return false;
  handle_ = t;
  return true;
}

void Thread::Join() noexcept {
  if (handle_ == nullptr) return;
  std::thread* t = static_cast<std::thread*>(handle_);
  t->join();
  delete t;
  handle_ = nullptr;
}

}  // namespace aps::engine_internal
