// The LMDB store: the JobStore contract suite, then what only a file-backed store has — map
// growth, file modes, the owner lock, reading while owned, durability modes, and every fault of
// issue 4 §5 injected: damaged and truncated data files, a newer format, undecodable and newer
// records, a full disk and failed writes, a read-only directory.
#include "stores/lmdb/lmdb_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <lmdb.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/stores/job_store_contract.h"

namespace aps::test {
namespace {

namespace fs = std::filesystem;

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "aps-lmdb-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string store() const { return path_ + "/store"; }

 private:
  std::string path_;
};

struct LmdbStoreFactory {
  static constexpr bool kPersistent = true;
  static constexpr bool kTransactional = true;
  std::unique_ptr<JobStore> Make() { return Reopen(); }
  std::unique_ptr<JobStore> Reopen() {
    LmdbStoreOptions o;
    o.path = dir.store();
    o.durability = LmdbDurability::kNoSync;  // the contract, not the disk, is under test here
    o.initial_map_bytes = 1 << 20;           // small: the 10 000-job test grows it
    return std::make_unique<LmdbJobStore>(o);
  }
  TempDir dir;
};

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(Lmdb, JobStoreContract, LmdbStoreFactory);

namespace {

LmdbStoreOptions Options(const std::string& path) {
  LmdbStoreOptions o;
  o.path = path;
  o.durability = LmdbDurability::kNoSync;
  return o;
}

// Raw LMDB access to plant damage the store itself would never write: `fn` runs in a write
// transaction on the store at `path`, committed afterwards; `open(t, db)` opens one of its
// databases.
void RawWrite(
    const std::string& path,
    const std::function<void(MDB_txn* t, const std::function<MDB_dbi(const char*)>& open)>& fn) {
  MDB_env* env;
  ASSERT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 4);
  ASSERT_EQ(mdb_env_open(env, path.c_str(), MDB_NOTLS, 0600), 0);
  MDB_txn* t;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &t), 0);
  fn(t, [&](const char* db) {
    MDB_dbi dbi = 0;
    EXPECT_EQ(mdb_dbi_open(t, db, std::string_view(db) == "tasks" ? MDB_DUPSORT : 0, &dbi), 0);
    return dbi;
  });
  ASSERT_EQ(mdb_txn_commit(t), 0);
  mdb_env_close(env);
}

void RawPut(const std::string& path, const char* db, std::string_view key, std::string_view val) {
  RawWrite(path, [&](MDB_txn* t, const auto& open) {
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v{val.size(), const_cast<char*>(val.data())};
    ASSERT_EQ(mdb_put(t, open(db), &k, &v, 0), 0);
  });
}

