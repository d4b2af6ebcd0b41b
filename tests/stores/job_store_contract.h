// The job store contract (stores/job_store.h, APScheduler's BaseJobStore and its
// tests/test_jobstores.py) as a gtest type-parameterized suite that every store instantiates.
//
// A store's test instantiates the suite with a factory type, from exactly one .cc per test
// binary and inside namespace aps::test:
//
//   namespace aps::test {
//   struct MemoryJobStoreFactory {
//     static constexpr bool kPersistent = false;     // optional, default false
//     static constexpr bool kTransactional = false;  // optional, default false
//     static std::unique_ptr<JobStore> Make() { return std::make_unique<MemoryJobStore>(); }
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(Memory, JobStoreContract, MemoryJobStoreFactory);
//   }  // namespace aps::test
//
// The factory:
//   Make()         a new, empty, not yet started store. May be static or a member function: each
//                  test owns one default-constructed factory object, constructed before its store
//                  and destroyed after it, so a persistent store's factory can create a temporary
//                  directory in its constructor and delete it in its destructor.
//   kPersistent    jobs survive the store object. Then the factory must also have
//                  Reopen(): a new, not yet started store over the data of the last store made.
//                  The fixture calls Shutdown() on the old store and destroys it first (LMDB does
//                  not allow one environment to be open twice in a process).
//   kTransactional BeginBatch()/CommitBatch() is one transaction and AbortBatch() drops it.
//                  Otherwise changes apply at once and AbortBatch() leaves them in place, as
//                  job_store.h says of stores without transactions.
//
// Every test starts its store with Start("default") first and shuts it down at the end. Bulk
// writes (the 10 000-job test) go through one batch so that a persistent store commits them
// once. Inside a batch, the tests read a transactional store only after the commit.
//
// Contract points pinned down here beyond job_store.h's text: ids order bytewise (std::string's
// operator<, LMDB's default comparator); JobState::args is opaque bytes (embedded NULs too);
// ids up to 191 bytes (APScheduler's SQL column) work; a failed operation (duplicate add,
// update or remove of a missing id) changes nothing, inside a batch too, and does not spoil the
// batch; inside a batch, writes see the batch's earlier writes (adding an id added earlier in
// the same batch fails); GetDueJobs() takes any Instant as now, Instant{INT64_MAX} included;
// Shutdown() followed by Start() keeps the jobs.
#ifndef APS_TESTS_STORES_JOB_STORE_CONTRACT_H_
#define APS_TESTS_STORES_JOB_STORE_CONTRACT_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/status.h"
#include "engine/time.h"
#include "stores/job_store.h"

namespace aps {

// Readable JobStates in gtest messages (found by ADL).
inline std::string DescribeJobState(const JobState& j) {
  auto quoted = [](const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
        out += static_cast<char>(c);
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      }
    }
    return out + "\"";
  };
  std::string out = "{id=" + quoted(j.id) + " name=" + quoted(j.name) +
                    " trigger=" + quoted(j.trigger) + " executor=" + quoted(j.executor) +
                    " task=" + quoted(j.task) + " args=" + quoted(j.args) + " next_run_time=";
  out += j.next_run_time ? std::to_string(j.next_run_time->us) + "us" : std::string("paused");
  out += " misfire_grace_us=" + std::to_string(j.misfire_grace_us) +
         " coalesce=" + (j.coalesce ? "true" : "false") +
         " max_instances=" + std::to_string(j.max_instances) + "}";
  return out;
}
inline void PrintTo(const JobState& j, std::ostream* os) { *os << DescribeJobState(j); }

namespace test {

// --- helpers --------------------------------------------------------------------------------

inline ::testing::AssertionResult IsOk(const Status& s) {
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << ToString(s.code()) << ": " << s.message();
}

// The exact code and message.
inline ::testing::AssertionResult HasError(const Status& s, StatusCode code,
                                           std::string_view message) {
  if (s.code() == code && std::string_view(s.message()) == message) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "got " << ToString(s.code()) << " \"" << s.message()
                                       << "\", want " << ToString(code) << " \"" << message << "\"";
}

inline std::string ConflictMessage(std::string_view id) {
  return "Job identifier (" + std::string(id) + ") conflicts with an existing job";
}
inline std::string NotFoundMessage(std::string_view id) {
  return "No job by the id of " + std::string(id) + " was found";
}

// 2024-01-01T00:00:00Z + s seconds + us microseconds.
inline constexpr std::int64_t kContractEpoch = 1'704'067'200;
inline Instant Sec(std::int64_t s, std::int64_t us = 0) {
  return Instant{(kContractEpoch + s) * kMicrosPerSecond + us};
}

// Micros of a run time; compares and prints well (nullopt = paused).
inline std::optional<std::int64_t> Us(const std::optional<Instant>& t) {
  return t ? std::optional<std::int64_t>(t->us) : std::nullopt;
}

// A job with every field set to something of its own.
inline JobState Job(std::string id, std::optional<Instant> next_run_time) {
  JobState j;
  j.name = "job " + id;
  j.trigger = "interval(seconds=10, timezone='UTC')";
  j.executor = "default";
  j.id = std::move(id);
  j.next_run_time = next_run_time;
  return j;
}

// No field at its default value; args holds binary bytes with embedded NULs.
inline JobState FullJob() {
  using namespace std::string_literals;
  JobState j;
  j.id = "full-job";
  j.name = "Full job \xc3\xa4\xc3\xb6 \xe2\x9c\x93";  // UTF-8
  j.trigger = "cron(hour='9', day_of_week='mon-fri', timezone='Europe/Helsinki')";
  j.executor = "processpool";
  j.task = "reports.nightly";
  j.args = "\x00\x01\xff{\"k\": [1, 2]}\x00\x7f"s;
  j.next_run_time = Sec(86'400, 123'457);
  j.misfire_grace_us = 30'000'001;
  j.coalesce = false;
  j.max_instances = 7;
  j.at_least_once = true;
  j.inflight_run = Sec(86'000, 1);
  return j;
}

inline std::vector<std::string> Ids(const std::vector<JobState>& jobs) {
  std::vector<std::string> ids;
  ids.reserve(jobs.size());
  for (const JobState& j : jobs) ids.push_back(j.id);
  return ids;
}

// Field by field, so that a failure names the field; then operator==, which also covers
// fields added to JobState later.
inline void ExpectSameJob(const JobState& got, const JobState& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.trigger, want.trigger);
  EXPECT_EQ(got.executor, want.executor);
  EXPECT_EQ(got.task, want.task);
  EXPECT_EQ(got.args, want.args);
  EXPECT_EQ(Us(got.next_run_time), Us(want.next_run_time));
  EXPECT_EQ(got.misfire_grace_us, want.misfire_grace_us);
  EXPECT_EQ(got.coalesce, want.coalesce);
  EXPECT_EQ(got.max_instances, want.max_instances);
  EXPECT_EQ(got, want);
}

// Equal sequences of jobs; reports the first difference only (the big tests have 10 000).
inline ::testing::AssertionResult SameJobs(const std::vector<JobState>& got,
                                           const std::vector<JobState>& want) {
  const std::size_t n = std::min(got.size(), want.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (!(got[i] == want[i])) {
      return ::testing::AssertionFailure()
             << "first difference at [" << i << "]: got " << DescribeJobState(got[i]) << ", want "
             << DescribeJobState(want[i]);
    }
  }
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure()
           << "got " << got.size() << " jobs, want " << want.size() << " (equal up to " << n << ")";
  }
  return ::testing::AssertionSuccess();
}

