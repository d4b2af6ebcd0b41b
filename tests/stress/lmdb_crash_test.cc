// Crash test of the persistent LMDB job store (issue 4 §6).
//
// A child process runs a background scheduler on an LMDB store and adds, modifies, removes,
// pauses, resumes, replaces and reschedules persistent (task) jobs continuously while interval
// jobs of 20-100 ms fire and advance their next run times in the store; it reports each change on
// a pipe before making it ("B <op>") and once the call has returned ("A"). The parent kills it
// with SIGKILL at a random moment (10-150 ms after its scheduler started; in one round of four
// 0-15 ms after the fork, while the store is created or opened and loaded), then opens the store
// itself: it must open, Check() must find
// nothing, every record must read, and each job must be in its last acknowledged state (or, for
// the one change begun but not acknowledged, in the state after it: it may or may not have
// committed). After a random "down time" a host-driven scheduler starts on the store and runs
// what came due once: with coalescing each overdue job gets exactly one JOB_SUBMITTED or
// JOB_MISSED for its latest fire time, without it one per fire time, in order, and the misfire
// grace decides which; the next round goes on from the store's content.
//
//   APS_CRASH_KILLS=200 APS_CRASH_SEED=42 build/tests/stress/stress_lmdb_crash_test
//
// APS_CRASH_KILLS: rounds (one SIGKILL each; default 20). APS_CRASH_SEED: the seed (default
// random; printed). The seed fixes the choices (operations, kill delays, down times); where a
// kill lands, and so what the later rounds start from, depends on timing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "engine/events.h"
#include "engine/executor.h"
#include "engine/log.h"
#include "engine/scheduler.h"
#include "engine/task.h"
#include "engine/trigger.h"
#include "engine/trigger_text.h"
#include "engine/value.h"
#include "platform/clock.h"
#include "stores/lmdb/lmdb_store.h"
#include "tests/status_macros.h"