// A store at `path` holding jobs a (due), b (paused), c (due later); closed again.
void MakeStore(const std::string& path) {
  LmdbJobStore s(Options(path));
  ASSERT_TRUE(IsOk(s.Start("default")));
  ASSERT_TRUE(IsOk(s.AddJob(Job("a", Sec(10)))));
  ASSERT_TRUE(IsOk(s.AddJob(Job("b", std::nullopt))));
  ASSERT_TRUE(IsOk(s.AddJob(Job("c", Sec(20)))));
  s.Shutdown();
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

bool Contains(const Status& s, std::string_view what) {
  return std::string_view(s.message()).find(what) != std::string_view::npos;
}

// Reopens `path` and checks the three jobs of MakeStore() are all there, unchanged.
void ExpectIntact(const std::string& path) {
  LmdbJobStore s(Options(path));
  ASSERT_TRUE(IsOk(s.Start("default")));
  std::vector<JobState> all;
  ASSERT_TRUE(IsOk(s.GetAllJobs(&all)));
  EXPECT_EQ(Ids(all), (std::vector<std::string>{"a", "c", "b"}));
}

TEST(LmdbStore, RecordEncodingRoundTripsEveryField) {
  JobState j = FullJob();
  Result<JobState> back = DecodeJobRecord(j.id, EncodeJobRecord(j));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ExpectSameJob(*back, j);
  j.next_run_time = std::nullopt;
  j.misfire_grace_us = kUnlimitedGrace;
  back = DecodeJobRecord(j.id, EncodeJobRecord(j));
  ASSERT_TRUE(back.ok());
  ExpectSameJob(*back, j);
}

TEST(LmdbStore, EveryDamagedByteOfARecordIsCaught) {
  const JobState j = FullJob();
  const std::string rec = EncodeJobRecord(j);
  for (std::size_t i = 0; i < rec.size(); ++i) {
    std::string bad = rec;
    bad[i] = static_cast<char>(bad[i] ^ 0x5A);
    Result<JobState> r = DecodeJobRecord(j.id, bad);
    EXPECT_FALSE(r.ok()) << "byte " << i;
  }
  for (std::size_t n = 0; n < rec.size(); ++n) {
    EXPECT_FALSE(DecodeJobRecord(j.id, rec.substr(0, n)).ok()) << "cut at " << n;
  }
}

TEST(LmdbStore, FilesArePrivate) {
  TempDir d;
  MakeStore(d.store());
  struct stat st;
  ASSERT_EQ(::stat(d.store().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const char* f : {"data.mdb", "lock.mdb", "owner.lock", "aps-store"}) {
    ASSERT_EQ(::stat((d.store() + "/" + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
}

TEST(LmdbStore, TheMapGrowsInsteadOfFailing) {
  TempDir d;
  LmdbStoreOptions o = Options(d.store());
  o.initial_map_bytes = 128 << 10;  // 32 pages
  LmdbJobStore s(o);
  ASSERT_TRUE(IsOk(s.Start("default")));
  // One big batch (replayed after growing) and many single commits.
  ASSERT_TRUE(IsOk(s.BeginBatch()));
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(IsOk(s.AddJob(Job("batch-" + std::to_string(i), Sec(i)))));
  }
  ASSERT_TRUE(IsOk(s.CommitBatch()));
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(IsOk(s.AddJob(Job("single-" + std::to_string(i), Sec(i)))));
  }
  EXPECT_GT(s.stats().map_growths, 0u);
  EXPECT_GT(s.stats().map_bytes, o.initial_map_bytes);
  Result<std::size_t> n = s.Count();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4000u);
  s.Shutdown();
  // Reopening with the small initial size adopts the grown map.
  LmdbJobStore again(o);
  ASSERT_TRUE(IsOk(again.Start("default")));
  std::vector<JobState> due;
  ASSERT_TRUE(IsOk(again.GetDueJobs(Sec(5000), &due)));
  EXPECT_EQ(due.size(), 4000u);
}

TEST(LmdbStore, TheMapStopsAtItsLimitWithAClearError) {
  TempDir d;
  LmdbStoreOptions o = Options(d.store());
  o.initial_map_bytes = 128 << 10;
  o.max_map_bytes = 256 << 10;
  LmdbJobStore s(o);
  ASSERT_TRUE(IsOk(s.Start("default")));
  Status last;
  int added = 0;
  for (; added < 100000; ++added) {
    last = s.AddJob(Job("j" + std::to_string(added), Sec(added)));
    if (!last.ok()) break;
  }
  EXPECT_EQ(last.code(), StatusCode::kResourceExhausted) << last.message();
  EXPECT_TRUE(Contains(last, "max_map_bytes")) << last.message();
  Result<std::size_t> n = s.Count();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, static_cast<std::size_t>(added));  // nothing committed was lost
}

TEST(LmdbStore, ASecondOwnerIsRefusedUntilTheFirstLetsGo) {
  TempDir d;
  LmdbJobStore first(Options(d.store()));
  ASSERT_TRUE(IsOk(first.Start("default")));
  LmdbJobStore second(Options(d.store()));
  Status s = second.Start("default");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(s, "in use by another scheduler (pid " + std::to_string(::getpid())))
      << s.message();
  EXPECT_EQ(LmdbJobStore::OwnerOf(d.store()), "pid " + std::to_string(::getpid()));
  first.Shutdown();
  EXPECT_EQ(LmdbJobStore::OwnerOf(d.store()), "");
  EXPECT_TRUE(IsOk(second.Start("default")));
}

// A reader asking who owns the store (OwnerOf() holds a shared lock for an instant) does not
// make a scheduler starting at that moment think the store is taken. Real flock, bounded: the
// probe's lock is held 10 ms, the owner waits up to 100 ms for such a lock to go.
TEST(LmdbStore, AnOwnerProbeAtStartIsNotAnotherOwner) {
  TempDir d;
  MakeStore(d.store());
  const int fd = ::open((d.store() + "/owner.lock").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_SH | LOCK_NB), 0);  // what OwnerOf() does, held longer
  std::thread release([fd] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ::close(fd);
  });
  LmdbJobStore s(Options(d.store()));
  const Status st = s.Start("default");
  release.join();
  EXPECT_TRUE(IsOk(st)) << st.message();
  EXPECT_EQ(LmdbJobStore::OwnerOf(d.store()), "pid " + std::to_string(::getpid()));
}