// The contract's order, written independently of any store: scheduled jobs by (next_run_time,
// id), then paused jobs by id.
inline bool ContractOrder(const JobState& a, const JobState& b) {
  if (a.next_run_time.has_value() != b.next_run_time.has_value()) {
    return a.next_run_time.has_value();
  }
  if (a.next_run_time && *a.next_run_time != *b.next_run_time) {
    return *a.next_run_time < *b.next_run_time;
  }
  return a.id < b.id;
}

template <typename F>
constexpr bool FactoryIsPersistent() {
  if constexpr (requires { F::kPersistent; }) {
    return F::kPersistent;
  } else {
    return false;
  }
}
template <typename F>
constexpr bool FactoryIsTransactional() {
  if constexpr (requires { F::kTransactional; }) {
    return F::kTransactional;
  } else {
    return false;
  }
}

template <typename F>
concept HasMake = requires(F& f) {
  { f.Make() } -> std::convertible_to<std::unique_ptr<JobStore>>;
};
template <typename F>
concept HasReopen = requires(F& f) {
  { f.Reopen() } -> std::convertible_to<std::unique_ptr<JobStore>>;
};

// --- the fixture ----------------------------------------------------------------------------

template <typename Factory>
class JobStoreContract : public ::testing::Test {
 public:
  static constexpr bool kPersistent = FactoryIsPersistent<Factory>();
  static constexpr bool kTransactional = FactoryIsTransactional<Factory>();
  static constexpr const char* kAlias = "default";

  static_assert(HasMake<Factory>,
                "a store factory needs Make() returning a std::unique_ptr<aps::JobStore>");
  static_assert(
      !kPersistent || HasReopen<Factory>,
      "a persistent store's factory needs Reopen() returning a std::unique_ptr<aps::JobStore>");

 protected:
  void SetUp() override {
    store_ = factory_.Make();
    ASSERT_NE(store_, nullptr);
    ASSERT_TRUE(IsOk(store_->Start(kAlias)));
    started_ = true;
  }
  void TearDown() override {
    if (store_ && started_) store_->Shutdown();
    started_ = false;
  }

  JobStore& store() { return *store_; }

  void ShutdownStore() {
    store_->Shutdown();
    started_ = false;
  }
  ::testing::AssertionResult StartStore(std::string_view alias) {
    ::testing::AssertionResult r = IsOk(store_->Start(alias));
    started_ = static_cast<bool>(r);
    return r;
  }

  // Shut the store down, destroy it, and open its data again (persistent stores only).
  void ReopenStore() {
    if constexpr (kPersistent) {
      ShutdownStore();
      store_.reset();
      store_ = factory_.Reopen();
      ASSERT_NE(store_, nullptr);
      ASSERT_TRUE(StartStore(kAlias));
    } else {
      FAIL() << "ReopenStore() on a store that is not persistent";
    }
  }

  ::testing::AssertionResult AddAll(const std::vector<JobState>& jobs) {
    for (const JobState& j : jobs) {
      ::testing::AssertionResult r = IsOk(store_->AddJob(j));
      if (!r) return r << " (adding " << j.id << ")";
    }
    return ::testing::AssertionSuccess();
  }

  std::optional<JobState> Lookup(std::string_view id) {
    Result<std::optional<JobState>> r = store_->LookupJob(id);
    EXPECT_TRUE(IsOk(r.status())) << "LookupJob(" << id << ")";
    return r.ok() ? *r : std::nullopt;
  }
  std::vector<JobState> All() {
    std::vector<JobState> out;
    EXPECT_TRUE(IsOk(store_->GetAllJobs(&out)));
    return out;
  }
  std::vector<JobState> Due(Instant now) {
    std::vector<JobState> out;
    EXPECT_TRUE(IsOk(store_->GetDueJobs(now, &out)));
    return out;
  }
  std::vector<std::string> AllIds() { return Ids(All()); }
  std::vector<std::string> DueIds(Instant now) { return Ids(Due(now)); }
  std::optional<std::int64_t> NextUs() {
    Result<std::optional<Instant>> r = store_->GetNextRunTime();
    EXPECT_TRUE(IsOk(r.status()));
    return r.ok() ? Us(*r) : std::nullopt;
  }

  // A few jobs that differ in every field, including the edge values of each.
  static std::vector<JobState> VariedJobs() {
    std::vector<JobState> jobs;
    jobs.push_back(FullJob());
    JobState minimal;  // every field at its default, except the id
    minimal.id = "m";
    jobs.push_back(minimal);
    JobState paused = Job("paused", std::nullopt);
    paused.misfire_grace_us = 0;
    paused.max_instances = INT32_MAX;
    paused.task = "tasks.cleanup";
    paused.args = std::string(1000, '\0');
    jobs.push_back(paused);
    jobs.push_back(Job("earliest", kMinInstant));
    jobs.push_back(Job("latest", kMaxInstant));
    jobs.push_back(Job("before-1970", Instant{-1'500'001}));  // -1.500001 s
    jobs.push_back(Job("epoch", Instant{0}));
    return jobs;
  }

  Factory factory_;  // declared before store_: outlives it
  std::unique_ptr<JobStore> store_;
  bool started_ = false;
};

TYPED_TEST_SUITE_P(JobStoreContract);

// --- basics ---------------------------------------------------------------------------------

TYPED_TEST_P(JobStoreContract, AFreshStoreIsEmpty) {
  EXPECT_TRUE(this->All().empty());
  EXPECT_TRUE(this->Due(kMaxInstant).empty());
  EXPECT_EQ(this->NextUs(), std::nullopt);
  EXPECT_EQ(this->Lookup("anything"), std::nullopt);
}

TYPED_TEST_P(JobStoreContract, PersistentMatchesTheFactory) {
  EXPECT_EQ(this->store().persistent(), TestFixture::kPersistent);
}