namespace aps {
namespace {

namespace fs = std::filesystem;

constexpr int kIds = 16;            // the pool of job ids the child works on
constexpr std::int64_t kMs = 1000;  // µs
constexpr std::int64_t kSlackUs = 100 * kMs;

std::int64_t WallNow() { return platform::SystemClock().WallMicros(); }

std::uint64_t EnvU64(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

std::string IdOf(int i) {
  char b[16];
  std::snprintf(b, sizeof(b), "job%02d", i);
  return b;
}

// A job's arguments: its id (so a run names its job), a number, a string of 0..99 bytes or,
// for every 7th number, of 2-5 KB (LMDB overflow pages), and a double.
TaskArgs ArgsOf(const std::string& id, std::int64_t n) {
  TaskArgs a;
  const std::size_t len =
      n % 7 == 0 ? 2000 + static_cast<std::size_t>(n % 3000) : static_cast<std::size_t>(n % 100);
  a.args = {Value(n), Value(std::string(len, static_cast<char>('a' + n % 26)))};
  a.kwargs = {{"id", Value(id)}, {"half", Value(static_cast<double>(n) / 2)}};
  return a;
}

std::string EncodedArgs(const std::string& id, std::int64_t n) {
  Result<std::string> r = EncodeArgs(ArgsOf(id, n));
  return r.ok() ? *r : std::string("<encode failed>");
}

// ---- the operations, their line form and their effect on the model ---------------------------

enum class OpKind { kAdd, kReplace, kName, kArgs, kRemove, kPause, kResume, kReschedule };
constexpr const char* kOpNames[] = {"add",    "replace", "name",   "args",
                                    "remove", "pause",   "resume", "reschedule"};

struct Op {
  OpKind kind = OpKind::kAdd;
  std::string id;
  std::string name = "-";  // kAdd, kReplace, kName
  std::string task = "-";  // kAdd, kReplace
  std::int64_t arg = 0;    // kAdd, kReplace, kArgs
  bool paused = false;     // kAdd, kReplace
  bool coalesce = true;    // kAdd, kReplace
  std::int64_t grace = kUnlimitedGrace;
  std::string trigger = "-";  // kAdd, kReplace, kReschedule: Trigger::ToText()
};

// "<kind> <id> <name> <task> <arg> <paused> <coalesce> <grace> <trigger text to end of line>"
std::string Encode(const Op& op) {
  char b[160];
  std::snprintf(b, sizeof(b), "%s %s %s %s %" PRId64 " %d %d %" PRId64 " ",
                kOpNames[static_cast<int>(op.kind)], op.id.c_str(), op.name.c_str(),
                op.task.c_str(), op.arg, op.paused ? 1 : 0, op.coalesce ? 1 : 0, op.grace);
  return b + op.trigger;
}

bool Decode(std::string_view line, Op* op) {
  std::vector<std::string> f;
  std::size_t pos = 0;
  while (f.size() < 8) {
    const std::size_t sp = line.find(' ', pos);
    if (sp == std::string_view::npos) return false;
    f.emplace_back(line.substr(pos, sp - pos));
    pos = sp + 1;
  }
  const auto* k = std::find_if(std::begin(kOpNames), std::end(kOpNames),
                               [&](const char* n) { return f[0] == n; });
  if (k == std::end(kOpNames)) return false;
  op->kind = static_cast<OpKind>(k - std::begin(kOpNames));
  op->id = f[1];
  op->name = f[2];
  op->task = f[3];
  op->arg = std::strtoll(f[4].c_str(), nullptr, 10);
  op->paused = f[5] == "1";
  op->coalesce = f[6] == "1";
  op->grace = std::strtoll(f[7].c_str(), nullptr, 10);
  op->trigger = std::string(line.substr(pos));
  return true;
}

// The jobs as the store should hold them: every field the test controls; of next_run_time only
// whether there is one (paused or not) — firing moves it on its own.
using Model = std::map<std::string, JobState>;

void Apply(Model* m, const Op& op) {
  constexpr Instant kScheduled{1};  // "has a next run time"
  switch (op.kind) {
    case OpKind::kAdd:
    case OpKind::kReplace: {
      JobState s;
      s.id = op.id;
      s.name = op.name;
      s.trigger = op.trigger;
      s.executor = "default";
      s.task = op.task;
      s.args = EncodedArgs(op.id, op.arg);
      if (!op.paused) s.next_run_time = kScheduled;
      s.misfire_grace_us = op.grace;
      s.coalesce = op.coalesce;
      s.max_instances = 1;
      (*m)[op.id] = std::move(s);
      break;
    }
    case OpKind::kName: (*m)[op.id].name = op.name; break;
    case OpKind::kArgs: (*m)[op.id].args = EncodedArgs(op.id, op.arg); break;
    case OpKind::kRemove: m->erase(op.id); break;
    case OpKind::kPause: (*m)[op.id].next_run_time.reset(); break;
    case OpKind::kResume: (*m)[op.id].next_run_time = kScheduled; break;
    case OpKind::kReschedule:
      (*m)[op.id].trigger = op.trigger;
      (*m)[op.id].next_run_time = kScheduled;
      break;
  }
}

bool Same(const JobState* a, const JobState* b) {
  if (a == nullptr || b == nullptr) return a == b;
  return a->id == b->id && a->name == b->name && a->trigger == b->trigger &&
         a->executor == b->executor && a->task == b->task && a->args == b->args &&
         a->next_run_time.has_value() == b->next_run_time.has_value() &&
         a->misfire_grace_us == b->misfire_grace_us && a->coalesce == b->coalesce &&
         a->max_instances == b->max_instances;
}

std::string Describe(const JobState* s) {
  if (s == nullptr) return "(absent)";
  char b[160];
  std::snprintf(b, sizeof(b), " task=%s args=%zuB %s coalesce=%d grace=%" PRId64 " max=%d",
                s->task.c_str(), s->args.size(), s->next_run_time ? "scheduled" : "paused",
                s->coalesce ? 1 : 0, s->misfire_grace_us, s->max_instances);
  return "name=" + s->name + b + " trigger=" + s->trigger;
}

const JobState* Find(const Model& m, const std::string& id) {
  auto it = m.find(id);
  return it == m.end() ? nullptr : &it->second;
}

// The fire times of `t` from `from` (itself a fire time) up to `upto`, at most `cap`.
std::vector<Instant> FireTimes(const Trigger& t, Instant from, Instant upto, std::size_t cap) {
  std::vector<Instant> out;
  std::optional<Instant> f = from;
  while (f && f->us <= upto.us && out.size() < cap) {
    out.push_back(*f);
    const std::optional<Instant> n = t.Next(*f, upto);
    if (!n || n->us <= f->us) break;
    f = n;
  }
  return out;
}

// ---- the child ----------------------------------------------------------------------------

int g_child_pipe = -1;

// One line, one write(): atomic on a pipe (< PIPE_BUF), so a kill never tears a line.
void Send(const std::string& line) {
  std::string l = line.substr(0, 4000) + "\n";
  const ssize_t n = ::write(g_child_pipe, l.data(), l.size());
  (void)n;
}

[[noreturn]] void Fatal(const std::string& what) {
  Send("X " + what);
  ::_exit(3);
}

// Engine errors in the child (a failed store write or commit, ...) are failures of the test.
void ChildLog(LogLevel level, const char* message) {
  if (level >= LogLevel::kError) Send(std::string("L ") + message);
}

std::unique_ptr<Trigger> MustParse(const std::string& text) {
  Result<std::unique_ptr<Trigger>> t = ParseTrigger(text, Instant{WallNow()});
  if (!t.ok()) Fatal("trigger " + text + ": " + t.status().message());
  return std::move(t).value();
}

Op RandomOp(const Model& model, std::mt19937_64& rng) {
  Op op;
  op.id = IdOf(static_cast<int>(rng() % kIds));
  const JobState* have = Find(model, op.id);
  if (have == nullptr) {
    op.kind = OpKind::kAdd;
  } else {
    const int r = static_cast<int>(rng() % 100);
    op.kind = r < 18   ? OpKind::kName
              : r < 36 ? OpKind::kArgs
              : r < 50 ? OpKind::kRemove
              : r < 62 ? OpKind::kPause
              : r < 74 ? OpKind::kResume
              : r < 87 ? OpKind::kReplace
                       : OpKind::kReschedule;
  }
  const bool full = op.kind == OpKind::kAdd || op.kind == OpKind::kReplace;
  if (full || op.kind == OpKind::kName) op.name = "n" + std::to_string(rng() % 1000000);
  if (full || op.kind == OpKind::kArgs) op.arg = static_cast<std::int64_t>(rng() % 100000);
  if (full) {
    op.task = rng() % 2 == 0 ? "t" : "u";
    op.paused = rng() % 5 == 0;
    op.coalesce = rng() % 10 < 6;
    op.grace = rng() % 3 == 0 ? kUnlimitedGrace : static_cast<std::int64_t>(1 + rng() % 150) * kMs;
  }
  if (full || op.kind == OpKind::kReschedule) {
    // Mostly 20-100 ms (they fire during the round and while the store is down), some hourly.
    char text[64];
    if (rng() % 5 == 0) {
      std::snprintf(text, sizeof(text), "interval(hours=1)");
    } else {
      std::snprintf(text, sizeof(text), "interval(seconds=0.%03d)",
                    static_cast<int>(20 + rng() % 81));
    }
    op.trigger = MustParse(text)->ToText();  // with its start_date: the text the store keeps
  }
  return op;
}

Status Perform(Scheduler& s, const Op& op) {
  switch (op.kind) {
    case OpKind::kAdd:
    case OpKind::kReplace: {
      JobSpec spec;
      spec.id = op.id;
      spec.name = op.name;
      spec.task = op.task;
      spec.args = ArgsOf(op.id, op.arg);
      spec.trigger = MustParse(op.trigger);
      spec.coalesce = op.coalesce;
      spec.misfire_grace_us = op.grace;
      spec.next_run_time = op.paused ? NextRunTime::Paused() : NextRunTime::FromTrigger();
      spec.replace_existing = op.kind == OpKind::kReplace;
      Result<std::string> r = s.AddJob(std::move(spec));
      if (r.ok() && *r != op.id) return Status(StatusCode::kInternal, "AddJob: another id");
      return r.status();
    }
    case OpKind::kName: {
      JobChanges c;
      c.name = op.name;
      return s.ModifyJob(op.id, std::move(c));
    }
    case OpKind::kArgs: {
      JobChanges c;
      c.args = ArgsOf(op.id, op.arg);
      return s.ModifyJob(op.id, std::move(c));
    }
    case OpKind::kRemove: return s.RemoveJob(op.id);
    case OpKind::kPause: return s.PauseJob(op.id);
    case OpKind::kResume: {
      Result<bool> r = s.ResumeJob(op.id);
      if (r.ok() && !*r) return Status(StatusCode::kInternal, "ResumeJob removed the job");
      return r.status();
    }
    case OpKind::kReschedule: return s.RescheduleJob(op.id, MustParse(op.trigger));
  }
  return OkStatus();
}

// Never returns: the parent SIGKILLs it (or it _exits on an unexpected error).
[[noreturn]] void ChildMain(const std::string& dir, int fd, pid_t parent, Model model,
                            std::uint64_t seed) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // no orphan if the parent dies
  if (::getppid() != parent) ::_exit(4);
  ::alarm(120);  // and a last resort
  g_child_pipe = fd;
  SetLogHandler(ChildLog);
  std::mt19937_64 rng(seed);
  SchedulerOptions o;  // background, system clock
  o.default_executor_threads = 2;
  Scheduler s(o);
  LmdbStoreOptions so;
  so.path = dir;  // LmdbDurability::kSync, the default
  if (Status st = s.AddJobStore("default", std::make_unique<LmdbJobStore>(so)); !st.ok())
    Fatal(std::string("AddJobStore: ") + st.message());
  for (const char* task : {"t", "u"}) {
    if (Status st = s.AddTask(task, [](const TaskArgs&) {}); !st.ok())
      Fatal(std::string("AddTask: ") + st.message());
  }
  if (Status st = s.Start(); !st.ok()) Fatal(std::string("Start: ") + st.message());
  Send("R");
  for (;;) {
    const Op op = RandomOp(model, rng);
    Send("B " + Encode(op));
    if (Status st = Perform(s, op); !st.ok()) Fatal(Encode(op) + ": " + st.message());
    Apply(&model, op);
    Send("A");
  }
}

// ---- the parent ---------------------------------------------------------------------------

std::vector<std::string>* g_parent_errors = nullptr;

void ParentLog(LogLevel level, const char* message) {
  if (level >= LogLevel::kError && g_parent_errors != nullptr) g_parent_errors->push_back(message);
}

int ThreadCount() {
  int n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/self/task", ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    ++n;
  }
  return n;
}

struct Fd {
  int fd = -1;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// Kills (SIGKILL) and reaps the child when the test leaves a round early.
struct ChildGuard {
  pid_t pid = -1;
  ~ChildGuard() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      int st;
      ::waitpid(pid, &st, 0);
    }
  }
};

