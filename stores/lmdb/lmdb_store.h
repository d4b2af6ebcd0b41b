// aps/stores/lmdb/lmdb_store.h — a crash-safe persistent job store in an LMDB environment.
//
// Jobs survive restarts and crashes: every change the scheduler makes is written in an LMDB
// write transaction (one per scheduler iteration: group commit), and a committed transaction
// is on disk in the default durability mode. LMDB is copy-on-write with two meta pages, so a
// crash at any moment leaves the last committed state, never a torn one.
//
//   aps::LmdbStoreOptions o;
//   o.path = "/var/lib/myapp/jobs";                    // a directory; created 0700 if missing
//   scheduler.AddJobStore("default", std::make_unique<aps::LmdbJobStore>(o));
//
// On disk (one LMDB environment, files data.mdb and lock.mdb, mode 0600, plus owner.lock):
//   "jobs"  id → job record (format version byte, fields, CRC-32C of the record)
//   "due"   8-byte big-endian order key of next_run_time ‖ id → "" (paused jobs are absent)
//   "tasks" task name → id, one pair per job naming a task (sorted duplicates)
//   "meta"  "format" → the store format version (2; a format-1 store, which had no "tasks",
//           is upgraded when first opened for writing)
// Records from a newer format, records whose checksum or fields do not read, and a data file
// shorter than its meta page says are reported with kDataLoss / kFailedPrecondition naming the
// store and the job; they are never deleted or rewritten by this store.
//
// Ownership: Start() in read-write mode takes an exclusive lock on DIR/owner.lock (flock, so it
// is released when the process dies, SIGKILL included); a second owner gets kFailedPrecondition
// "job store at DIR is in use by another process (pid N)". Read-only opens (aps jobs list) take
// no lock and see the last committed state while an owner runs.
//
// The map (LMDB's maximum database size) starts at `initial_map_bytes` and doubles whenever a
// write finds it full (MDB_MAP_FULL): the transaction is replayed in the larger map, so a full
// map is never reported as a failure (only a full disk is).
//
// Threads: like every JobStore, one thread at a time (the scheduler thread once started).
// Every call may block on disk I/O (CommitBatch on an fsync in kSync mode) and allocates.
#ifndef APS_STORES_LMDB_LMDB_STORE_H_
#define APS_STORES_LMDB_LMDB_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stores/job_store.h"

namespace aps {

inline constexpr std::uint32_t kLmdbStoreFormat = 2;
// Ids are LMDB keys (at most 511 bytes, with the 8-byte time prefix in the due index).
inline constexpr std::size_t kLmdbMaxIdBytes = 400;

// When a committed change reaches the disk.
enum class LmdbDurability : std::uint8_t {
  // Every commit is flushed (fdatasync) before it returns: an acknowledged change survives a
  // crash of the process and of the machine. The default.
  kSync,
  // The data is flushed at commit, the meta page is not (MDB_NOMETASYNC): a machine crash may
  // lose the last commits (never tear them); a process crash loses nothing.
  kNoMetaSync,
  // Nothing is flushed at commit (MDB_NOSYNC); the OS writes pages back when it likes. A
  // process crash loses nothing (the pages are in the page cache); a machine crash may lose
  // any number of recent commits — and, on file systems that reorder writes, may corrupt the
  // store. For caches and tests.
  kNoSync,
};

// "sync" | "nometasync" | "nosync" → the mode; kInvalidArgument naming the choices.
Result<LmdbDurability> ParseLmdbDurability(std::string_view text);
const char* ToString(LmdbDurability d);

struct LmdbStoreOptions {
  std::string path;  // the directory (created 0700 when missing; its parent must exist)
  LmdbDurability durability = LmdbDurability::kSync;
  // Opened for reading only: no owner lock, every change fails with kFailedPrecondition. For
  // tools reading a store a scheduler owns.
  bool read_only = false;
  // First map size. Grows by doubling when full, up to max_map_bytes.
  std::size_t initial_map_bytes = std::size_t{64} << 20;
  std::size_t max_map_bytes = std::size_t{1} << 40;  // 1 TiB of address space, not of disk
  // Test seam: called before each LMDB write operation with its name ("lock" (the owner lock),
  // "open", "begin", "put", "del", "commit"); a nonzero return is taken as that call's error (an
  // errno or an MDB_ code), so tests can simulate a full disk (ENOSPC), an I/O error (EIO) or a
  // read-only file system (EROFS / EACCES). Empty in production.
  std::function<int(const char* op)> fault;
};

// Counters for tests and benchmarks.
struct LmdbStoreStats {
  std::uint64_t commits = 0;      // write transactions committed
  std::uint64_t map_growths = 0;  // times the map doubled
  std::size_t map_bytes = 0;      // current map size
};

class LmdbJobStore final : public JobStore {
 public:
  explicit LmdbJobStore(LmdbStoreOptions options);
  ~LmdbJobStore() override;
  LmdbJobStore(const LmdbJobStore&) = delete;
  LmdbJobStore& operator=(const LmdbJobStore&) = delete;