TYPED_TEST_P(JobStoreContract, AddThenLookupRoundTripsEveryField) {
  const std::vector<JobState> jobs = TestFixture::VariedJobs();
  for (const JobState& j : jobs) {
    SCOPED_TRACE(j.id);
    ASSERT_TRUE(IsOk(this->store().AddJob(j)));
    const std::optional<JobState> got = this->Lookup(j.id);
    ASSERT_TRUE(got.has_value());
    ExpectSameJob(*got, j);
  }
  // Adding the later jobs changed none of the earlier ones.
  for (const JobState& j : jobs) {
    SCOPED_TRACE(j.id);
    const std::optional<JobState> got = this->Lookup(j.id);
    ASSERT_TRUE(got.has_value());
    ExpectSameJob(*got, j);
  }
  std::vector<JobState> want = jobs;
  std::sort(want.begin(), want.end(), ContractOrder);
  EXPECT_TRUE(SameJobs(this->All(), want));
}

TYPED_TEST_P(JobStoreContract, LookupOfAMissingIdIsNotAnError) {
  ASSERT_TRUE(this->AddAll({Job("a", Sec(1)), Job("ab", Sec(2))}));
  Result<std::optional<JobState>> r = this->store().LookupJob("b");
  ASSERT_TRUE(IsOk(r.status()));
  EXPECT_EQ(*r, std::nullopt);
  EXPECT_EQ(this->Lookup("A"), std::nullopt);                         // ids are case-sensitive
  EXPECT_EQ(this->Lookup(std::string_view("a\0", 2)), std::nullopt);  // "a" and a NUL byte
  EXPECT_NE(this->Lookup("a"), std::nullopt);
}

// Ids arrive as string_views into larger buffers: no reliance on a terminating NUL.
TYPED_TEST_P(JobStoreContract, IdsAreTakenAsStringViews) {
  ASSERT_TRUE(this->AddAll({Job("abc", Sec(1)), Job("abcdef", Sec(2))}));
  const std::string buffer = "abcdefgh";
  const std::optional<JobState> got = this->Lookup(std::string_view(buffer).substr(0, 3));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->id, "abc");
  EXPECT_EQ(this->Lookup(std::string_view(buffer).substr(0, 5)), std::nullopt);  // "abcde"
  EXPECT_TRUE(HasError(this->store().RemoveJob(std::string_view(buffer).substr(0, 4)),
                       StatusCode::kNotFound, NotFoundMessage("abcd")));
  ASSERT_TRUE(IsOk(this->store().RemoveJob(std::string_view(buffer).substr(0, 6))));
  EXPECT_EQ(this->AllIds(), std::vector<std::string>{"abc"});
}

// APScheduler's SQLAlchemyJobStore keeps ids in a VARCHAR(191).
TYPED_TEST_P(JobStoreContract, LongIdsWork) {
  const std::string long_a = std::string(190, 'x') + "a";
  const std::string long_b = std::string(190, 'x') + "b";
  ASSERT_EQ(long_a.size(), 191u);
  ASSERT_TRUE(this->AddAll({Job(long_b, Sec(5)), Job(long_a, Sec(5))}));
  EXPECT_EQ(this->AllIds(), (std::vector<std::string>{long_a, long_b}));
  const std::optional<JobState> got = this->Lookup(long_b);
  ASSERT_TRUE(got.has_value());
  ExpectSameJob(*got, Job(long_b, Sec(5)));
  EXPECT_EQ(this->store().AddJob(Job(long_a, Sec(1))).code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(IsOk(this->store().RemoveJob(long_a)));
  EXPECT_EQ(this->AllIds(), std::vector<std::string>{long_b});
}

// --- failures -------------------------------------------------------------------------------

TYPED_TEST_P(JobStoreContract, AddOfADuplicateIdFailsWithConflictingIdError) {
  const JobState original = FullJob();
  const JobState paused = Job("paused", std::nullopt);
  ASSERT_TRUE(this->AddAll({original, paused}));

  // Another job under a taken id changes nothing: not the job, not its place in the order.
  EXPECT_TRUE(HasError(this->store().AddJob(Job(original.id, Sec(-100))),
                       StatusCode::kAlreadyExists, ConflictMessage(original.id)));
  std::optional<JobState> got = this->Lookup(original.id);
  ASSERT_TRUE(got.has_value());
  ExpectSameJob(*got, original);
  EXPECT_TRUE(HasError(this->store().AddJob(Job("paused", Sec(1))), StatusCode::kAlreadyExists,
                       ConflictMessage("paused")));
  got = this->Lookup("paused");
  ASSERT_TRUE(got.has_value());
  ExpectSameJob(*got, paused);
  EXPECT_TRUE(HasError(this->store().AddJob(original), StatusCode::kAlreadyExists,
                       ConflictMessage(original.id)));  // the very same job again

  EXPECT_TRUE(SameJobs(this->All(), {original, paused}));
  EXPECT_TRUE(this->Due(Sec(0)).empty());
  EXPECT_EQ(this->NextUs(), Us(original.next_run_time));
}

TYPED_TEST_P(JobStoreContract, UpdateOfAMissingIdFailsWithJobLookupError) {
  ASSERT_TRUE(this->AddAll({Job("a", Sec(1))}));
  EXPECT_TRUE(HasError(this->store().UpdateJob(Job("missing", Sec(0))), StatusCode::kNotFound,
                       NotFoundMessage("missing")));
  // Nothing was added under the missing id.
  EXPECT_EQ(this->Lookup("missing"), std::nullopt);
  EXPECT_EQ(this->AllIds(), std::vector<std::string>{"a"});
  EXPECT_EQ(this->NextUs(), Sec(1).us);
  EXPECT_EQ(this->DueIds(Sec(0)), std::vector<std::string>{});
}

TYPED_TEST_P(JobStoreContract, RemoveOfAMissingIdFailsWithJobLookupError) {
  EXPECT_TRUE(HasError(this->store().RemoveJob("missing"), StatusCode::kNotFound,
                       NotFoundMessage("missing")));
  ASSERT_TRUE(this->AddAll({Job("a", Sec(1)), Job("b", std::nullopt)}));
  EXPECT_TRUE(HasError(this->store().RemoveJob("c"), StatusCode::kNotFound, NotFoundMessage("c")));
  ASSERT_TRUE(IsOk(this->store().RemoveJob("a")));
  EXPECT_TRUE(HasError(this->store().RemoveJob("a"), StatusCode::kNotFound, NotFoundMessage("a")));
  EXPECT_EQ(this->AllIds(), std::vector<std::string>{"b"});
}

// --- update ---------------------------------------------------------------------------------

TYPED_TEST_P(JobStoreContract, UpdateReplacesEveryField) {
  JobState j = FullJob();
  ASSERT_TRUE(this->AddAll({j, Job("other", Sec(50))}));

  JobState changed;
  changed.id = j.id;
  changed.name = "renamed";
  changed.trigger = "date(run_date='2024-06-01T12:00:00+03:00')";
  changed.executor = "threadpool";
  changed.task = "";
  changed.args = std::string("\x00", 1);
  changed.next_run_time = Sec(100, 1);
  changed.misfire_grace_us = kUnlimitedGrace;
  changed.coalesce = true;
  changed.max_instances = 1;
  ASSERT_TRUE(IsOk(this->store().UpdateJob(changed)));
  std::optional<JobState> got = this->Lookup(j.id);
  ASSERT_TRUE(got.has_value());
  ExpectSameJob(*got, changed);
  EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"other", j.id}));

  // And back: an update to identical content is fine too.
  ASSERT_TRUE(IsOk(this->store().UpdateJob(j)));
  ASSERT_TRUE(IsOk(this->store().UpdateJob(j)));
  got = this->Lookup(j.id);
  ASSERT_TRUE(got.has_value());
  ExpectSameJob(*got, j);
  EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"other", j.id}));
  std::optional<JobState> other = this->Lookup("other");
  ASSERT_TRUE(other.has_value());
  ExpectSameJob(*other, Job("other", Sec(50)));
}

