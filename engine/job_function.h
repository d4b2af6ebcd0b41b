// aps/engine/job_function.h — a job's callable: type-erased, move-only, small-buffer stored.
//
// A JobFunction holds any `void()`-callable thing (a lambda, a function pointer, a callable
// object, or a callable bound to its arguments) without std::function: callables of up to
// kInlineBytes live inside the object; a larger one costs exactly one heap allocation, made
// when the JobFunction is built and never again (moving it moves a pointer). Invoke() runs the
// callable and reports the run as a RunOutcome.
//
//   aps::JobFunction f = aps::JobFunction::Bind([](int n) { Send(n); }, 42);   // inline
//   aps::RunOutcome r = f.Invoke();                   // r.ok; else r.error is the message
//   aps::JobFunction g = aps::JobFunction::Bind(&Device::Poll, device_ptr);    // member fn
//
// Failures. A callable that returns RunOutcome reports its own result (the way to fail a run in
// -fno-exceptions code). In a translation unit compiled with exceptions, anything the callable
// throws is caught and becomes {ok = false, error = what()} ("unknown exception" for a
// non-std::exception); nothing unwinds into the engine.
//
// Where the catch lives. The engine is compiled with -fno-exceptions, so a try/catch written in
// an engine .cc file would not exist. Instead Bind() — a template, instantiated in the caller's
// translation unit — creates the type-erased invoke function for the stored type, and that
// function contains the APS_TRY/APS_CATCH boundary (engine/internal/try_catch.h). It is
// therefore compiled with the caller's flags: a real try/catch in a hosted application built
// with exceptions, a plain call in firmware built without. Worker threads in the engine only
// call the function pointer. The exception mode is part of the instantiation's template
// arguments, so TUs built with and without exceptions never share (and never ODR-merge) one.
//
// Threads: a JobFunction is not synchronized. Invoke() is const, like std::function's operator(),
// because concurrent runs of one job (max_instances > 1) share it; it calls the stored callable
// as a non-const lvalue, so a callable with mutable state must protect that state itself if its
// job may run concurrently.
#ifndef APS_ENGINE_JOB_FUNCTION_H_
#define APS_ENGINE_JOB_FUNCTION_H_

#include <cstddef>
#include <functional>
#include <new>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "engine/check.h"
#include "engine/internal/try_catch.h"

namespace aps {

// The result of one run of a job.
struct RunOutcome {
  static constexpr std::size_t kMaxError = 127;  // longer messages are truncated

  bool ok = true;
  // NUL-terminated; empty when ok.
  char error[kMaxError + 1] = {};

  // Success() / Failure(): never allocate, never block; any thread.
  static RunOutcome Success() noexcept { return RunOutcome{}; }
  static RunOutcome Failure(std::string_view message) noexcept {
    RunOutcome r;
    r.ok = false;
    const std::size_t n = message.size() < kMaxError ? message.size() : kMaxError;
    for (std::size_t i = 0; i < n; ++i) r.error[i] = message[i];
    r.error[n] = '\0';
    return r;
  }
};

namespace engine_internal {

// What a JobFunction knows about its stored type. One constant table per (type, storage,
// exception mode); the JobFunction holds a pointer to it.
struct JobFunctionOps {
  // Runs the callable at `target`. Contains the exception boundary (see the header comment).
  RunOutcome (*invoke)(void* target) noexcept;
  // Inline storage: move-constructs the callable from `src` into `dst`, then destroys `src`.
  // Unused (nullptr) for heap storage, which moves by copying the pointer.
  void (*relocate)(void* dst, void* src) noexcept;
  // Destroys the callable at `target` (and frees it, for heap storage).
  void (*destroy)(void* target) noexcept;
  bool on_heap;
};

// A callable bound to copies of its arguments (std::bind_front without the heap); called as an
// lvalue with lvalue arguments, so it may run many times.
template <class F, class... Args>
struct BoundCall {
  F fn;
  std::tuple<Args...> args;
  decltype(auto) operator()() { return std::apply(fn, args); }
};

template <class S>
RunOutcome CallStored(S& stored) {
  using R = std::invoke_result_t<S&>;
  if constexpr (std::is_same_v<std::remove_cvref_t<R>, RunOutcome>) {
    return std::invoke(stored);
  } else {
    std::invoke(stored);
    return RunOutcome::Success();
  }
}

// The exception boundary. `kCatches` is the instantiating TU's exception mode (see above).
template <class S, bool kCatches>
RunOutcome InvokeStored(void* target) noexcept {
  APS_TRY { return CallStored(*std::launder(static_cast<S*>(target))); }
  APS_CATCH(...) {
    RunOutcome r;
    r.ok = false;
    DescribeCurrentException(r.error, sizeof r.error);
    return r;
  }
}

template <class S>
void RelocateInline(void* dst, void* src) noexcept {
  S* from = std::launder(static_cast<S*>(src));
  ::new (dst) S(std::move(*from));
  from->~S();
}

template <class S>
void DestroyInline(void* target) noexcept {
  std::launder(static_cast<S*>(target))->~S();
}

template <class S>
void DestroyHeap(void* target) noexcept {
  delete static_cast<S*>(target);
}

template <class S, bool kOnHeap, bool kCatches>
inline constexpr JobFunctionOps kJobFunctionOps = {
    &InvokeStored<S, kCatches>,
    kOnHeap ? nullptr : &RelocateInline<S>,
    kOnHeap ? &DestroyHeap<S> : &DestroyInline<S>,
    kOnHeap,
};

}  // namespace engine_internal

class JobFunction {
 public:
  // Callables up to this size (and alignof(std::max_align_t), and nothrow-movable) are stored
  // inline; sizeof(JobFunction) is kInlineBytes plus one pointer, rounded up to the alignment
  // (64 bytes on x86-64).
  static constexpr std::size_t kInlineBytes = 48;