TEST(LmdbStore, AnotherProcessReadsWhileTheOwnerRuns) {
  TempDir d;
  LmdbJobStore owner(Options(d.store()));
  ASSERT_TRUE(IsOk(owner.Start("default")));
  ASSERT_TRUE(IsOk(owner.AddJob(Job("x", Sec(1)))));
  ASSERT_TRUE(IsOk(owner.AddJob(Job("y", std::nullopt))));
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    LmdbStoreOptions o = Options(d.store());
    o.read_only = true;
    LmdbJobStore reader(o);
    std::vector<JobState> all;
    const bool ok = reader.Start("default").ok() && reader.GetAllJobs(&all).ok() &&
                    all.size() == 2 && !reader.AddJob(Job("z", Sec(1))).ok();
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(LmdbStore, ReadOnlyOpenOfAMissingStoreIsNotFound) {
  TempDir d;
  LmdbStoreOptions o = Options(d.store());
  o.read_only = true;
  LmdbJobStore s(o);
  Status st = s.Start("default");
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.message();
  EXPECT_FALSE(fs::exists(d.store()));  // a reader creates nothing
}

TEST(LmdbStore, EveryDurabilityModeOpensAndKeepsItsJobs) {
  for (const char* name : {"sync", "nometasync", "nosync"}) {
    TempDir d;
    Result<LmdbDurability> mode = ParseLmdbDurability(name);
    ASSERT_TRUE(mode.ok());
    EXPECT_STREQ(ToString(*mode), name);
    LmdbStoreOptions o = Options(d.store());
    o.durability = *mode;
    {
      LmdbJobStore s(o);
      ASSERT_TRUE(IsOk(s.Start("default")));
      ASSERT_TRUE(IsOk(s.AddJob(Job("kept", Sec(1)))));
    }
    LmdbJobStore s(o);
    ASSERT_TRUE(IsOk(s.Start("default")));
    Result<std::optional<JobState>> j = s.LookupJob("kept");
    ASSERT_TRUE(j.ok() && j->has_value()) << name;
  }
  Result<LmdbDurability> bad = ParseLmdbDurability("fast");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(bad.status(), "sync, nometasync or nosync"));
}

// ---- faults (issue 4 §5): each a clear error, no crash, nothing else lost -----------------

TEST(LmdbStoreFaults, DamagedMetaPagesAreDataLossAndTheFileIsLeftAlone) {
  TempDir d;
  MakeStore(d.store());
  const std::string file = d.store() + "/data.mdb";
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    const std::string junk(2 * 4096, '\xA5');  // both meta pages
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  const std::string before = ReadFile(file);
  LmdbJobStore s(Options(d.store()));
  Status st = s.Start("default");
  EXPECT_EQ(st.code(), StatusCode::kDataLoss) << st.message();
  EXPECT_TRUE(Contains(st, "damaged")) << st.message();
  EXPECT_EQ(ReadFile(file), before);
}