// APScheduler's test_update_job_next_runtime: the job moves in every ordered view.
TYPED_TEST_P(JobStoreContract, UpdateReschedulesAJob) {
  ASSERT_TRUE(this->AddAll({Job("job1", Sec(10)), Job("job2", Sec(20)), Job("job3", Sec(30))}));
  ASSERT_TRUE(IsOk(this->store().UpdateJob(Job("job2", Sec(5)))));
  EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"job2", "job1", "job3"}));
  EXPECT_EQ(this->NextUs(), Sec(5).us);
  EXPECT_EQ(this->DueIds(Sec(5)), std::vector<std::string>{"job2"});

  // Later than everything: gone from its old place, nothing left behind at 5 or 20.
  ASSERT_TRUE(IsOk(this->store().UpdateJob(Job("job2", Sec(40)))));
  EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"job1", "job3", "job2"}));
  EXPECT_EQ(this->NextUs(), Sec(10).us);
  EXPECT_TRUE(this->Due(Sec(9)).empty());
  EXPECT_EQ(this->DueIds(Sec(39)), (std::vector<std::string>{"job1", "job3"}));
  const std::vector<JobState> due = this->Due(Sec(40));
  EXPECT_EQ(Ids(due), (std::vector<std::string>{"job1", "job3", "job2"}));
  ASSERT_EQ(due.size(), 3u);
  EXPECT_EQ(Us(due[2].next_run_time), Sec(40).us);

  // The earliest job moved later: the next run time follows.
  ASSERT_TRUE(IsOk(this->store().UpdateJob(Job("job1", Sec(35)))));
  EXPECT_EQ(this->NextUs(), Sec(30).us);
  EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"job3", "job1", "job2"}));
}

// APScheduler's test_update_job_clear_next_runtime, and resuming.
TYPED_TEST_P(JobStoreContract, UpdatePausesAndResumesAJob) {
  ASSERT_TRUE(this->AddAll({Job("job1", Sec(10)), Job("job2", Sec(20)), Job("job3", Sec(30))}));
  ASSERT_TRUE(IsOk(this->store().UpdateJob(Job("job1", std::nullopt))));
  std::optional<JobState> got = this->Lookup("job1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Us(got->next_run_time), std::nullopt);
  EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"job2", "job3", "job1"}));
  EXPECT_EQ(this->NextUs(), Sec(20).us);
  EXPECT_EQ(this->DueIds(kMaxInstant), (std::vector<std::string>{"job2", "job3"}));

  ASSERT_TRUE(IsOk(this->store().UpdateJob(Job("job1", Sec(25)))));
  got = this->Lookup("job1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Us(got->next_run_time), Sec(25).us);
  EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"job2", "job1", "job3"}));
  EXPECT_EQ(this->DueIds(Sec(25)), (std::vector<std::string>{"job2", "job1"}));

  // Pausing every job leaves nothing scheduled.
  for (const char* id : {"job1", "job2", "job3"}) {
    ASSERT_TRUE(IsOk(this->store().UpdateJob(Job(id, std::nullopt))));
  }
  EXPECT_EQ(this->NextUs(), std::nullopt);
  EXPECT_TRUE(this->Due(kMaxInstant).empty());
  EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"job1", "job2", "job3"}));
}

// --- remove ---------------------------------------------------------------------------------

TYPED_TEST_P(JobStoreContract, RemoveJobForgetsTheJobEverywhere) {
  ASSERT_TRUE(this->AddAll(
      {Job("job1", Sec(10)), Job("job2", Sec(20)), Job("job3", Sec(30)), Job("p", std::nullopt)}));
  ASSERT_TRUE(IsOk(this->store().RemoveJob("job1")));
  EXPECT_EQ(this->Lookup("job1"), std::nullopt);
  EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"job2", "job3", "p"}));
  EXPECT_EQ(this->NextUs(), Sec(20).us);
  EXPECT_TRUE(this->Due(Sec(19)).empty());
  ASSERT_TRUE(IsOk(this->store().RemoveJob("p")));
  EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"job2", "job3"}));

  // The id is free again, with a different run time.
  ASSERT_TRUE(IsOk(this->store().AddJob(Job("job1", Sec(40)))));
  EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"job2", "job3", "job1"}));
  EXPECT_EQ(this->DueIds(Sec(10)), std::vector<std::string>{});
  EXPECT_EQ(this->NextUs(), Sec(20).us);
}

TYPED_TEST_P(JobStoreContract, RemoveAllJobsEmptiesTheStore) {
  ASSERT_TRUE(IsOk(this->store().RemoveAllJobs()));  // on an empty store
  ASSERT_TRUE(this->AddAll({Job("job1", Sec(10)), Job("job2", Sec(10)), Job("p", std::nullopt)}));
  ASSERT_TRUE(IsOk(this->store().RemoveAllJobs()));
  EXPECT_TRUE(this->All().empty());
  EXPECT_TRUE(this->Due(kMaxInstant).empty());
  EXPECT_EQ(this->NextUs(), std::nullopt);
  for (const char* id : {"job1", "job2", "p"}) EXPECT_EQ(this->Lookup(id), std::nullopt) << id;
  EXPECT_TRUE(
      HasError(this->store().RemoveJob("job1"), StatusCode::kNotFound, NotFoundMessage("job1")));
  EXPECT_TRUE(HasError(this->store().UpdateJob(Job("job2", Sec(1))), StatusCode::kNotFound,
                       NotFoundMessage("job2")));

  // Every id is free again.
  ASSERT_TRUE(this->AddAll({Job("p", Sec(3)), Job("job1", Sec(4))}));
  EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"p", "job1"}));
  EXPECT_EQ(this->NextUs(), Sec(3).us);
}