  // Start(): opens (creating when missing, unless read_only) and checks the store: format
  // version, data file length. Errors: kFailedPrecondition (owned by another process; newer
  // format; read-only directory — the message says which), kDataLoss (corrupted or truncated
  // file), kUnavailable (I/O). Idempotent: a started store stays open.
  Status Start(std::string_view alias) override;
  void Shutdown() override;
  bool persistent() const override { return true; }

  Result<std::optional<JobState>> LookupJob(std::string_view id) const override;
  Status GetDueJobs(Instant now, std::vector<JobState>* out) const override;
  Result<std::optional<Instant>> GetNextRunTime() const override;
  Status GetAllJobs(std::vector<JobState>* out) const override;
  Status LoadJobs(std::vector<JobState>* out,
                  std::vector<std::pair<std::string, Status>>* problems) const override;
  bool pages() const override { return true; }
  // From the tasks index: reads one pair per task it does not pick.
  Status JobsNamingTasks(const std::function<bool(std::string_view task)>& pick,
                         std::vector<std::string>* ids) const override;
  Status LoadJobsDue(std::optional<Instant> after, Instant until, std::vector<JobState>* out,
                     std::vector<std::pair<std::string, Status>>* problems) const override;
  Status AddJob(const JobState& job) override;
  Status UpdateJob(const JobState& job) override;
  Status RemoveJob(std::string_view id) override;
  Status RemoveAllJobs() override;

  // One write transaction from BeginBatch() to CommitBatch(); outside a batch each change
  // commits on its own.
  Status BeginBatch() override;
  Status CommitBatch() override;
  void AbortBatch() override;

  // --- beyond the JobStore contract ---------------------------------------------------------
  // VisitAll(): calls `fn` for every record in id order, decodable or not: `state` is null and
  // `problem` says why when a record does not read (fn may move from *state). For `aps jobs
  // check` and listings that must show what the scheduler cannot load. Stops early when fn
  // returns false.
  Status VisitAll(const std::function<bool(std::string_view id, JobState* state,
                                           const Status& problem)>& fn) const;
  // Check(): verifies every record and the indexes against each other; appends one line per
  // problem to *problems. Changes nothing.
  Status Check(std::vector<std::string>* problems) const;
  // Job count (one LMDB stat, O(1)).
  Result<std::size_t> Count() const;

  LmdbStoreStats stats() const;
  const std::string& path() const;

  // The owner lock's holder, as "pid N" text, or empty when the store is not owned.
  static std::string OwnerOf(const std::string& path);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Record encoding, exposed for tests and tools (fault injection writes raw records).
std::string EncodeJobRecord(const JobState& job);
Result<JobState> DecodeJobRecord(std::string_view id, std::string_view record);

}  // namespace aps

#endif  // APS_STORES_LMDB_LMDB_STORE_H_