TEST(LmdbStoreFaults, ATruncatedDataFileIsDataLoss) {
  TempDir d;
  MakeStore(d.store());
  // Enough jobs that the file has pages beyond the meta pages.
  {
    LmdbJobStore s(Options(d.store()));
    ASSERT_TRUE(IsOk(s.Start("default")));
    ASSERT_TRUE(IsOk(s.BeginBatch()));
    for (int i = 0; i < 2000; ++i)
      ASSERT_TRUE(IsOk(s.AddJob(Job("n" + std::to_string(i), Sec(i)))));
    ASSERT_TRUE(IsOk(s.CommitBatch()));
  }
  const std::string file = d.store() + "/data.mdb";
  const auto size = fs::file_size(file);
  fs::resize_file(file, size / 2);
  LmdbJobStore s(Options(d.store()));
  Status st = s.Start("default");
  EXPECT_EQ(st.code(), StatusCode::kDataLoss) << st.message();
  EXPECT_TRUE(Contains(st, "truncated")) << st.message();
  EXPECT_EQ(fs::file_size(file), size / 2);  // not "repaired" into an empty store
}

TEST(LmdbStoreFaults, AnEmptiedOrMissingDataFileIsDataLossNotAFreshStore) {
  TempDir d;
  MakeStore(d.store());
  const std::string file = d.store() + "/data.mdb";
  fs::resize_file(file, 0);
  {
    LmdbJobStore s(Options(d.store()));
    Status st = s.Start("default");
    EXPECT_EQ(st.code(), StatusCode::kDataLoss) << st.message();
    EXPECT_TRUE(Contains(st, "data.mdb is empty")) << st.message();
  }
  fs::remove(file);
  LmdbJobStore s(Options(d.store()));
  Status st = s.Start("default");
  EXPECT_EQ(st.code(), StatusCode::kDataLoss) << st.message();
  EXPECT_TRUE(Contains(st, "data.mdb is missing")) << st.message();
  EXPECT_FALSE(fs::exists(file));
}

// A process killed while creating a store (data.mdb made, marker not yet written): the next
// read-write open writes the marker, so a later loss of data.mdb is still reported.
TEST(LmdbStoreFaults, AMissingMarkerIsWrittenAtTheNextOpen) {
  TempDir d;
  MakeStore(d.store());
  fs::remove(d.store() + "/aps-store");
  ExpectIntact(d.store());
  EXPECT_TRUE(fs::exists(d.store() + "/aps-store"));
  fs::remove(d.store() + "/data.mdb");
  LmdbJobStore s(Options(d.store()));
  EXPECT_EQ(s.Start("default").code(), StatusCode::kDataLoss);
}

TEST(LmdbStoreFaults, AStoreOfANewerFormatIsRefusedUnchanged) {
  TempDir d;
  MakeStore(d.store());
  const std::uint32_t newer = kLmdbStoreFormat + 1;
  RawPut(d.store(), "meta", "format", std::string_view(reinterpret_cast<const char*>(&newer), 4));
  LmdbJobStore s(Options(d.store()));
  Status st = s.Start("default");
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.message();
  EXPECT_TRUE(Contains(st, "has format " + std::to_string(newer) + ", newer than this aps reads (" +
                               std::to_string(kLmdbStoreFormat) + ")"))
      << st.message();
}