// --- ordered queries ------------------------------------------------------------------------

TYPED_TEST_P(JobStoreContract, GetDueJobsReturnsJobsAtOrBeforeNow) {
  ASSERT_TRUE(this->AddAll({Job("late", Sec(20)), Job("on-time", Sec(10)),
                            Job("one-us-later", Sec(10, 1)), Job("early", Sec(-5))}));
  EXPECT_TRUE(this->Due(Sec(-5, -1)).empty());
  EXPECT_EQ(this->DueIds(Sec(-5)), std::vector<std::string>{"early"});  // <= now, not <
  EXPECT_EQ(this->DueIds(Sec(9, 999'999)), std::vector<std::string>{"early"});
  EXPECT_EQ(this->DueIds(Sec(10)), (std::vector<std::string>{"early", "on-time"}));
  // APScheduler's test_get_pending_jobs_subsecond_difference.
  EXPECT_EQ(this->DueIds(Sec(10, 1)),
            (std::vector<std::string>{"early", "on-time", "one-us-later"}));
  EXPECT_EQ(this->DueIds(Sec(19)), (std::vector<std::string>{"early", "on-time", "one-us-later"}));
  EXPECT_EQ(this->DueIds(kMaxInstant),
            (std::vector<std::string>{"early", "on-time", "one-us-later", "late"}));

  // The due jobs are whole jobs, not just ids.
  JobState full = FullJob();
  full.next_run_time = Sec(15);
  ASSERT_TRUE(IsOk(this->store().AddJob(full)));
  const std::vector<JobState> due = this->Due(Sec(15));
  ASSERT_EQ(Ids(due), (std::vector<std::string>{"early", "on-time", "one-us-later", full.id}));
  ExpectSameJob(due[3], full);
  ExpectSameJob(due[0], Job("early", Sec(-5)));
}

// APScheduler's test_get_pending_jobs: ascending run time, ties by id, whatever the add order.
TYPED_TEST_P(JobStoreContract, GetDueJobsOrdersByRunTimeThenId) {
  ASSERT_TRUE(this->AddAll(
      {Job("d", Sec(2)), Job("c", Sec(1)), Job("b", Sec(2)), Job("a", Sec(3)), Job("e", Sec(1))}));
  EXPECT_EQ(this->DueIds(Sec(2)), (std::vector<std::string>{"c", "e", "b", "d"}));
  EXPECT_EQ(this->DueIds(Sec(3)), (std::vector<std::string>{"c", "e", "b", "d", "a"}));
}

TYPED_TEST_P(JobStoreContract, PausedJobsAreNeverDue) {
  ASSERT_TRUE(this->AddAll({Job("p1", std::nullopt), Job("a", Sec(1)), Job("p0", std::nullopt)}));
  EXPECT_EQ(this->DueIds(kMaxInstant), std::vector<std::string>{"a"});
  EXPECT_EQ(this->DueIds(Instant{INT64_MAX}), std::vector<std::string>{"a"});
  ASSERT_TRUE(IsOk(this->store().RemoveJob("a")));
  EXPECT_TRUE(this->Due(Instant{INT64_MAX}).empty());
}

TYPED_TEST_P(JobStoreContract, GetDueJobsAndGetAllJobsAppend) {
  ASSERT_TRUE(this->AddAll({Job("b", Sec(2)), Job("a", Sec(1)), Job("p", std::nullopt)}));
  const JobState sentinel = Job("already-there", Sec(-1000));

  std::vector<JobState> out = {sentinel};
  ASSERT_TRUE(IsOk(this->store().GetDueJobs(Sec(2), &out)));
  EXPECT_EQ(Ids(out), (std::vector<std::string>{"already-there", "a", "b"}));
  ExpectSameJob(out[0], sentinel);

  out = {sentinel};
  ASSERT_TRUE(IsOk(this->store().GetDueJobs(Sec(0), &out)));  // nothing due: untouched
  EXPECT_EQ(Ids(out), std::vector<std::string>{"already-there"});

  out = {sentinel};
  ASSERT_TRUE(IsOk(this->store().GetAllJobs(&out)));
  EXPECT_EQ(Ids(out), (std::vector<std::string>{"already-there", "a", "b", "p"}));
  ExpectSameJob(out[0], sentinel);

  // Twice into the same vector: both answers, in order.
  out.clear();
  ASSERT_TRUE(IsOk(this->store().GetDueJobs(Sec(1), &out)));
  ASSERT_TRUE(IsOk(this->store().GetDueJobs(Sec(1), &out)));
  EXPECT_EQ(Ids(out), (std::vector<std::string>{"a", "a"}));
}

// APScheduler's test_get_next_run_time.
TYPED_TEST_P(JobStoreContract, GetNextRunTimeIsTheEarliest) {
  ASSERT_TRUE(this->AddAll({Job("b", Sec(20)), Job("p", std::nullopt), Job("a", Sec(10, 500))}));
  EXPECT_EQ(this->NextUs(), Sec(10, 500).us);
  ASSERT_TRUE(IsOk(this->store().AddJob(Job("c", Sec(10, 499)))));  // one microsecond earlier
  EXPECT_EQ(this->NextUs(), Sec(10, 499).us);
  ASSERT_TRUE(IsOk(this->store().AddJob(Job("d", Sec(10, 499)))));  // a tie
  EXPECT_EQ(this->NextUs(), Sec(10, 499).us);
  ASSERT_TRUE(IsOk(this->store().RemoveJob("c")));
  EXPECT_EQ(this->NextUs(), Sec(10, 499).us);
  ASSERT_TRUE(IsOk(this->store().RemoveJob("d")));
  EXPECT_EQ(this->NextUs(), Sec(10, 500).us);
  ASSERT_TRUE(IsOk(this->store().RemoveJob("a")));
  EXPECT_EQ(this->NextUs(), Sec(20).us);
}

// APScheduler's test_get_next_run_time_empty, and a store of paused jobs only.
TYPED_TEST_P(JobStoreContract, GetNextRunTimeIsNulloptWithNothingScheduled) {
  EXPECT_EQ(this->NextUs(), std::nullopt);
  ASSERT_TRUE(this->AddAll({Job("p1", std::nullopt), Job("p2", std::nullopt)}));
  EXPECT_EQ(this->NextUs(), std::nullopt);
  ASSERT_TRUE(IsOk(this->store().AddJob(Job("a", Sec(7)))));
  EXPECT_EQ(this->NextUs(), Sec(7).us);
  ASSERT_TRUE(IsOk(this->store().UpdateJob(Job("a", std::nullopt))));
  EXPECT_EQ(this->NextUs(), std::nullopt);
}

// APScheduler's test_get_all_jobs: ascending run time, paused jobs last, ties by id.
TYPED_TEST_P(JobStoreContract, GetAllJobsOrdersByRunTimeWithPausedLast) {
  ASSERT_TRUE(this->AddAll({Job("p-b", std::nullopt), Job("late", Sec(30)),
                            Job("p-a", std::nullopt), Job("b", Sec(10)), Job("a", Sec(10)),
                            Job("early", Sec(-30)), Job("p-c", std::nullopt)}));
  EXPECT_EQ(this->AllIds(),
            (std::vector<std::string>{"early", "a", "b", "late", "p-a", "p-b", "p-c"}));
  const std::vector<JobState> all = this->All();
  ASSERT_EQ(all.size(), 7u);
  ExpectSameJob(all[3], Job("late", Sec(30)));
  ExpectSameJob(all[6], Job("p-c", std::nullopt));
}

// Ties order by id, bytewise: a prefix first, upper case before lower, UTF-8 after ASCII.
// (Ids are never empty: the scheduler generates one for an empty id.)
TYPED_TEST_P(JobStoreContract, EqualRunTimesOrderByIdBytewise) {
  const std::vector<std::string> sorted = {"B",  "a", "a1", "a10",
                                           "a2", "b", "z",  "\xc3\xa9t\xc3\xa9"};
  std::vector<JobState> jobs;
  for (auto it = sorted.rbegin(); it != sorted.rend(); ++it) jobs.push_back(Job(*it, Sec(60)));
  ASSERT_TRUE(this->AddAll(jobs));
  ASSERT_TRUE(IsOk(this->store().AddJob(Job("0-earlier", Sec(59, 999'999)))));
  ASSERT_TRUE(IsOk(this->store().AddJob(Job("0-later", Sec(60, 1)))));
  std::vector<std::string> want = {"0-earlier"};
  want.insert(want.end(), sorted.begin(), sorted.end());
  want.push_back("0-later");
  EXPECT_EQ(this->AllIds(), want);
  want.pop_back();
  EXPECT_EQ(this->DueIds(Sec(60)), want);
  EXPECT_EQ(this->NextUs(), Sec(59, 999'999).us);

  // The same among paused jobs.
  for (const std::string& id : sorted) {
    ASSERT_TRUE(IsOk(this->store().UpdateJob(Job(id, std::nullopt))));
  }
  want = {"0-earlier", "0-later"};
  want.insert(want.end(), sorted.begin(), sorted.end());
  EXPECT_EQ(this->AllIds(), want);
}

// The whole supported range, and before 1970 (negative microseconds).
TYPED_TEST_P(JobStoreContract, ExtremeAndNegativeInstantsOrder) {
  ASSERT_TRUE(
      this->AddAll({Job("max", kMaxInstant), Job("zero", Instant{0}), Job("minus-1us", Instant{-1}),
                    Job("min", kMinInstant), Job("plus-1us", Instant{1}), Job("p", std::nullopt)}));
  EXPECT_EQ(this->AllIds(),
            (std::vector<std::string>{"min", "minus-1us", "zero", "plus-1us", "max", "p"}));
  EXPECT_EQ(this->NextUs(), kMinInstant.us);
  EXPECT_EQ(this->DueIds(Instant{-1}), (std::vector<std::string>{"min", "minus-1us"}));
  EXPECT_EQ(this->DueIds(Instant{0}), (std::vector<std::string>{"min", "minus-1us", "zero"}));
  EXPECT_EQ(this->DueIds(kMaxInstant),
            (std::vector<std::string>{"min", "minus-1us", "zero", "plus-1us", "max"}));
  std::optional<JobState> got = this->Lookup("min");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Us(got->next_run_time), kMinInstant.us);
  got = this->Lookup("max");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Us(got->next_run_time), kMaxInstant.us);
}

// --- batches --------------------------------------------------------------------------------

TYPED_TEST_P(JobStoreContract, ABatchIsAppliedByCommitBatch) {
  ASSERT_TRUE(this->AddAll({Job("keep", Sec(1)), Job("gone", Sec(2)), Job("moved", Sec(3))}));

  ASSERT_TRUE(IsOk(this->store().BeginBatch()));
  ASSERT_TRUE(IsOk(this->store().AddJob(Job("new", Sec(0)))));
  ASSERT_TRUE(IsOk(this->store().UpdateJob(Job("moved", std::nullopt))));
  ASSERT_TRUE(IsOk(this->store().RemoveJob("gone")));
  ASSERT_TRUE(IsOk(this->store().UpdateJob(Job("new", Sec(5)))));  // a change to a new job
  ASSERT_TRUE(IsOk(this->store().CommitBatch()));

  EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"keep", "new", "moved"}));
  EXPECT_EQ(this->Lookup("gone"), std::nullopt);
  std::optional<JobState> got = this->Lookup("new");
  ASSERT_TRUE(got.has_value());
  ExpectSameJob(*got, Job("new", Sec(5)));

  // An empty batch, then another batch: batches are reusable.
  ASSERT_TRUE(IsOk(this->store().BeginBatch()));
  ASSERT_TRUE(IsOk(this->store().CommitBatch()));
  ASSERT_TRUE(IsOk(this->store().BeginBatch()));
  ASSERT_TRUE(IsOk(this->store().RemoveJob("keep")));
  ASSERT_TRUE(IsOk(this->store().AddJob(Job("gone", Sec(9)))));  // the removed id, again
  ASSERT_TRUE(IsOk(this->store().CommitBatch()));
  EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"new", "gone", "moved"}));

  // RemoveAllJobs in a batch.
  ASSERT_TRUE(IsOk(this->store().BeginBatch()));
  ASSERT_TRUE(IsOk(this->store().RemoveAllJobs()));
  ASSERT_TRUE(IsOk(this->store().AddJob(Job("after-clear", Sec(1)))));
  ASSERT_TRUE(IsOk(this->store().CommitBatch()));
  EXPECT_EQ(this->AllIds(), std::vector<std::string>{"after-clear"});
}

// A transactional store drops an aborted batch; one without transactions applied every change
// at once, so AbortBatch() leaves them in place.
TYPED_TEST_P(JobStoreContract, AbortBatchFollowsTheStoresTransactionality) {
  const JobState full = FullJob();
  ASSERT_TRUE(this->AddAll({full, Job("a", Sec(1)), Job("b", Sec(2))}));
  const std::vector<JobState> before = this->All();
  ASSERT_EQ(before.size(), 3u);

  JobState changed = full;
  changed.name = "changed";
  changed.next_run_time = std::nullopt;
  ASSERT_TRUE(IsOk(this->store().BeginBatch()));
  ASSERT_TRUE(IsOk(this->store().AddJob(Job("added", Sec(0)))));
  ASSERT_TRUE(IsOk(this->store().UpdateJob(changed)));
  ASSERT_TRUE(IsOk(this->store().RemoveJob("a")));
  if constexpr (!TestFixture::kTransactional) {
    // Applied at once: visible before the batch ends.
    EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"added", "b", full.id}));
  }
  this->store().AbortBatch();

  if constexpr (TestFixture::kTransactional) {
    EXPECT_TRUE(SameJobs(this->All(), before));
    EXPECT_EQ(this->Lookup("added"), std::nullopt);
    std::optional<JobState> got = this->Lookup(full.id);
    ASSERT_TRUE(got.has_value());
    ExpectSameJob(*got, full);
    EXPECT_EQ(this->NextUs(), Sec(1).us);
  } else {
    EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"added", "b", full.id}));
    std::optional<JobState> got = this->Lookup(full.id);
    ASSERT_TRUE(got.has_value());
    ExpectSameJob(*got, changed);
    EXPECT_EQ(this->NextUs(), Sec(0).us);
  }

  // The store takes batches after an abort.
  ASSERT_TRUE(IsOk(this->store().BeginBatch()));
  ASSERT_TRUE(IsOk(this->store().AddJob(Job("later", Sec(100)))));
  ASSERT_TRUE(IsOk(this->store().CommitBatch()));
  const std::optional<JobState> later = this->Lookup("later");
  ASSERT_TRUE(later.has_value());
  ExpectSameJob(*later, Job("later", Sec(100)));
  if constexpr (TestFixture::kTransactional) {
    EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"a", "b", "later", full.id}));
  } else {
    EXPECT_EQ(this->AllIds(), (std::vector<std::string>{"added", "b", "later", full.id}));
  }
}

