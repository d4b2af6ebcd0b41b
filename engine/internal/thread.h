// aps/engine/internal/thread.h — the one place the engine starts threads.
//
// The thread-pool executor's workers are the engine's only threads. Creating them goes through
// this seam so a port can replace it: thread_std.cc (hosted: std::thread) or thread_none.cc
// (bare metal: no threads, Start() reports false and the application runs jobs inline). An RTOS
// port would create static tasks here (xTaskCreateStatic, k_thread_create); see
// shared/firmware-target.md §14, whose start_thread() this will become in platform/thread.h.
//
//   aps::engine_internal::Thread t;
//   if (!t.Start(&WorkerMain, &worker)) { /* no threads here */ }
//   ...
//   t.Join();
#ifndef APS_ENGINE_INTERNAL_THREAD_H_
#define APS_ENGINE_INTERNAL_THREAD_H_

namespace aps::engine_internal {

class Thread {
 public:
  using Entry = void (*)(void* arg);

  Thread() noexcept = default;
  // Must not be running: Join() first (aborts otherwise).
  ~Thread();
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;

  // Start() — runs entry(arg) on a new thread. Returns false when the platform has no threads
  // or memory ran out. Hosted: std::thread reports other creation failures (EAGAIN: thread
  // limit) by throwing, which ends the process in the engine's -fno-exceptions code. Allocates;
  // blocks while the OS creates the thread; any thread; not on a Thread that is running.
  [[nodiscard]] bool Start(Entry entry, void* arg) noexcept;

  // Join() — waits for entry() to return, then makes this Thread startable again. Does nothing
  // if not started. Blocks; any thread except the one being joined.
  void Join() noexcept;

  bool running() const noexcept { return handle_ != nullptr; }

 private:
  void* handle_ = nullptr;  // the port's handle (hosted: a heap std::thread)
};

// The calling thread is running a job (inside Executor::RunAndComplete()). The scheduler uses it
// so that Shutdown() called from a job does not wait for itself. Never allocate, never block;
// any thread (each sees its own flag; one flag on bare metal, which has one thread).
void SetInJob(bool in_job) noexcept;

// YieldThread() — lets another runnable thread on this core run (hosted: sched_yield); a
// polling loop calls it now and then so that, with more threads than cores, it does not hold a
// core a thread with real work is waiting for. Bare metal: nothing. Any thread.
void YieldThread() noexcept;

// CpuRelax() — one iteration of a polling loop: tells the CPU we spin (x86 PAUSE, Arm YIELD).
inline void CpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#endif
}

bool InJob() noexcept;

}  // namespace aps::engine_internal

#endif  // APS_ENGINE_INTERNAL_THREAD_H_