  // Empty: Invoke() must not be called. Never allocates; any thread.
  JobFunction() noexcept = default;

  // Bind()
  //
  // Stores `f` together with decayed copies (or moves) of `args`, like std::bind_front: Invoke()
  // calls std::invoke(f, args...) with the stored objects as lvalues, so member-function
  // pointers work with an object pointer as the first argument. The result is ignored unless
  // it is a RunOutcome, which becomes the run's outcome. Allocates once (operator new, nothrow)
  // when the bound callable is larger than kInlineBytes, over-aligned, or not nothrow-movable;
  // otherwise never. Returns an empty JobFunction when that allocation fails. Copy or move
  // constructors of `f` and `args` may throw (hosted builds); then nothing is stored. Never
  // blocks; any thread.
  template <class F, class... Args>
  [[nodiscard]] static JobFunction Bind(F&& f, Args&&... args) {
    if constexpr (sizeof...(Args) == 0) {
      return Make<std::decay_t<F>>(std::forward<F>(f));
    } else {
      using S = engine_internal::BoundCall<std::decay_t<F>, std::decay_t<Args>...>;
      return Make<S>(std::forward<F>(f), std::forward_as_tuple(std::forward<Args>(args)...));
    }
  }

  // Moves leave `other` empty. Never allocate, never block.
  JobFunction(JobFunction&& other) noexcept { MoveFrom(other); }
  JobFunction& operator=(JobFunction&& other) noexcept {
    if (this != &other) {
      Reset();
      MoveFrom(other);
    }
    return *this;
  }
  JobFunction(const JobFunction&) = delete;
  JobFunction& operator=(const JobFunction&) = delete;
  ~JobFunction() { Reset(); }

  // Invoke()
  //
  // Runs the callable and returns its outcome (see the header comment for how failures are
  // reported). Allocates and blocks only if the callable does; any thread, concurrently with
  // other Invoke() calls on this object only if the callable allows that. Must not be empty.
  RunOutcome Invoke() const noexcept {
    APS_DCHECK(ops_ != nullptr);
    return ops_->invoke(target());
  }

  // True unless default-constructed, moved from, or a failed Bind(). Any thread.
  explicit operator bool() const noexcept { return ops_ != nullptr; }
  // True when the callable lives in its own heap block (see Bind()). Any thread.
  bool on_heap() const noexcept { return ops_ != nullptr && ops_->on_heap; }

 private:
  template <class S>
  static constexpr bool kFitsInline =
      sizeof(S) <= kInlineBytes &&
      alignof(S) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<S>;

  template <class S, class... CtorArgs>
  static JobFunction Make(CtorArgs&&... ctor_args) {
    static_assert(std::is_invocable_v<S&>,
                  "JobFunction::Bind: the callable cannot be called with the bound arguments");
    static_assert(std::is_move_constructible_v<S>);
    constexpr bool kCatches = static_cast<bool>(APS_INTERNAL_HAS_EXCEPTIONS);
    JobFunction fn;
    if constexpr (kFitsInline<S>) {
      ::new (static_cast<void*>(fn.storage_)) S{std::forward<CtorArgs>(ctor_args)...};
      fn.ops_ = &engine_internal::kJobFunctionOps<S, false, kCatches>;
    } else {
      void* heap = new (std::nothrow) S{std::forward<CtorArgs>(ctor_args)...};
      if (heap == nullptr) return fn;
      ::new (static_cast<void*>(fn.storage_)) void*(heap);
      fn.ops_ = &engine_internal::kJobFunctionOps<S, true, kCatches>;
    }
    return fn;
  }

  // The heap pointer stored in storage_ (heap storage only).
  void* heap_target() const noexcept {
    return *std::launder(reinterpret_cast<void* const*>(storage_));
  }

  void* target() const noexcept {
    return ops_->on_heap ? heap_target() : const_cast<unsigned char*>(storage_);
  }

  void MoveFrom(JobFunction& other) noexcept {
    ops_ = other.ops_;
    if (ops_ == nullptr) return;
    if (ops_->on_heap) {
      ::new (static_cast<void*>(storage_)) void*(other.heap_target());
    } else {
      ops_->relocate(storage_, other.storage_);
    }
    other.ops_ = nullptr;
  }

  void Reset() noexcept {
    if (ops_ != nullptr) ops_->destroy(target());
    ops_ = nullptr;
  }

  // Inline: the callable itself. Heap: a pointer to it. Meaningful iff ops_ != nullptr.
  alignas(std::max_align_t) unsigned char storage_[kInlineBytes];
  const engine_internal::JobFunctionOps* ops_ = nullptr;
};

}  // namespace aps

#endif  // APS_ENGINE_JOB_FUNCTION_H_