TEST(LmdbStoreFaults, AnUndecodableRecordIsReportedAndTheOthersStayReadable) {
  TempDir d;
  MakeStore(d.store());
  RawPut(d.store(), "jobs", "broken", "\x01garbage that is not a record");
  LmdbJobStore s(Options(d.store()));
  ASSERT_TRUE(IsOk(s.Start("default")));
  Result<std::optional<JobState>> bad = s.LookupJob("broken");
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(bad.status(), "job \"broken\": record is undecodable"))
      << bad.status().message();
  Result<std::optional<JobState>> good = s.LookupJob("a");
  ASSERT_TRUE(good.ok() && good->has_value());
  std::vector<std::string> seen, problems;
  ASSERT_TRUE(IsOk(s.VisitAll([&](std::string_view id, const JobState* j, const Status& p) {
    seen.emplace_back(id);
    if (!j) problems.emplace_back(p.message());
    return true;
  })));
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "broken", "c"}));
  ASSERT_EQ(problems.size(), 1u);
  std::vector<std::string> check;
  ASSERT_TRUE(IsOk(s.Check(&check)));
  ASSERT_EQ(check.size(), 1u);
  EXPECT_NE(check[0].find("broken"), std::string::npos);
  // Writing around it works; removing it works.
  ASSERT_TRUE(IsOk(s.AddJob(Job("d", Sec(5)))));
  ASSERT_TRUE(IsOk(s.RemoveJob("broken")));
  check.clear();
  ASSERT_TRUE(IsOk(s.Check(&check)));
  EXPECT_TRUE(check.empty());
}

TEST(LmdbStoreFaults, ARecordOfANewerVersionSaysUpgrade) {
  TempDir d;
  MakeStore(d.store());
  std::string rec = EncodeJobRecord(Job("future", Sec(1)));
  rec[0] = 9;
  RawPut(d.store(), "jobs", "future", rec);
  LmdbJobStore s(Options(d.store()));
  ASSERT_TRUE(IsOk(s.Start("default")));
  Result<std::optional<JobState>> r = s.LookupJob("future");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(r.status(), "record format 9 is newer")) << r.status().message();
  // The other records still read; the newer one is a problem of its own, not a failed load.
  std::vector<JobState> all;
  std::vector<std::pair<std::string, Status>> problems;
  ASSERT_TRUE(IsOk(s.LoadJobs(&all, &problems)));
  EXPECT_EQ(all.size(), 3u);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].first, "future");
  ASSERT_TRUE(s.LookupJob("a").ok());
  EXPECT_TRUE(s.LookupJob("a")->has_value());
}

// Raw LMDB: makes `path` look like a store of format 1 (before the tasks index).
void MakeFormatOne(const std::string& path) {
  RawWrite(path, [](MDB_txn* t, const auto& open) { ASSERT_EQ(mdb_drop(t, open("tasks"), 1), 0); });
  const std::uint32_t one = 1;
  RawPut(path, "meta", "format", std::string_view(reinterpret_cast<const char*>(&one), 4));
}

JobState TaskJob(std::string id, std::string task) {
  JobState j = Job(std::move(id), Sec(10));
  j.task = std::move(task);
  return j;
}

std::vector<std::string> JobsOf(const JobStore& s, std::string_view task) {
  std::vector<std::string> ids;
  EXPECT_TRUE(IsOk(s.JobsNamingTasks([&](std::string_view t) { return t == task; }, &ids)));
  return ids;
}