struct Stats {
  int rounds = 0;
  int killed_before_ready = 0;
  int startups = 0;
  std::int64_t startup_us = 0;  // fork to the child's started scheduler, summed
  std::uint64_t acks = 0;
  int pending_at_kill = 0;
  int pending_committed = 0;      // the store held the unacknowledged change
  int pending_not_committed = 0;  // it held the state before it
  std::uint64_t jobs_checked = 0;
  std::uint64_t overdue_checked = 0;
  std::uint64_t submitted = 0;
  std::uint64_t missed = 0;
};

class LmdbCrash : public ::testing::Test {
 protected:
  LmdbCrash() {
    std::string tmpl = (fs::temp_directory_path() / "aps-lmdb-crash-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    root_ = tmpl;
    dir_ = root_ + "/store";  // created by the first child: a crash may hit the creation
    g_parent_errors = &engine_errors_;
    SetLogHandler(ParentLog);
  }
  ~LmdbCrash() override {
    SetLogHandler(nullptr);
    g_parent_errors = nullptr;
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Everything the store holds, by id (after Check() and a load without problems).
  void ReadStore(Model* out, const char* when) {
    out->clear();
    LmdbStoreOptions so;
    so.path = dir_;
    LmdbJobStore store(so);
    ASSERT_OK(store.Start("default"));
    std::vector<std::string> problems;
    ASSERT_OK(store.Check(&problems));
    for (const std::string& p : problems) ADD_FAILURE() << when << ": Check(): " << p;
    std::vector<JobState> jobs;
    std::vector<std::pair<std::string, Status>> unreadable;
    ASSERT_OK(store.LoadJobs(&jobs, &unreadable));
    for (auto& [id, st] : unreadable) ADD_FAILURE() << when << ": " << id << ": " << st.message();
    std::vector<JobState> all;
    ASSERT_OK(store.GetAllJobs(&all));
    Result<std::size_t> count = store.Count();
    ASSERT_TRUE(count.ok()) << count.status().message();
    EXPECT_EQ(*count, jobs.size()) << when;
    EXPECT_EQ(all.size(), jobs.size()) << when;
    for (JobState& j : jobs) {
      std::string id = j.id;
      EXPECT_TRUE(out->emplace(id, std::move(j)).second) << when << ": " << id << " twice";
    }
    for (const JobState& j : all) EXPECT_TRUE(Same(&j, Find(*out, j.id))) << when << ": " << j.id;
    // The due index answers as the records say.
    std::optional<Instant> earliest;
    for (const auto& [id, j] : *out) {
      if (j.next_run_time && (!earliest || j.next_run_time->us < earliest->us))
        earliest = j.next_run_time;
    }
    Result<std::optional<Instant>> next = store.GetNextRunTime();
    ASSERT_TRUE(next.ok()) << next.status().message();
    EXPECT_EQ(next->has_value(), earliest.has_value()) << when;
    if (next->has_value() && earliest) {
      EXPECT_EQ((*next)->us, earliest->us) << when;
    }
    const Instant now{WallNow()};
    std::vector<JobState> due;
    ASSERT_OK(store.GetDueJobs(now, &due));
    std::size_t want_due = 0;
    for (const auto& [id, j] : *out) want_due += j.next_run_time && j.next_run_time->us <= now.us;
    EXPECT_EQ(due.size(), want_due) << when;
    for (const JobState& j : due) {
      EXPECT_TRUE(j.next_run_time && j.next_run_time->us <= now.us) << when << ": " << j.id;
      EXPECT_TRUE(Same(&j, Find(*out, j.id))) << when << ": " << j.id;
    }
    // Ascending by next run time, paused last (GetAllJobs' order over the due index).
    for (std::size_t i = 1; i < all.size(); ++i) {
      const JobState& a = all[i - 1];
      const JobState& b = all[i];
      bool ordered;
      if (!a.next_run_time) {
        ordered = !b.next_run_time && a.id < b.id;
      } else if (!b.next_run_time) {
        ordered = true;
      } else {
        ordered = a.next_run_time->us < b.next_run_time->us ||
                  (a.next_run_time->us == b.next_run_time->us && a.id < b.id);
      }
      EXPECT_TRUE(ordered) << when << ": GetAllJobs order " << a.id << " before " << b.id;
    }
    store.Shutdown();
  }

  // One round: fork the child, kill it, check the store against the acknowledged changes.
  void KillRound(std::mt19937_64& rng, int round) {
    ASSERT_EQ(ThreadCount(), 1) << "the parent must not have threads when it forks";
    Fd in, out;
    {
      int fds[2];
      ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
      in.fd = fds[0];
      out.fd = fds[1];
    }
    (void)::fcntl(in.fd, F_SETPIPE_SZ, 1 << 20);  // best effort: the default 64 KiB also works
    const std::uint64_t child_seed = rng();
    const std::int64_t delay_us = round % 4 == 0
                                      ? static_cast<std::int64_t>(rng() % (15 * kMs))
                                      : static_cast<std::int64_t>(10 + rng() % 141) * kMs;
    std::fflush(nullptr);
    const pid_t parent = ::getpid();
    ChildGuard child;
    child.pid = ::fork();
    ASSERT_GE(child.pid, 0) << std::strerror(errno);
    if (child.pid == 0) {
      in.Close();
      ChildMain(dir_, out.fd, parent, model_, child_seed);
    }
    out.Close();

    Model acked = model_;
    std::optional<Op> pending;
    bool ready = false;
    std::vector<std::string> child_errors;
    std::string buf;
    auto consume = [&](bool* ok) {
      std::size_t pos = 0, nl;
      for (; (nl = buf.find('\n', pos)) != std::string::npos; pos = nl + 1) {
        const std::string line = buf.substr(pos, nl - pos);
        if (line == "R") {
          ready = true;
        } else if (line == "A") {
          if (!pending) {
            *ok = false;
            child_errors.push_back("ack without a begun change");
            continue;
          }
          Apply(&acked, *pending);
          pending.reset();
          ++stats_.acks;
        } else if (line.rfind("B ", 0) == 0) {
          Op op;
          if (pending || !Decode(std::string_view(line).substr(2), &op)) {
            *ok = false;
            child_errors.push_back("bad line: " + line);
            continue;
          }
          pending = op;
        } else {
          *ok = false;
          child_errors.push_back(line);
        }
      }
      buf.erase(0, pos);
    };
    // The kill comes 10-150 ms after the child's scheduler has started ("R"), or, in one round of
    // four, 0-15 ms after the fork (while the store opens and the scheduler loads it). The parent
    // sleeps until then without reading (the lines wait in the pipe, made 1 MiB), so the moment of
    // the kill does not follow the child's writes.
    const bool from_fork = round % 4 == 0;
    const auto forked = std::chrono::steady_clock::now();
    bool ok = true;
    bool eof = false;
    char chunk[4096];
    while (!from_fork && !ready && !eof) {
      if (std::chrono::steady_clock::now() - forked > std::chrono::seconds(30)) break;
      pollfd p{in.fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::read(in.fd, chunk, sizeof(chunk));
      if (n <= 0) {
        eof = true;  // the child exited on its own: an error it reported (checked below)
        break;
      }
      buf.append(chunk, static_cast<std::size_t>(n));
      consume(&ok);
    }
    if (ready) {
      stats_.startup_us += std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::steady_clock::now() - forked)
                               .count();
      ++stats_.startups;
    }
    if (ready || from_fork) {
      std::this_thread::sleep_until((from_fork ? forked : std::chrono::steady_clock::now()) +
                                    std::chrono::microseconds(delay_us));
    }
    const std::int64_t killed_at = WallNow();
    ::kill(child.pid, SIGKILL);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(child.pid, &wstatus, 0), child.pid);
    child.pid = -1;
    // What it wrote before it died (no writer is left: read to the end).
    for (;;) {
      const ssize_t n = ::read(in.fd, chunk, sizeof(chunk));
      if (n <= 0) break;
      buf.append(chunk, static_cast<std::size_t>(n));
    }
    in.Close();
    consume(&ok);
    for (const std::string& e : child_errors)
      ADD_FAILURE() << "round " << round << ": child: " << e;
    ASSERT_TRUE(ok) << "round " << round;
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "round " << round << ": the child ended on its own (status " << wstatus << ")";
    if (!ready) {
      ASSERT_TRUE(from_fork) << "round " << round << ": the child's scheduler never started";
      ++stats_.killed_before_ready;
    }

    Model stored;
    ReadStore(&stored, "after the kill");
    if (HasFailure()) return;
    std::set<std::string> ids;
    for (const auto& [id, s] : acked) ids.insert(id);
    for (const auto& [id, s] : stored) ids.insert(id);
    if (pending) {
      ids.insert(pending->id);
      ++stats_.pending_at_kill;
    }
    for (const std::string& id : ids) {
      const JobState* got = Find(stored, id);
      const JobState* want = Find(acked, id);
      bool match = Same(got, want);
      std::string alt;
      if (pending && pending->id == id) {
        Model after;
        if (want != nullptr) after[id] = *want;
        Apply(&after, *pending);
        const JobState* want2 = Find(after, id);
        const bool match2 = Same(got, want2);
        if (match2 && !match) ++stats_.pending_committed;
        if (match && !match2) ++stats_.pending_not_committed;
        match = match || match2;
        alt = "\n  or, after the unacknowledged " + Encode(*pending) + ": " + Describe(want2);
      }
      EXPECT_TRUE(match) << "round " << round << " (seed " << seed_ << "): job " << id
                         << "\n  stored:       " << Describe(got)
                         << "\n  acknowledged: " << Describe(want) << alt;
      ++stats_.jobs_checked;
      if (got != nullptr && got->next_run_time) {
        // A run time from the trigger, no later than one interval after the kill.
        Result<std::unique_ptr<Trigger>> t = ParseTrigger(got->trigger, Instant{killed_at});
        ASSERT_TRUE(t.ok()) << got->trigger << ": " << t.status().message();
        const std::optional<Instant> next = (*t)->Next(*got->next_run_time, *got->next_run_time);
        ASSERT_TRUE(next.has_value());
        const std::int64_t interval = next->us - got->next_run_time->us;
        EXPECT_LE(got->next_run_time->us, killed_at + interval + kSlackUs)
            << "round " << round << ": job " << id << " next run time too far ahead";
      }
    }
    ++stats_.rounds;
  }

  // After a down time: a scheduler on the store runs what came due once; the misfire policy of
  // each job decides what happens to its overdue fire times. Leaves the store's content in
  // model_.
  void MisfireRound(std::mt19937_64& rng, int round) {
    Model before;
    ReadStore(&before, "before the restart");
    if (HasFailure()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 120));

    struct RunRecord {
      std::string id;
      std::string task;
      TaskArgs args;
    };
    std::vector<Event> events;
    std::vector<RunRecord> runs;
    std::int64_t t1 = 0, t2 = 0;
    {
      SchedulerOptions o;
      o.mode = SchedulerMode::kHostDriven;  // system clock; the test is the host
      Scheduler s(o);
      ASSERT_OK(
          s.AddExecutor("default", std::make_unique<InlineExecutor>(platform::SystemClock())));
      LmdbStoreOptions so;
      so.path = dir_;
      ASSERT_OK(s.AddJobStore("default", std::make_unique<LmdbJobStore>(so)));
      for (const char* task : {"t", "u"}) {
        ASSERT_OK(s.AddTask(task, [&runs, task](const TaskArgs& a) {
          const Value* id = nullptr;
          for (const auto& [k, v] : a.kwargs) {
            if (k == "id") id = &v;
          }
          runs.push_back({id != nullptr ? id->as_string() : std::string("?"), task, a});
        }));
      }
      s.AddListener([&events](const Event& e) { events.push_back(e); },
                    kEventJobSubmitted | kEventJobMissed | kEventJobMaxInstances | kEventJobError |
                        kEventJobUnresolved | kEventJobRemoved | kEventJobAdded |
                        kEventJobModified);
      t1 = WallNow();
      ASSERT_OK(s.Start());
      ASSERT_OK(s.RunDue());
      t2 = WallNow();
      ASSERT_OK(s.Shutdown());
    }
    ASSERT_EQ(ThreadCount(), 1);

    std::map<std::string, std::vector<const Event*>> by_job;
    for (const Event& e : events) {
      if (e.code == kEventJobSubmitted || e.code == kEventJobMissed) {
        by_job[e.job_id].push_back(&e);
      } else {
        ADD_FAILURE() << "round " << round << ": unexpected " << EventName(e.code) << " for "
                      << e.job_id << " " << e.error;
      }
    }
    std::map<std::string, int> runs_of;
    for (const RunRecord& r : runs) {
      ++runs_of[r.id];
      const JobState* j = Find(before, r.id);
      ASSERT_NE(j, nullptr) << "round " << round << ": a run of unknown job " << r.id;
      Result<std::string> args = EncodeArgs(r.args);
      ASSERT_TRUE(args.ok()) << args.status().message();
      EXPECT_EQ(*args, j->args) << "round " << round << ": job " << r.id
                                << " ran with other arguments";
      EXPECT_EQ(r.task, j->task) << "round " << round << ": job " << r.id << " ran another task";
    }
    std::map<std::string, std::int64_t> last_time;  // the latest run time handled, per job
    for (const auto& [id, evs] : by_job) {
      const JobState* j = Find(before, id);
      ASSERT_NE(j, nullptr) << "round " << round << ": events for unknown job " << id;
      EXPECT_TRUE(j->next_run_time.has_value()) << "round " << round << ": paused " << id << " ran";
    }
    for (const auto& [id, j] : before) {
      if (!j.next_run_time) continue;
      const std::int64_t nrt = j.next_run_time->us;
      const auto it = by_job.find(id);
      const std::vector<const Event*> none;
      const std::vector<const Event*>& evs = it == by_job.end() ? none : it->second;
      const std::string where = "round " + std::to_string(round) + " (seed " +
                                std::to_string(seed_) + "): job " + id + " " + Describe(&j) +
                                ", due " + std::to_string((t1 - nrt) / kMs) + " ms before restart";
      if (nrt > t2) {
        EXPECT_TRUE(evs.empty()) << where << ": not due, but had events";
        continue;
      }
      if (nrt <= t1) {
        EXPECT_FALSE(evs.empty()) << where << ": overdue, but neither submitted nor missed";
        ++stats_.overdue_checked;
      }
      if (evs.empty()) continue;
      Result<std::unique_ptr<Trigger>> t = ParseTrigger(j.trigger, Instant{t1});
      ASSERT_TRUE(t.ok()) << t.status().message();
      const std::vector<Instant> upto_t2 = FireTimes(**t, Instant{nrt}, Instant{t2}, 1000);
      const std::vector<Instant> upto_t1 = FireTimes(**t, Instant{nrt}, Instant{t1}, 1000);
      ASSERT_LT(upto_t2.size(), 1000u) << where;
      // What happened to each fire time: live (run) or missed.
      std::vector<std::pair<std::int64_t, bool>> handled;
      int submitted_events = 0;
      for (const Event* e : evs) {
        if (e->code == kEventJobSubmitted) {
          ++submitted_events;
          ++stats_.submitted;
          for (Instant rt : e->scheduled_run_times) handled.emplace_back(rt.us, true);
        } else {
          ++stats_.missed;
          ASSERT_TRUE(e->scheduled_run_time.has_value()) << where;
          handled.emplace_back(e->scheduled_run_time->us, false);
        }
      }
      EXPECT_LE(submitted_events, 1) << where;
      if (submitted_events > 0) {
        EXPECT_GE(runs_of[id], 1) << where << ": submitted, not run";
      }
      std::sort(handled.begin(), handled.end());
      for (const auto& [rt, live] : handled) {
        if (live) {
          EXPECT_TRUE(j.misfire_grace_us == kUnlimitedGrace || t1 - rt <= j.misfire_grace_us)
              << where << ": a run " << (t1 - rt) / kMs << " ms late ran";
        } else {
          EXPECT_TRUE(j.misfire_grace_us != kUnlimitedGrace && t2 - rt > j.misfire_grace_us)
              << where << ": a run " << (t2 - rt) / kMs << " ms late was missed";
        }
      }
      if (j.coalesce) {
        // One event for the whole outage, for the latest fire time <= now (t1 <= now <= t2).
        ASSERT_EQ(handled.size(), 1u) << where << ": coalesced, but " << handled.size();
        const std::int64_t rt = handled[0].first;
        EXPECT_TRUE(
            std::any_of(upto_t2.begin(), upto_t2.end(), [&](Instant f) { return f.us == rt; }))
            << where << ": " << rt << " is not a fire time";
        if (!upto_t1.empty()) {
          EXPECT_GE(rt, upto_t1.back().us) << where << ": not the latest";
        }
      } else {
        // Each fire time from the stored one up to now, once, in order.
        ASSERT_GE(handled.size(), upto_t1.size()) << where;
        ASSERT_LE(handled.size(), upto_t2.size()) << where;
        for (std::size_t i = 0; i < handled.size(); ++i) {
          EXPECT_EQ(handled[i].first, upto_t2[i].us) << where << ": fire time " << i;
        }
      }
      last_time[id] = handled.back().first;
    }

    // The store after that scheduler: the same jobs; the ones it handled moved on.
    Model after;
    ReadStore(&after, "after the restart");
    if (HasFailure()) return;
    for (const auto& [id, j] : before) {
      const JobState* a = Find(after, id);
      EXPECT_TRUE(Same(&j, a)) << "round " << round << ": the restart changed job " << id
                               << "\n  before: " << Describe(&j) << "\n  after:  " << Describe(a);
      auto lt = last_time.find(id);
      if (a != nullptr && lt != last_time.end()) {
        ASSERT_TRUE(a->next_run_time.has_value());
        EXPECT_GT(a->next_run_time->us, lt->second) << "round " << round << ": job " << id;
        EXPECT_GT(a->next_run_time->us, t1)
            << "round " << round << ": job " << id << " still overdue after its batch";
      }
    }
    EXPECT_EQ(after.size(), before.size());
    model_ = std::move(after);
  }