// A rejected operation is that operation's failure only: it changes nothing and the batch
// commits the rest.
TYPED_TEST_P(JobStoreContract, AFailedOperationInsideABatchChangesNothing) {
  ASSERT_TRUE(this->AddAll({Job("a", Sec(1))}));
  ASSERT_TRUE(IsOk(this->store().BeginBatch()));
  ASSERT_TRUE(IsOk(this->store().AddJob(Job("b", Sec(2)))));
  EXPECT_TRUE(HasError(this->store().AddJob(Job("a", Sec(9))), StatusCode::kAlreadyExists,
                       ConflictMessage("a")));
  EXPECT_TRUE(HasError(this->store().AddJob(Job("b", Sec(9))), StatusCode::kAlreadyExists,
                       ConflictMessage("b")));  // added earlier in this batch
  EXPECT_TRUE(HasError(this->store().UpdateJob(Job("x", Sec(0))), StatusCode::kNotFound,
                       NotFoundMessage("x")));
  EXPECT_TRUE(HasError(this->store().RemoveJob("y"), StatusCode::kNotFound, NotFoundMessage("y")));
  ASSERT_TRUE(IsOk(this->store().RemoveJob("a")));
  EXPECT_TRUE(HasError(this->store().RemoveJob("a"), StatusCode::kNotFound, NotFoundMessage("a")));
  ASSERT_TRUE(IsOk(this->store().CommitBatch()));

  EXPECT_EQ(this->AllIds(), std::vector<std::string>{"b"});
  const std::optional<JobState> b = this->Lookup("b");
  ASSERT_TRUE(b.has_value());
  ExpectSameJob(*b, Job("b", Sec(2)));
}