// The tasks index follows adds, a task changed by an update, removals and clearing; Check()
// finds it consistent throughout.
TEST(LmdbStore, TheTasksIndexFindsTheJobsOfATask) {
  TempDir d;
  LmdbJobStore s(Options(d.store()));
  ASSERT_TRUE(IsOk(s.Start("default")));
  ASSERT_TRUE(IsOk(s.AddJob(TaskJob("a", "mail"))));
  ASSERT_TRUE(IsOk(s.AddJob(TaskJob("b", "backup"))));
  ASSERT_TRUE(IsOk(s.AddJob(TaskJob("c", "mail"))));
  ASSERT_TRUE(IsOk(s.AddJob(Job("d", Sec(5)))));  // names no task
  EXPECT_EQ(JobsOf(s, "mail"), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(JobsOf(s, "backup"), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(JobsOf(s, "other").empty());
  ASSERT_TRUE(IsOk(s.UpdateJob(TaskJob("a", "backup"))));
  ASSERT_TRUE(IsOk(s.RemoveJob("c")));
  EXPECT_TRUE(JobsOf(s, "mail").empty());
  EXPECT_EQ(JobsOf(s, "backup"), (std::vector<std::string>{"a", "b"}));
  std::vector<std::string> check;
  ASSERT_TRUE(IsOk(s.Check(&check)));
  EXPECT_TRUE(check.empty()) << check[0];
  ASSERT_TRUE(IsOk(s.RemoveAllJobs()));
  EXPECT_TRUE(JobsOf(s, "backup").empty());
}

TEST(LmdbStore, AFormatOneStoreGetsItsTasksIndexWhenOpenedForWriting) {
  TempDir d;
  {
    LmdbJobStore s(Options(d.store()));
    ASSERT_TRUE(IsOk(s.Start("default")));
    ASSERT_TRUE(IsOk(s.AddJob(TaskJob("a", "mail"))));
    ASSERT_TRUE(IsOk(s.AddJob(TaskJob("b", "backup"))));
  }
  MakeFormatOne(d.store());
  {
    LmdbStoreOptions ro = Options(d.store());
    ro.read_only = true;
    LmdbJobStore s(ro);  // read-only: no upgrade; the answer comes from reading every job
    ASSERT_TRUE(IsOk(s.Start("default")));
    EXPECT_EQ(JobsOf(s, "mail"), (std::vector<std::string>{"a"}));
  }
  LmdbJobStore s(Options(d.store()));
  ASSERT_TRUE(IsOk(s.Start("default")));
  EXPECT_EQ(JobsOf(s, "mail"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(JobsOf(s, "backup"), (std::vector<std::string>{"b"}));
  std::vector<std::string> check;
  ASSERT_TRUE(IsOk(s.Check(&check)));
  EXPECT_TRUE(check.empty()) << check[0];
}

TEST(LmdbStoreFaults, AMissingOrStaleTasksIndexEntryIsFoundByCheck) {
  TempDir d;
  {
    LmdbJobStore s(Options(d.store()));
    ASSERT_TRUE(IsOk(s.Start("default")));
    ASSERT_TRUE(IsOk(s.AddJob(TaskJob("a", "mail"))));
  }
  // A record written behind the index's back, and a pair for a job that does not exist.
  RawPut(d.store(), "jobs", "hidden", EncodeJobRecord(TaskJob("hidden", "mail")));
  RawPut(d.store(), "tasks", "mail", "ghost");
  LmdbJobStore s(Options(d.store()));
  ASSERT_TRUE(IsOk(s.Start("default")));
  std::vector<std::string> check;
  ASSERT_TRUE(IsOk(s.Check(&check)));
  std::string all;
  for (const std::string& c : check) all += c + "\n";
  EXPECT_NE(all.find("tasks index: job \"hidden\" (task \"mail\") has no index entry"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("job \"ghost\") that does not match a record"), std::string::npos) << all;
}

TEST(LmdbStoreFaults, AStaleIndexEntryIsFoundByCheck) {
  TempDir d;
  MakeStore(d.store());
  std::string key(8, '\x80');
  key += "ghost";
  RawPut(d.store(), "due", key, "");
  LmdbJobStore s(Options(d.store()));
  ASSERT_TRUE(IsOk(s.Start("default")));
  std::vector<std::string> check;
  ASSERT_TRUE(IsOk(s.Check(&check)));
  ASSERT_EQ(check.size(), 1u);
  EXPECT_NE(check[0].find("ghost"), std::string::npos) << check[0];
}

// A full disk at commit (ENOSPC), an I/O error at a write (EIO): the call fails with a message
// naming the store and the cause, the store keeps what it had, and works again afterwards.
TEST(LmdbStoreFaults, AFullDiskOrFailedWriteLosesNothingCommitted) {
  TempDir d;
  MakeStore(d.store());
  int inject = 0;
  std::string at;
  LmdbStoreOptions o = Options(d.store());
  o.fault = [&](const char* op) { return at == op ? inject : 0; };
  LmdbJobStore s(o);
  ASSERT_TRUE(IsOk(s.Start("default")));

  inject = ENOSPC;
  at = "commit";
  Status st = s.AddJob(Job("lost", Sec(1)));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.message();
  EXPECT_TRUE(Contains(st, "No space left on device")) << st.message();
  EXPECT_TRUE(Contains(st, "disk is full")) << st.message();
  ASSERT_TRUE(IsOk(s.BeginBatch()));
  ASSERT_TRUE(IsOk(s.RemoveJob("a")));
  ASSERT_TRUE(IsOk(s.AddJob(Job("batched", Sec(2)))));
  st = s.CommitBatch();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.message();

  inject = EIO;
  at = "put";
  st = s.UpdateJob(Job("c", Sec(99)));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(st, "Input/output error")) << st.message();

  at.clear();
  Result<std::optional<JobState>> c = s.LookupJob("c");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ(Us((*c)->next_run_time), Us(Sec(20)));
  EXPECT_FALSE(s.LookupJob("lost")->has_value());
  EXPECT_FALSE(s.LookupJob("batched")->has_value());
  ASSERT_TRUE(IsOk(s.AddJob(Job("after", Sec(3)))));
  s.Shutdown();
  LmdbJobStore again(Options(d.store()));
  ASSERT_TRUE(IsOk(again.Start("default")));
  std::vector<JobState> all;
  ASSERT_TRUE(IsOk(again.GetAllJobs(&all)));
  EXPECT_EQ(Ids(all), (std::vector<std::string>{"after", "a", "c", "b"}));
}

// A read-only directory: injected (EACCES at open, what mdb_env_open reports), and for real
// when not running as root (root ignores directory modes).
TEST(LmdbStoreFaults, AReadOnlyDirectoryIsAClearError) {
  TempDir d;
  MakeStore(d.store());
  // Start() with error `err` injected at `op` fails naming both texts; the store is intact.
  auto refused = [&](const char* op, int err, const char* text1, const char* text2) {
    LmdbStoreOptions o = Options(d.store());
    o.fault = [op, err](const char* at) { return std::string_view(at) == op ? err : 0; };
    LmdbJobStore s(o);
    Status st = s.Start("default");
    EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.message();
    EXPECT_TRUE(Contains(st, text1)) << st.message();
    EXPECT_TRUE(Contains(st, text2)) << st.message();
    s.Shutdown();
    ExpectIntact(d.store());
  };
  refused("open", EACCES, "Permission denied", "read-only");
  // A read-only file system refuses the owner lock first (the lock file is opened for writing).
  refused("lock", EROFS, "owner.lock", "Read-only file system");
  if (::geteuid() != 0) {
    const std::string fresh = d.path() + "/ro";
    ASSERT_EQ(::mkdir(fresh.c_str(), 0500), 0);
    LmdbJobStore s(Options(fresh + "/store"));
    Status st = s.Start("default");
    EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.message();
    EXPECT_TRUE(Contains(st, "Permission denied")) << st.message();
  }
}

TEST(LmdbStoreFaults, TooLongIdsAreRefusedAtAdd) {
  TempDir d;
  LmdbJobStore s(Options(d.store()));
  ASSERT_TRUE(IsOk(s.Start("default")));
  Status st = s.AddJob(Job(std::string(kLmdbMaxIdBytes + 1, 'x'), Sec(1)));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(IsOk(s.AddJob(Job(std::string(kLmdbMaxIdBytes, 'x'), Sec(1)))));
}

TEST(LmdbStoreFaults, NotADirectoryIsInvalidArgument) {
  TempDir d;
  const std::string file = d.path() + "/file";
  std::ofstream(file) << "x";
  LmdbJobStore s(Options(file));
  EXPECT_EQ(s.Start("default").code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace aps::test