  std::string root_, dir_;
  std::uint64_t seed_ = 0;
  Model model_;  // the store's content at the start of a round (the child inherits it)
  Stats stats_;
  std::vector<std::string> engine_errors_;
};

TEST_F(LmdbCrash, AcknowledgedChangesSurviveSigkillAndMissedRunsFollowTheMisfirePolicy) {
  const int kills = static_cast<int>(EnvU64("APS_CRASH_KILLS", 20));
  seed_ = EnvU64("APS_CRASH_SEED", std::random_device{}());
  std::printf("lmdb crash test: %d kills, seed %" PRIu64 " (APS_CRASH_SEED=%" PRIu64
              " to replay)\n",
              kills, seed_, seed_);
  RecordProperty("seed", std::to_string(seed_));
  RecordProperty("kills", std::to_string(kills));
  std::mt19937_64 rng(seed_);
  const auto t0 = std::chrono::steady_clock::now();
  for (int round = 0; round < kills; ++round) {
    KillRound(rng, round);
    if (HasFailure()) break;
    MisfireRound(rng, round);
    if (HasFailure()) break;
  }
  for (const std::string& e : engine_errors_) ADD_FAILURE() << "engine error: " << e;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "lmdb crash test: %d rounds in %.1f s; %" PRIu64
      " acknowledged changes; killed before "
      "ready %d (started in %.1f ms on average); a change in flight at %d kills (committed %d, not "
      "%d, either %d); %" PRIu64 " job states checked; %" PRIu64
      " overdue jobs after restarts: %" PRIu64 " submitted, %" PRIu64 " missed events\n",
      stats_.rounds, secs, stats_.acks, stats_.killed_before_ready,
      stats_.startups > 0 ? static_cast<double>(stats_.startup_us) / stats_.startups / 1000 : 0.0,
      stats_.pending_at_kill, stats_.pending_committed, stats_.pending_not_committed,
      stats_.pending_at_kill - stats_.pending_committed - stats_.pending_not_committed,
      stats_.jobs_checked, stats_.overdue_checked, stats_.submitted, stats_.missed);
  EXPECT_EQ(stats_.rounds, kills);
  // The run must have exercised something: changes acknowledged, jobs overdue at restarts.
  EXPECT_GT(stats_.acks, static_cast<std::uint64_t>(kills));
  EXPECT_GT(stats_.overdue_checked, 0u);
}

}  // namespace
}  // namespace aps