// --- lifecycle ------------------------------------------------------------------------------

// job_store.h: Shutdown() releases resources but the jobs stay (for the memory store too,
// unlike APScheduler's), so a scheduler can be started again with them.
TYPED_TEST_P(JobStoreContract, ShutdownThenStartKeepsTheJobs) {
  const std::vector<JobState> jobs = TestFixture::VariedJobs();
  ASSERT_TRUE(this->AddAll(jobs));
  std::vector<JobState> want = jobs;
  std::sort(want.begin(), want.end(), ContractOrder);

  this->ShutdownStore();
  ASSERT_TRUE(this->StartStore("default"));
  EXPECT_TRUE(SameJobs(this->All(), want));
  EXPECT_EQ(this->NextUs(), kMinInstant.us);

  // Under another alias, and the store is usable afterwards.
  this->ShutdownStore();
  ASSERT_TRUE(this->StartStore("renamed"));
  EXPECT_TRUE(SameJobs(this->All(), want));
  ASSERT_TRUE(IsOk(this->store().AddJob(Job("after-restart", Sec(1)))));
  ASSERT_TRUE(IsOk(this->store().RemoveJob("m")));
  EXPECT_TRUE(HasError(this->store().AddJob(FullJob()), StatusCode::kAlreadyExists,
                       ConflictMessage(FullJob().id)));
  EXPECT_EQ(this->All().size(), jobs.size());
  const std::optional<JobState> full = this->Lookup(FullJob().id);
  ASSERT_TRUE(full.has_value());
  ExpectSameJob(*full, FullJob());
}

// Persistent stores: the jobs, in their last committed state, survive a new store object.
// Other stores say so: persistent() is false and a new store object starts empty.
TYPED_TEST_P(JobStoreContract, JobsSurviveReopen) {
  if constexpr (!TestFixture::kPersistent) {
    EXPECT_FALSE(this->store().persistent());
    ASSERT_TRUE(this->AddAll({Job("a", Sec(1))}));
    TypeParam other_factory;
    std::unique_ptr<JobStore> other = other_factory.Make();
    ASSERT_TRUE(IsOk(other->Start("other")));
    std::vector<JobState> all;
    ASSERT_TRUE(IsOk(other->GetAllJobs(&all)));
    EXPECT_TRUE(all.empty());
    other->Shutdown();
  } else {
    EXPECT_TRUE(this->store().persistent());
    std::vector<JobState> jobs = TestFixture::VariedJobs();
    ASSERT_TRUE(this->AddAll(jobs));
    ASSERT_TRUE(this->AddAll({Job("removed", Sec(1)), Job("paused-later", Sec(2))}));
    ASSERT_TRUE(IsOk(this->store().RemoveJob("removed")));
    ASSERT_TRUE(IsOk(this->store().UpdateJob(Job("paused-later", std::nullopt))));
    jobs.push_back(Job("paused-later", std::nullopt));
    ASSERT_TRUE(IsOk(this->store().BeginBatch()));
    ASSERT_TRUE(IsOk(this->store().AddJob(Job("batched", Sec(3)))));
    ASSERT_TRUE(IsOk(this->store().CommitBatch()));
    jobs.push_back(Job("batched", Sec(3)));
    if constexpr (TestFixture::kTransactional) {
      ASSERT_TRUE(IsOk(this->store().BeginBatch()));
      ASSERT_TRUE(IsOk(this->store().AddJob(Job("aborted", Sec(4)))));
      ASSERT_TRUE(IsOk(this->store().RemoveJob("batched")));
      this->store().AbortBatch();
    }
    std::sort(jobs.begin(), jobs.end(), ContractOrder);

    ASSERT_NO_FATAL_FAILURE(this->ReopenStore());
    EXPECT_TRUE(SameJobs(this->All(), jobs));
    for (const JobState& j : jobs) {
      SCOPED_TRACE(j.id);
      const std::optional<JobState> got = this->Lookup(j.id);
      ASSERT_TRUE(got.has_value());
      ExpectSameJob(*got, j);
    }
    EXPECT_EQ(this->Lookup("removed"), std::nullopt);
    EXPECT_EQ(this->Lookup("aborted"), std::nullopt);
    EXPECT_EQ(this->NextUs(), kMinInstant.us);
    EXPECT_TRUE(HasError(this->store().AddJob(FullJob()), StatusCode::kAlreadyExists,
                         ConflictMessage(FullJob().id)));

    // RemoveAllJobs is persistent too.
    ASSERT_TRUE(IsOk(this->store().RemoveAllJobs()));
    ASSERT_NO_FATAL_FAILURE(this->ReopenStore());
    EXPECT_TRUE(this->All().empty());
  }
}

// --- scale ----------------------------------------------------------------------------------

// 10 000 jobs, added in random order, with many equal run times and some paused; then a batch
// of reschedules, pauses, resumes and removals.
TYPED_TEST_P(JobStoreContract, TenThousandJobsKeepTheContractOrder) {
  constexpr int kJobs = 10'000;
  constexpr std::int64_t kSlots = 2'000;  // ~5 jobs per run time
  std::mt19937_64 rng(20240101);
  auto random_time = [&]() -> std::optional<Instant> {
    if (rng() % 10 == 0) return std::nullopt;  // ~10 % paused
    return Sec(static_cast<std::int64_t>(rng() % kSlots), rng() % 3 == 0 ? 0 : 250'000);
  };
  std::vector<JobState> jobs;
  jobs.reserve(kJobs);
  for (int i = 0; i < kJobs; ++i) {
    JobState j = Job("job-" + std::to_string(i), random_time());  // id order != numeric order
    j.max_instances = i % 5 + 1;
    j.args = std::to_string(i);
    jobs.push_back(std::move(j));
  }
  std::vector<JobState> shuffled = jobs;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  ASSERT_TRUE(IsOk(this->store().BeginBatch()));
  ASSERT_TRUE(this->AddAll(shuffled));
  ASSERT_TRUE(IsOk(this->store().CommitBatch()));

  auto check = [&](const std::vector<JobState>& current, const char* when) {
    SCOPED_TRACE(when);
    std::vector<JobState> want = current;
    std::sort(want.begin(), want.end(), ContractOrder);
    EXPECT_TRUE(SameJobs(this->All(), want));
    ASSERT_TRUE(want.front().next_run_time.has_value());
    EXPECT_EQ(this->NextUs(), Us(want.front().next_run_time));
    for (std::int64_t now_s : {std::int64_t{-1}, std::int64_t{0}, kSlots / 2, kSlots}) {
      const Instant now = Sec(now_s);
      std::vector<JobState> due;
      for (const JobState& j : want) {
        if (j.next_run_time && *j.next_run_time <= now) due.push_back(j);
      }
      EXPECT_TRUE(SameJobs(this->Due(now), due)) << "now = " << now_s << " s";
    }
    for (std::size_t i = 0; i < current.size(); i += 997) {
      const std::optional<JobState> got = this->Lookup(current[i].id);
      ASSERT_TRUE(got.has_value()) << current[i].id;
      EXPECT_EQ(*got, current[i]);
    }
  };
  check(jobs, "after adding");

  // Reschedule, pause or resume every third job; remove every seventh.
  std::vector<JobState> current;
  ASSERT_TRUE(IsOk(this->store().BeginBatch()));
  for (int i = 0; i < kJobs; ++i) {
    JobState j = jobs[static_cast<std::size_t>(i)];
    if (i % 7 == 0) {
      ASSERT_TRUE(IsOk(this->store().RemoveJob(j.id)));
      continue;
    }
    if (i % 3 == 0) {
      j.next_run_time = random_time();
      ASSERT_TRUE(IsOk(this->store().UpdateJob(j)));
    }
    current.push_back(std::move(j));
  }
  ASSERT_TRUE(IsOk(this->store().CommitBatch()));
  check(current, "after updating");

  ASSERT_TRUE(IsOk(this->store().RemoveAllJobs()));
  EXPECT_TRUE(this->All().empty());
  EXPECT_EQ(this->NextUs(), std::nullopt);
}

REGISTER_TYPED_TEST_SUITE_P(
    JobStoreContract, AFreshStoreIsEmpty, PersistentMatchesTheFactory,
    AddThenLookupRoundTripsEveryField, LookupOfAMissingIdIsNotAnError, IdsAreTakenAsStringViews,
    LongIdsWork, AddOfADuplicateIdFailsWithConflictingIdError,
    UpdateOfAMissingIdFailsWithJobLookupError, RemoveOfAMissingIdFailsWithJobLookupError,
    UpdateReplacesEveryField, UpdateReschedulesAJob, UpdatePausesAndResumesAJob,
    RemoveJobForgetsTheJobEverywhere, RemoveAllJobsEmptiesTheStore,
    GetDueJobsReturnsJobsAtOrBeforeNow, GetDueJobsOrdersByRunTimeThenId, PausedJobsAreNeverDue,
    GetDueJobsAndGetAllJobsAppend, GetNextRunTimeIsTheEarliest,
    GetNextRunTimeIsNulloptWithNothingScheduled, GetAllJobsOrdersByRunTimeWithPausedLast,
    EqualRunTimesOrderByIdBytewise, ExtremeAndNegativeInstantsOrder, ABatchIsAppliedByCommitBatch,
    AbortBatchFollowsTheStoresTransactionality, AFailedOperationInsideABatchChangesNothing,
    ShutdownThenStartKeepsTheJobs, JobsSurviveReopen, TenThousandJobsKeepTheContractOrder);

}  // namespace test
}  // namespace aps

#endif  // APS_TESTS_STORES_JOB_STORE_CONTRACT_H_
