// LmdbJobStore: the only file that includes lmdb.h.
//
// Design. One environment, four named databases (jobs, due, tasks, meta; see the header). Reads use
// one reusable read-only transaction (reset after each call; MDB_NOTLS, since the owning
// thread changes between "stopped" callers and the scheduler thread). Writes happen in the
// batch transaction when one is open, else in a transaction of their own. Every write is also
// appended to `log` so that MDB_MAP_FULL can be handled by aborting, doubling the map and
// replaying the log into a fresh transaction: a full map costs a replay, never an error.
//
// Invariants (in every committed state):
//   * the "due" index holds exactly one key per job that needs the scheduler at some time,
//     DueKey(AttentionTime(job), id): its next_run_time, or the time of an interrupted
//     at-least-once run when that is earlier (or the job is paused); no key for other paused
//     jobs. A key's time is never later than its job's next_run_time, so a scan for jobs due by
//     T can stop at the first key after T;
//   * the "tasks" index (MDB_DUPSORT) holds exactly one (task, id) pair per job that names a
//     task, so the jobs of an unregistered task are found without reading every record. A
//     store of format 1 (before the index) gets it built when first opened for writing;
//   * "meta"/"format" is kLmdbStoreFormat (written at creation, or by that upgrade);
//   * a record never changes in place: LMDB's copy-on-write commits whole or not at all.
#include "stores/lmdb/lmdb_store.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>

namespace aps {
namespace {

constexpr std::uint8_t kRecordVersion = 1;
constexpr std::uint64_t kFlagHasNext = 1;
constexpr std::uint64_t kFlagCoalesce = 2;
constexpr std::uint64_t kFlagAtLeastOnce = 4;
constexpr std::uint64_t kFlagInflight = 8;  // an inflight_run follows next_run_time
constexpr std::uint64_t kKnownFlags =
    kFlagHasNext | kFlagCoalesce | kFlagAtLeastOnce | kFlagInflight;
constexpr char kMarkerName[] = "aps-store";
constexpr char kOwnerLockName[] = "owner.lock";
constexpr int kOwnerLockPatienceMs = 100;

// ---- CRC-32C (Castagnoli), bytewise table -------------------------------------------------
struct Crc32cTable {
  std::uint32_t t[256];
  constexpr Crc32cTable() : t() {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
  }
};
constexpr Crc32cTable kCrcTable;

std::uint32_t Crc32c(std::string_view data) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (char ch : data) c = kCrcTable.t[(c ^ static_cast<std::uint8_t>(ch)) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

// ---- record encoding ----------------------------------------------------------------------
void PutVarint(std::string* out, std::uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
std::uint64_t ZigZag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t UnZigZag(std::uint64_t z) {
  return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
}
void PutBlob(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

struct RecordReader {
  std::string_view b;
  std::size_t pos = 0;
  bool Varint(std::uint64_t* out) {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= b.size()) return false;
      const auto c = static_cast<std::uint8_t>(b[pos++]);
      v |= static_cast<std::uint64_t>(c & 0x7F) << shift;
      if ((c & 0x80) == 0) {
        *out = v;
        return true;
      }
    }
    return false;
  }
  bool Blob(std::string* out) {
    std::uint64_t n;
    if (!Varint(&n) || n > b.size() - pos) return false;
    out->assign(b.substr(pos, static_cast<std::size_t>(n)));
    pos += static_cast<std::size_t>(n);
    return true;
  }
};

int IdLen(std::string_view id) { return static_cast<int>(id.size() > 120 ? 120 : id.size()); }

// ---- keys -----------------------------------------------------------------------------------
std::string DueKey(std::int64_t us, std::string_view id) {
  std::string k(8, '\0');
  const std::uint64_t biased = static_cast<std::uint64_t>(us) ^ (std::uint64_t{1} << 63);
  for (int i = 0; i < 8; ++i)
    k[static_cast<std::size_t>(i)] = static_cast<char>(biased >> (56 - 8 * i));
  k.append(id);
  return k;
}
std::int64_t DueKeyTime(std::string_view k) {
  std::uint64_t biased = 0;
  for (int i = 0; i < 8; ++i)
    biased = (biased << 8) | static_cast<std::uint8_t>(k[static_cast<std::size_t>(i)]);
  return static_cast<std::int64_t>(biased ^ (std::uint64_t{1} << 63));
}

// When the scheduler must look at the job (see the invariants above); nullopt: never.
std::optional<Instant> AttentionTime(const JobState& j) {
  if (j.inflight_run && (!j.next_run_time || j.inflight_run->us < j.next_run_time->us)) {
    return j.inflight_run;
  }
  return j.next_run_time;
}

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view View(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

}  // namespace

std::string EncodeJobRecord(const JobState& j) {
  std::string r;
  r.reserve(64 + j.name.size() + j.trigger.size() + j.executor.size() + j.task.size() +
            j.args.size());
  r.push_back(static_cast<char>(kRecordVersion));
  PutVarint(&r, (j.next_run_time ? kFlagHasNext : 0) | (j.coalesce ? kFlagCoalesce : 0) |
                    (j.at_least_once ? kFlagAtLeastOnce : 0) |
                    (j.inflight_run ? kFlagInflight : 0));
  PutBlob(&r, j.name);
  PutBlob(&r, j.trigger);
  PutBlob(&r, j.executor);
  PutBlob(&r, j.task);
  PutBlob(&r, j.args);
  if (j.next_run_time) PutVarint(&r, ZigZag(j.next_run_time->us));
  if (j.inflight_run) PutVarint(&r, ZigZag(j.inflight_run->us));
  PutVarint(&r, ZigZag(j.misfire_grace_us));
  PutVarint(&r, ZigZag(j.max_instances));
  const std::uint32_t crc = Crc32c(r);
  for (int i = 0; i < 4; ++i) r.push_back(static_cast<char>((crc >> (8 * i)) & 0xFF));
  return r;
}

Result<JobState> DecodeJobRecord(std::string_view id, std::string_view rec) {
  auto bad = [&](const char* what) {
    return Status::Format(StatusCode::kDataLoss, "job \"%.*s\": record is undecodable: %s",
                          IdLen(id), id.data(), what);
  };
  if (rec.size() < 5) return bad("shorter than a record");
  if (static_cast<std::uint8_t>(rec[0]) > kRecordVersion || rec[0] == 0) {
    return Status::Format(StatusCode::kFailedPrecondition,
                          "job \"%.*s\": record format %u is newer than this aps reads (%u); "
                          "upgrade aps to load it",
                          IdLen(id), id.data(),
                          static_cast<unsigned>(static_cast<std::uint8_t>(rec[0])),
                          static_cast<unsigned>(kRecordVersion));
  }
  const std::string_view body = rec.substr(0, rec.size() - 4);
  std::uint32_t crc = 0;
  for (int i = 0; i < 4; ++i) {
    crc |= static_cast<std::uint32_t>(
               static_cast<std::uint8_t>(rec[rec.size() - 4 + static_cast<std::size_t>(i)]))
           << (8 * i);
  }
  if (crc != Crc32c(body)) return bad("checksum mismatch (the record was damaged)");
  RecordReader r{body, 1};
  JobState j;
  j.id.assign(id);
  std::uint64_t flags, v;
  if (!r.Varint(&flags)) return bad("flags cut short");
  if (flags & ~kKnownFlags) {
    return Status::Format(StatusCode::kFailedPrecondition,
                          "job \"%.*s\": record uses features of a newer aps (flags 0x%llx); "
                          "upgrade aps to load it",
                          IdLen(id), id.data(), static_cast<unsigned long long>(flags));
  }
  if (!r.Blob(&j.name) || !r.Blob(&j.trigger) || !r.Blob(&j.executor) || !r.Blob(&j.task) ||
      !r.Blob(&j.args)) {
    return bad("a text field runs past the end");
  }
  if (flags & kFlagHasNext) {
    if (!r.Varint(&v)) return bad("next run time cut short");
    j.next_run_time = Instant{UnZigZag(v)};
  }
  if (flags & kFlagInflight) {
    if (!r.Varint(&v)) return bad("inflight run time cut short");
    j.inflight_run = Instant{UnZigZag(v)};
  }
  j.coalesce = (flags & kFlagCoalesce) != 0;
  j.at_least_once = (flags & kFlagAtLeastOnce) != 0;
  if (!r.Varint(&v)) return bad("misfire grace time cut short");
  j.misfire_grace_us = UnZigZag(v);
  if (!r.Varint(&v)) return bad("max_instances cut short");
  const std::int64_t mi = UnZigZag(v);
  if (mi <= 0 || mi > INT32_MAX) return bad("max_instances out of range");
  j.max_instances = static_cast<std::int32_t>(mi);
  if (r.pos != body.size()) return bad("trailing bytes");
  return j;
}

Result<LmdbDurability> ParseLmdbDurability(std::string_view text) {
  if (text == "sync") return LmdbDurability::kSync;
  if (text == "nometasync") return LmdbDurability::kNoMetaSync;
  if (text == "nosync") return LmdbDurability::kNoSync;
  return Status::Format(StatusCode::kInvalidArgument,
                        "unknown durability \"%.*s\": choose sync, nometasync or nosync",
                        static_cast<int>(text.size() > 40 ? 40 : text.size()), text.data());
}

const char* ToString(LmdbDurability d) {
  switch (d) {
    case LmdbDurability::kSync: return "sync";
    case LmdbDurability::kNoMetaSync: return "nometasync";
    case LmdbDurability::kNoSync: return "nosync";
  }
  return "?";
}

// ---- the environment ------------------------------------------------------------------------

struct LmdbJobStore::Impl {
  // One logged write, replayed after the map grows.
  struct Op {
    enum Kind : std::uint8_t { kAdd, kUpdate, kRemove, kClear } kind;
    JobState job;    // kAdd / kUpdate
    std::string id;  // kRemove
  };

  LmdbStoreOptions o;
  std::string alias = "lmdb";
  MDB_env* env = nullptr;
  MDB_dbi jobs = 0, due = 0, meta = 0, tasks = 0;
  bool have_tasks = false;   // the tasks index exists (false: a format-1 store opened read-only)
  bool upgraded = false;     // Open() upgraded the store's format
  MDB_txn* rtxn = nullptr;   // reusable read transaction (reset between calls)
  MDB_txn* batch = nullptr;  // the open write transaction of a batch
  std::vector<Op> log;       // the batch's writes, for a replay after growing the map
  int owner_fd = -1;
  std::size_t map_bytes = 0;
  LmdbStoreStats st;

  explicit Impl(LmdbStoreOptions opts) : o(std::move(opts)) {}

  int Fault(const char* op) const { return o.fault ? o.fault(op) : 0; }

  std::string File(const char* name) const { return o.path + "/" + name; }

  // An LMDB or errno code as a Status that names the store and the operation.
  Status Err(int rc, const char* what) const {
    StatusCode code = StatusCode::kUnavailable;
    const char* hint = "";
    switch (rc) {
      case MDB_CORRUPTED:
      case MDB_INVALID:
      case MDB_PAGE_NOTFOUND:
      case MDB_BAD_TXN:
        code = StatusCode::kDataLoss;
        hint = " (the data file is damaged: restore a backup or an `aps jobs export`)";
        break;
      case MDB_VERSION_MISMATCH:
        code = StatusCode::kFailedPrecondition;
        hint = " (the store was written by another LMDB version)";
        break;
      case EACCES:
      case EROFS:
      case EPERM:
        code = StatusCode::kFailedPrecondition;
        hint = " (check the directory's owner and mode; tools can open it read-only)";
        break;
      case ENOSPC: hint = " (the disk is full; free space and the scheduler retries)"; break;
      default: break;
    }
    return Status::Format(code, "job store at %s: %s: %s%s", o.path.c_str(), what, mdb_strerror(rc),
                          hint);
  }

  // ---- open / close ------------------------------------------------------------------------
  Status TakeOwnerLock() {
    if (int f = Fault("lock"); f != 0) return Err(f, "opening owner.lock");
    owner_fd = ::open(File(kOwnerLockName).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (owner_fd < 0) return Err(errno, "opening owner.lock");
    // A reader asking who owns the store (OwnerOf(): `aps jobs check`, `list`) holds a shared
    // lock for a few microseconds: a held lock is retried for up to kOwnerLockPatienceMs
    // before it is taken as another owner's.
    int locked = ::flock(owner_fd, LOCK_EX | LOCK_NB);
    for (int waited_ms = 0; locked != 0 && errno == EWOULDBLOCK && waited_ms < kOwnerLockPatienceMs;
         waited_ms += 2) {
      ::usleep(2000);
      locked = ::flock(owner_fd, LOCK_EX | LOCK_NB);
    }
    if (locked != 0) {
      const int e = errno;
      char pid[32] = {};
      const ssize_t n = ::pread(owner_fd, pid, sizeof(pid) - 1, 0);
      ::close(owner_fd);
      owner_fd = -1;
      if (e != EWOULDBLOCK) return Err(e, "locking owner.lock");
      if (n > 0) pid[n] = '\0';
      return Status::Format(StatusCode::kFailedPrecondition,
                            "job store at %s is in use by another scheduler (pid %s); one store "
                            "has one owner: stop that one, or open the store read-only",
                            o.path.c_str(), n > 0 ? pid : "unknown");
    }
    char pid[32];
    const int n = std::snprintf(pid, sizeof(pid), "%ld", static_cast<long>(::getpid()));
    if (::ftruncate(owner_fd, 0) != 0 ||
        ::pwrite(owner_fd, pid, static_cast<std::size_t>(n), 0) != n) {
      // The lock is what matters; the pid is only for messages.
    }
    return OkStatus();
  }

  // The marker file says "this directory holds an aps store"; with it, a missing or empty
  // data.mdb is reported as damage instead of silently starting an empty store.
  Status CheckFiles(bool* fresh) {
    struct stat sd;
    if (::stat(o.path.c_str(), &sd) != 0) {
      if (errno != ENOENT || o.read_only) {
        return Status::Format(errno == ENOENT ? StatusCode::kNotFound : StatusCode::kUnavailable,
                              "job store at %s: %s", o.path.c_str(), std::strerror(errno));
      }
      if (::mkdir(o.path.c_str(), 0700) != 0) return Err(errno, "creating the directory");
    } else if (!S_ISDIR(sd.st_mode)) {
      return Status::Format(StatusCode::kInvalidArgument,
                            "job store at %s: not a directory (the store is a directory)",
                            o.path.c_str());
    }
    struct stat sm, sf;
    const bool has_marker = ::stat(File(kMarkerName).c_str(), &sm) == 0;
    const bool has_data = ::stat(File("data.mdb").c_str(), &sf) == 0;
    if (has_marker && (!has_data || sf.st_size == 0)) {
      return Status::Format(StatusCode::kDataLoss,
                            "job store at %s: data.mdb is %s but the directory held a store; "
                            "restore it from a backup or an `aps jobs export` (nothing was "
                            "changed)",
                            o.path.c_str(), has_data ? "empty" : "missing");
    }
    if (!has_data && o.read_only) {
      return Status::Format(StatusCode::kNotFound, "no job store at %s (no data.mdb)",
                            o.path.c_str());
    }
    *fresh = !has_data;
    return OkStatus();
  }

  Status WriteMarker() {
    const int fd =
        ::open(File(kMarkerName).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Err(errno, "writing the aps-store marker");
    char text[64];
    const int n = std::snprintf(text, sizeof(text), "aps job store, format %u\n", kLmdbStoreFormat);
    const bool ok = ::write(fd, text, static_cast<std::size_t>(n)) == n && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return Err(errno, "writing the aps-store marker");
    return OkStatus();
  }

  Status Open() {
    bool fresh = false;
    if (Status s = CheckFiles(&fresh); !s.ok()) return s;
    if (!o.read_only) {
      if (Status s = TakeOwnerLock(); !s.ok()) return s;
    }
    if (int f = Fault("open"); f != 0) return Fail(Err(f, "opening"));
    int rc = mdb_env_create(&env);
    if (rc != 0) return Fail(Err(rc, "creating the environment"));
    map_bytes = o.initial_map_bytes;
    mdb_env_set_mapsize(env, map_bytes);
    mdb_env_set_maxdbs(env, 4);
    unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
    if (o.read_only) flags |= MDB_RDONLY;
    if (o.durability == LmdbDurability::kNoMetaSync) flags |= MDB_NOMETASYNC;
    if (o.durability == LmdbDurability::kNoSync) flags |= MDB_NOSYNC;
    rc = mdb_env_open(env, o.path.c_str(), flags, 0600);
    if (rc != 0) return Fail(Err(rc, o.read_only ? "opening for reading" : "opening"));
    MDB_envinfo info;
    mdb_env_info(env, &info);
    if (info.me_mapsize > map_bytes) map_bytes = info.me_mapsize;
    // A data file shorter than its committed pages (truncated by a copy, a full disk in an
    // earlier life, a bad restore) would fault on access: check before touching a page.
    MDB_stat est;
    mdb_env_stat(env, &est);
    struct stat sf;
    if (::stat(File("data.mdb").c_str(), &sf) == 0 && !fresh) {
      const auto need = static_cast<std::uint64_t>(info.me_last_pgno + 1) * est.ms_psize;
      if (static_cast<std::uint64_t>(sf.st_size) < need) {
        return Fail(Status::Format(
            StatusCode::kDataLoss,
            "job store at %s: data.mdb is truncated (%lld bytes; its pages need %llu); restore "
            "it from a backup or an `aps jobs export` (nothing was changed)",
            o.path.c_str(), static_cast<long long>(sf.st_size),
            static_cast<unsigned long long>(need)));
      }
    }
    if (Status s = OpenDatabases(); !s.ok()) return Fail(s);
    // The marker is written once the databases are there (also when an earlier run was killed
    // between creating data.mdb and writing it: then the damage check would stay off), and
    // again after an upgrade (it names the format).
    struct stat sm;
    if (!o.read_only && (upgraded || ::stat(File(kMarkerName).c_str(), &sm) != 0)) {
      if (Status s = WriteMarker(); !s.ok()) return Fail(s);
    }
    return OkStatus();
  }

  Status OpenDatabases() {
    MDB_txn* t = nullptr;
    int rc = mdb_txn_begin(env, nullptr, o.read_only ? MDB_RDONLY : 0, &t);
    if (rc != 0) return Err(rc, "starting a transaction");
    const unsigned create = o.read_only ? 0 : MDB_CREATE;
    if ((rc = mdb_dbi_open(t, "jobs", create, &jobs)) != 0 ||
        (rc = mdb_dbi_open(t, "due", create, &due)) != 0 ||
        (rc = mdb_dbi_open(t, "meta", create, &meta)) != 0) {
      mdb_txn_abort(t);
      if (rc == MDB_NOTFOUND) {
        return Status::Format(StatusCode::kDataLoss,
                              "job store at %s: an LMDB environment, but not an aps job store "
                              "(its databases are missing)",
                              o.path.c_str());
      }
      return Err(rc, "opening the databases");
    }
    MDB_val k = Val("format"), v;
    rc = mdb_get(t, meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
      MDB_stat js;
      mdb_stat(t, jobs, &js);
      if (o.read_only || js.ms_entries != 0) {
        mdb_txn_abort(t);
        return Status::Format(StatusCode::kDataLoss,
                              "job store at %s: the format record is missing", o.path.c_str());
      }
      std::uint32_t f = kLmdbStoreFormat;
      MDB_val fv{sizeof(f), &f};
      if ((rc = OpenTasks(t, MDB_CREATE)) != 0 || (rc = mdb_put(t, meta, &k, &fv, 0)) != 0) {
        mdb_txn_abort(t);
        return Err(rc, "writing the format record");
      }
      if ((rc = mdb_txn_commit(t)) != 0) return Err(rc, "writing the format record");
      return OkStatus();
    }
    if (rc != 0) {
      mdb_txn_abort(t);
      return Err(rc, "reading the format record");
    }
    std::uint32_t f = 0;
    if (v.mv_size == sizeof(f)) std::memcpy(&f, v.mv_data, sizeof(f));
    if (v.mv_size != sizeof(f) || f == 0) {
      mdb_txn_abort(t);
      return Status::Format(StatusCode::kDataLoss, "job store at %s: the format record is damaged",
                            o.path.c_str());
    }
    if (f > kLmdbStoreFormat) {
      mdb_txn_abort(t);
      return Status::Format(StatusCode::kFailedPrecondition,
                            "job store at %s has format %u, newer than this aps reads (%u); "
                            "upgrade aps (nothing was changed)",
                            o.path.c_str(), f, kLmdbStoreFormat);
    }
    if (f < kLmdbStoreFormat && !o.read_only) {
      if (Status s = Upgrade(t); !s.ok()) {
        mdb_txn_abort(t);
        return s;
      }
    } else if ((rc = OpenTasks(t, 0)) != 0 && rc != MDB_NOTFOUND) {
      mdb_txn_abort(t);
      return Err(rc, "opening the tasks index");
    }
    rc = mdb_txn_commit(t);  // keeps the dbi handles (an abort would close them)
    if (rc != 0) return Err(rc, "opening the databases");
    return OkStatus();
  }

  int OpenTasks(MDB_txn* t, unsigned create) {
    const int rc = mdb_dbi_open(t, "tasks", MDB_DUPSORT | create, &tasks);
    have_tasks = rc == 0;
    return rc;
  }

  // Format 1 -> 2, in the open transaction: builds the tasks index from the records.
  Status Upgrade(MDB_txn* t) {
    int rc = OpenTasks(t, MDB_CREATE);
    if (rc != 0) return Err(rc, "creating the tasks index");
    MDB_cursor* c;
    if ((rc = mdb_cursor_open(t, jobs, &c)) != 0) return Err(rc, "upgrading the store");
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      Result<JobState> j = DecodeJobRecord(View(k), View(v));
      if (!j.ok() || j->task.empty()) continue;  // (an unreadable record stays as it is)
      MDB_val tk = Val(j->task), id = k;
      if ((rc = mdb_put(t, tasks, &tk, &id, 0)) != 0) break;
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) return Err(rc, "building the tasks index");
    std::uint32_t f = kLmdbStoreFormat;
    MDB_val fk = Val("format"), fv{sizeof(f), &f};
    if ((rc = mdb_put(t, meta, &fk, &fv, 0)) != 0) return Err(rc, "writing the format record");
    upgraded = true;
    return OkStatus();
  }

  // Closes what Open() opened, returning `s`.
  Status Fail(Status s) {
    Close();
    return s;
  }

  // Forgets the batch's writes; a large batch's memory goes back (a flood of adds can make
  // one batch of hundreds of thousands of jobs).
  void ClearLog() {
    log.clear();
    if (log.capacity() > 4096) std::vector<Op>().swap(log);
  }

  void Close() {
    if (batch) mdb_txn_abort(batch);
    batch = nullptr;
    ClearLog();
    if (rtxn) mdb_txn_abort(rtxn);
    rtxn = nullptr;
    if (env) mdb_env_close(env);
    env = nullptr;
    if (owner_fd >= 0) ::close(owner_fd);  // releases the flock
    owner_fd = -1;
  }

  // ---- transactions ----------------------------------------------------------------------
  // Begins a write transaction, adopting a map grown by another process.
  int BeginWrite(MDB_txn** t) {
    if (int f = Fault("begin"); f != 0) return f;
    int rc = mdb_txn_begin(env, nullptr, 0, t);
    if (rc == MDB_MAP_RESIZED) {
      mdb_env_set_mapsize(env, 0);
      rc = mdb_txn_begin(env, nullptr, 0, t);
    }
    return rc;
  }

  // Why a call cannot go on: the store is not open, or (for a change) open read-only.
  Status NotUsable(bool for_writing) const {
    if (!env) {
      return Status::Format(StatusCode::kFailedPrecondition, "job store at %s is not open",
                            o.path.c_str());
    }
    if (for_writing && o.read_only) {
      return Status::Format(StatusCode::kFailedPrecondition, "job store at %s is open read-only",
                            o.path.c_str());
    }
    return OkStatus();
  }

  // The transaction reads use: the open batch (it sees its own writes), else the read txn.
  Result<MDB_txn*> ReadTxn() const {
    auto* self = const_cast<Impl*>(this);
    APS_RETURN_IF_ERROR(NotUsable(/*for_writing=*/false));
    if (batch) return batch;
    int rc;
    if (rtxn) {
      rc = mdb_txn_renew(rtxn);
    } else {
      rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &self->rtxn);
    }
    if (rc == MDB_MAP_RESIZED) {
      if (rtxn) mdb_txn_abort(rtxn);
      self->rtxn = nullptr;
      mdb_env_set_mapsize(env, 0);
      rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &self->rtxn);
    }
    if (rc != 0) return Err(rc, "starting a read transaction");
    return rtxn;
  }
  void EndRead(MDB_txn* t) const {
    if (t == rtxn) mdb_txn_reset(rtxn);
  }

  Status GrowMap() {
    if (map_bytes >= o.max_map_bytes) {
      return Status::Format(StatusCode::kResourceExhausted,
                            "job store at %s: the map reached max_map_bytes (%zu bytes)",
                            o.path.c_str(), o.max_map_bytes);
    }
    if (rtxn) mdb_txn_abort(rtxn);  // set_mapsize needs no transaction of ours open
    rtxn = nullptr;
    const std::size_t next = map_bytes * 2 > o.max_map_bytes ? o.max_map_bytes : map_bytes * 2;
    const int rc = mdb_env_set_mapsize(env, next);
    if (rc != 0) return Err(rc, "growing the map");
    map_bytes = next;
    ++st.map_growths;
    return OkStatus();
  }

  // ---- writes -------------------------------------------------------------------------------
  // Deletes the first entry of `dbi` for which is_it(key, value) holds, found by scanning
  // (index entries of a job whose record does not read, so their keys are unknown).
  template <class IsIt>
  int DeleteFirstByScan(MDB_txn* t, MDB_dbi dbi, const IsIt& is_it) {
    MDB_cursor* c;
    int rc = mdb_cursor_open(t, dbi, &c);
    if (rc != 0) return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      if (is_it(View(k), View(v))) {
        rc = mdb_cursor_del(c, 0);
        break;
      }
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
  }

  // Removes job `id`'s record, due key and task pair if present. *existed says whether it was
  // there.
  int DeleteJob(MDB_txn* t, std::string_view id, bool* existed) {
    MDB_val k = Val(id), v;
    int rc = mdb_get(t, jobs, &k, &v);
    *existed = rc == 0;
    if (rc == MDB_NOTFOUND) return 0;
    if (rc != 0) return rc;
    Result<JobState> old = DecodeJobRecord(id, View(v));
    if (old.ok()) {
      if (const std::optional<Instant> at = AttentionTime(*old)) {
        const std::string dk = DueKey(at->us, id);
        MDB_val dkv = Val(dk);
        rc = mdb_del(t, due, &dkv, nullptr);
        if (rc != 0 && rc != MDB_NOTFOUND) return rc;
      }
      if (!old->task.empty()) {
        MDB_val tk = Val(old->task), idv = Val(id);
        rc = mdb_del(t, tasks, &tk, &idv);
        if (rc != 0 && rc != MDB_NOTFOUND) return rc;
      }
    } else {
      rc = DeleteFirstByScan(t, due, [&](std::string_view key, std::string_view) {
        return key.substr(8) == id;  // the due key's id part
      });
      if (rc == 0) {
        rc = DeleteFirstByScan(t, tasks,
                               [&](std::string_view, std::string_view val) { return val == id; });
      }
      if (rc != 0) return rc;
    }
    if (int f = Fault("del"); f != 0) return f;
    return mdb_del(t, jobs, &k, nullptr);
  }

  // Applies one op in `t`. Returns an LMDB/errno code, or -1 with *status set for a contract
  // error (duplicate, missing).
  int Apply(MDB_txn* t, const Op& op, Status* status) {
    switch (op.kind) {
      case Op::kClear: {
        int rc = mdb_drop(t, jobs, 0);
        if (rc == 0) rc = mdb_drop(t, due, 0);
        if (rc == 0) rc = mdb_drop(t, tasks, 0);
        return rc;
      }
      case Op::kRemove: {
        bool existed;
        const int rc = DeleteJob(t, op.id, &existed);
        if (rc == 0 && !existed) {
          *status = JobLookupError(op.id);
          return -1;
        }
        return rc;
      }
      case Op::kAdd:
      case Op::kUpdate: {
        const JobState& j = op.job;
        MDB_val k = Val(j.id), v;
        int rc = mdb_get(t, jobs, &k, &v);
        if (rc != 0 && rc != MDB_NOTFOUND) return rc;
        bool existed = rc == 0;
        // Contract errors are found before anything changes.
        if (op.kind == Op::kAdd && existed) {
          *status = ConflictingIdError(j.id);
          return -1;
        }
        if (op.kind == Op::kUpdate && !existed) {
          *status = JobLookupError(j.id);
          return -1;
        }
        if (existed && (rc = DeleteJob(t, j.id, &existed)) != 0) return rc;
        if (int f = Fault("put"); f != 0) return f;
        const std::string rec = EncodeJobRecord(j);
        v = Val(rec);
        if ((rc = mdb_put(t, jobs, &k, &v, 0)) != 0) return rc;
        if (const std::optional<Instant> at = AttentionTime(j)) {
          const std::string dk = DueKey(at->us, j.id);
          MDB_val dkv = Val(dk), empty{0, nullptr};
          if ((rc = mdb_put(t, due, &dkv, &empty, 0)) != 0) return rc;
        }
        if (!j.task.empty()) {
          MDB_val tk = Val(j.task), idv = Val(j.id);
          if ((rc = mdb_put(t, tasks, &tk, &idv, 0)) != 0) return rc;
        }
        return 0;
      }
    }
    return EINVAL;
  }

  // Commits `t` (counting it).
  int Commit(MDB_txn* t) {
    if (int f = Fault("commit"); f != 0) {
      mdb_txn_abort(t);
      return f;
    }
    const int rc = mdb_txn_commit(t);
    if (rc == 0) ++st.commits;
    return rc;
  }

  Status Write(Op op) {
    APS_RETURN_IF_ERROR(NotUsable(/*for_writing=*/true));
    if ((op.kind == Op::kAdd || op.kind == Op::kUpdate) && op.job.id.size() > kLmdbMaxIdBytes) {
      return Status::Format(StatusCode::kInvalidArgument,
                            "job id \"%.40s...\" is longer than %zu bytes (the LMDB store's "
                            "limit)",
                            op.job.id.c_str(), kLmdbMaxIdBytes);
    }
    Status contract;
    if (batch) {
      for (;;) {
        const int rc = Apply(batch, op, &contract);
        if (rc == -1) return contract;
        if (rc == 0) break;
        if (rc != MDB_MAP_FULL) return Err(rc, "writing a job");
        if (Status s = ReplayGrown(); !s.ok()) return s;
      }
      log.push_back(std::move(op));
      return OkStatus();
    }
    for (;;) {
      MDB_txn* t;
      int rc = BeginWrite(&t);
      if (rc != 0) return Err(rc, "starting a write transaction");
      rc = Apply(t, op, &contract);
      if (rc == -1) {
        mdb_txn_abort(t);
        return contract;
      }
      if (rc == 0)
        rc = Commit(t);
      else
        mdb_txn_abort(t);
      if (rc == 0) return OkStatus();
      if (rc != MDB_MAP_FULL) return Err(rc, "writing a job");
      if (Status s = GrowMap(); !s.ok()) return s;
    }
  }

  // The batch hit a full map (or its commit did, which freed it: batch == nullptr): abort
  // it, grow the map, and replay its writes into a new transaction, as often as needed.
  Status ReplayGrown() {
    for (;;) {
      if (batch) mdb_txn_abort(batch);
      batch = nullptr;
      if (Status s = GrowMap(); !s.ok()) {
        ClearLog();
        return s;
      }
      int rc = BeginWrite(&batch);
      if (rc != 0) {
        batch = nullptr;
        ClearLog();
        return Err(rc, "starting a write transaction");
      }
      Status ignored;
      rc = 0;
      for (const Op& op : log) {
        rc = Apply(batch, op, &ignored);
        if (rc != 0 && rc != -1) break;
      }
      if (rc == 0 || rc == -1) return OkStatus();
      if (rc != MDB_MAP_FULL) {
        mdb_txn_abort(batch);
        batch = nullptr;
        ClearLog();
        return Err(rc, "replaying a batch");
      }
    }
  }

  // ---- reads ----------------------------------------------------------------------------
  Result<std::optional<JobState>> Lookup(MDB_txn* t, std::string_view id) const {
    MDB_val k = Val(id), v;
    const int rc = mdb_get(t, jobs, &k, &v);
    if (rc == MDB_NOTFOUND) return std::optional<JobState>();
    if (rc != 0) return Err(rc, "reading a job");
    Result<JobState> j = DecodeJobRecord(id, View(v));
    if (!j.ok()) return Prefixed(j.status());
    return std::optional<JobState>(std::move(j).value());
  }

  Status Prefixed(const Status& s) const {
    return Status::Format(s.code(), "job store at %s: %s", o.path.c_str(), s.message());
  }

  // Visits the tasks index: fn(task, id) for each pair, tasks in byte order, each task's ids in
  // order. When fn returns false the rest of that task's ids are skipped (one seek), so a
  // caller that only wants some tasks reads one pair of each other task.
  template <class Fn>
  Status ScanTasks(const Fn& fn) const {
    Result<MDB_txn*> t = ReadTxn();
    if (!t.ok()) return t.status();
    MDB_cursor* c;
    int rc = mdb_cursor_open(*t, tasks, &c);
    if (rc == 0) {
      MDB_val k, v;
      for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;) {
        const bool more = fn(View(k), View(v));
        rc = mdb_cursor_get(c, &k, &v, more ? MDB_NEXT : MDB_NEXT_NODUP);
      }
      mdb_cursor_close(c);
    }
    EndRead(*t);
    if (rc != MDB_NOTFOUND) return Err(rc, "reading the tasks index");
    return OkStatus();
  }

  // Visits due keys in order (from the first key at or after `from_us`) while fn returns true.
  template <class Fn>
  Status ScanDue(MDB_txn* t, Fn&& fn, std::optional<std::int64_t> from_us = std::nullopt) const {
    MDB_cursor* c;
    int rc = mdb_cursor_open(t, due, &c);
    if (rc != 0) return Err(rc, "reading the due index");
    MDB_val k, v;
    Status s;
    std::string start;
    if (from_us) {
      start = DueKey(*from_us, {});
      k = Val(start);
    }
    for (rc = mdb_cursor_get(c, &k, &v, from_us ? MDB_SET_RANGE : MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      if (k.mv_size < 8) {
        s = Status::Format(StatusCode::kDataLoss, "job store at %s: a due-index key is damaged",
                           o.path.c_str());
        break;
      }
      if (!fn(DueKeyTime(View(k)), View(k).substr(8), &s)) break;
    }
    mdb_cursor_close(c);
    if (!s.ok()) return s;
    if (rc != 0 && rc != MDB_NOTFOUND) return Err(rc, "reading the due index");
    return OkStatus();
  }
};

LmdbJobStore::LmdbJobStore(LmdbStoreOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

LmdbJobStore::~LmdbJobStore() { impl_->Close(); }

const std::string& LmdbJobStore::path() const { return impl_->o.path; }

LmdbStoreStats LmdbJobStore::stats() const {
  LmdbStoreStats s = impl_->st;
  s.map_bytes = impl_->map_bytes;
  return s;
}

Status LmdbJobStore::Start(std::string_view alias) {
  impl_->alias.assign(alias);
  if (impl_->env) return OkStatus();
  if (impl_->o.path.empty()) {
    return Status(StatusCode::kInvalidArgument,
                  "LmdbStoreOptions::path is empty: name a directory");
  }
  return impl_->Open();
}

void LmdbJobStore::Shutdown() { impl_->Close(); }

Result<std::optional<JobState>> LmdbJobStore::LookupJob(std::string_view id) const {
  Result<MDB_txn*> t = impl_->ReadTxn();
  if (!t.ok()) return t.status();
  Result<std::optional<JobState>> r = impl_->Lookup(*t, id);
  impl_->EndRead(*t);
  return r;
}

Status LmdbJobStore::GetDueJobs(Instant now, std::vector<JobState>* out) const {
  Result<MDB_txn*> t = impl_->ReadTxn();
  if (!t.ok()) return t.status();
  Status s = impl_->ScanDue(*t, [&](std::int64_t us, std::string_view id, Status* err) {
    if (us > now.us) return false;  // (a key's time is never after its next_run_time)
    Result<std::optional<JobState>> j = impl_->Lookup(*t, id);
    if (!j.ok()) {
      *err = j.status();
      return false;
    }
    if (*j && (*j)->next_run_time && (*j)->next_run_time->us <= now.us) {
      out->push_back(std::move(**j));
    }
    return true;
  });
  impl_->EndRead(*t);
  return s;
}

Status LmdbJobStore::LoadJobsDue(std::optional<Instant> after, Instant until,
                                 std::vector<JobState>* out,
                                 std::vector<std::pair<std::string, Status>>* problems) const {
  if (after && after->us == INT64_MAX) return OkStatus();
  Result<MDB_txn*> t = impl_->ReadTxn();
  if (!t.ok()) return t.status();
  Status s = impl_->ScanDue(
      *t,
      [&](std::int64_t us, std::string_view id, Status*) {
        if (us > until.us) return false;
        Result<std::optional<JobState>> j = impl_->Lookup(*t, id);
        if (!j.ok()) {
          problems->emplace_back(std::string(id), j.status());
        } else if (*j) {
          out->push_back(std::move(**j));
        }
        return true;
      },
      after ? std::optional<std::int64_t>(after->us + 1) : std::nullopt);
  impl_->EndRead(*t);
  return s;
}

Result<std::optional<Instant>> LmdbJobStore::GetNextRunTime() const {
  Result<MDB_txn*> t = impl_->ReadTxn();
  if (!t.ok()) return t.status();
  // The first key is the earliest attention time; an interrupted run can make it earlier than
  // that job's next_run_time, so read on until no later key can hold an earlier one.
  std::optional<Instant> next;
  Status s = impl_->ScanDue(*t, [&](std::int64_t us, std::string_view id, Status* err) {
    if (next && us >= next->us) return false;
    Result<std::optional<JobState>> j = impl_->Lookup(*t, id);
    if (!j.ok()) {
      *err = j.status();
      return false;
    }
    if (*j && (*j)->next_run_time && (!next || (*j)->next_run_time->us < next->us)) {
      next = (*j)->next_run_time;
    }
    return true;
  });
  impl_->EndRead(*t);
  if (!s.ok()) return s;
  return next;
}

Status LmdbJobStore::GetAllJobs(std::vector<JobState>* out) const {
  const std::size_t first = out->size();
  Result<MDB_txn*> t = impl_->ReadTxn();
  if (!t.ok()) return t.status();
  Status s = impl_->ScanDue(*t, [&](std::int64_t, std::string_view id, Status* err) {
    Result<std::optional<JobState>> j = impl_->Lookup(*t, id);
    if (!j.ok()) {
      *err = j.status();
      return false;
    }
    if (*j && (*j)->next_run_time) out->push_back(std::move(**j));
    return true;
  });
  impl_->EndRead(*t);
  if (!s.ok()) return s;
  // Keys order by attention time; an interrupted at-least-once run can put a job before its
  // next_run_time's place.
  std::stable_sort(out->begin() + static_cast<std::ptrdiff_t>(first), out->end(),
                   [](const JobState& a, const JobState& b) {
                     return a.next_run_time->us != b.next_run_time->us
                                ? a.next_run_time->us < b.next_run_time->us
                                : a.id < b.id;
                   });
  // Paused jobs last, in id order (the jobs database's order).
  Status bad;
  s = VisitAll([&](std::string_view, const JobState* j, const Status& problem) {
    if (!problem.ok()) {
      bad = problem;
      return false;
    }
    if (!j->next_run_time) out->push_back(*j);
    return true;
  });
  return s.ok() ? bad : s;
}

Status LmdbJobStore::LoadJobs(std::vector<JobState>* out,
                              std::vector<std::pair<std::string, Status>>* problems) const {
  return VisitAll([&](std::string_view id, JobState* j, const Status& problem) {
    if (j) {
      out->push_back(std::move(*j));
    } else {
      problems->emplace_back(std::string(id), problem);
    }
    return true;
  });
}

Status LmdbJobStore::VisitAll(
    const std::function<bool(std::string_view, JobState*, const Status&)>& fn) const {
  Result<MDB_txn*> t = impl_->ReadTxn();
  if (!t.ok()) return t.status();
  MDB_cursor* c;
  int rc = mdb_cursor_open(*t, impl_->jobs, &c);
  if (rc != 0) {
    impl_->EndRead(*t);
    return impl_->Err(rc, "reading the jobs");
  }
  MDB_val k, v;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    Result<JobState> j = DecodeJobRecord(View(k), View(v));
    const bool go =
        j.ok() ? fn(View(k), &*j, OkStatus()) : fn(View(k), nullptr, impl_->Prefixed(j.status()));
    if (!go) break;
  }
  mdb_cursor_close(c);
  impl_->EndRead(*t);
  if (rc != 0 && rc != MDB_NOTFOUND) return impl_->Err(rc, "reading the jobs");
  return OkStatus();
}

Status LmdbJobStore::Check(std::vector<std::string>* problems) const {
  std::set<std::string> expected_due;
  Status s = VisitAll([&](std::string_view id, const JobState* j, const Status& problem) {
    if (!problem.ok()) {
      problems->push_back(problem.message());
    } else if (const std::optional<Instant> at = AttentionTime(*j)) {
      expected_due.insert(DueKey(at->us, id));
    }
    return true;
  });
  if (!s.ok()) return s;
  Result<MDB_txn*> t = impl_->ReadTxn();
  if (!t.ok()) return t.status();
  std::size_t seen = 0;
  s = impl_->ScanDue(*t, [&](std::int64_t us, std::string_view id, Status*) {
    const std::string key = DueKey(us, id);
    if (expected_due.erase(key) == 0) {
      problems->push_back("due index: an entry for job \"" + std::string(id) +
                          "\" that does not match its record (a stale index entry)");
    }
    ++seen;
    return true;
  });
  impl_->EndRead(*t);
  if (!s.ok()) return s;
  for (const std::string& k : expected_due) {
    problems->push_back("due index: job \"" + k.substr(8) +
                        "\" has a next run time but no index entry (it would never run)");
  }
  if (!impl_->have_tasks) return OkStatus();  // format 1, read-only: no index yet
  std::set<std::pair<std::string, std::string>> listed;
  s = impl_->ScanTasks([&](std::string_view task, std::string_view id) {
    listed.emplace(task, id);
    return true;
  });
  if (!s.ok()) return s;
  s = VisitAll([&](std::string_view id, const JobState* j, const Status&) {
    if (j == nullptr || j->task.empty()) return true;
    if (listed.erase({j->task, std::string(id)}) == 0) {
      problems->push_back("tasks index: job \"" + std::string(id) + "\" (task \"" + j->task +
                          "\") has no index entry");
    }
    return true;
  });
  if (!s.ok()) return s;
  for (const auto& [task, id] : listed) {
    // (a record that does not read keeps its pair: it is reported above already)
    Result<std::optional<JobState>> j = LookupJob(id);
    if (j.ok()) {
      problems->push_back("tasks index: an entry (task \"" + task + "\", job \"" + id +
                          "\") that does not match a record (a stale index entry)");
    }
  }
  return OkStatus();
}

Status LmdbJobStore::JobsNamingTasks(const std::function<bool(std::string_view)>& pick,
                                     std::vector<std::string>* ids) const {
  if (!impl_->have_tasks) return JobStore::JobsNamingTasks(pick, ids);
  return impl_->ScanTasks([&](std::string_view task, std::string_view id) {
    if (!pick(task)) return false;  // skip the rest of this task's jobs
    ids->emplace_back(id);
    return true;
  });
}

Result<std::size_t> LmdbJobStore::Count() const {
  Result<MDB_txn*> t = impl_->ReadTxn();
  if (!t.ok()) return t.status();
  MDB_stat st;
  const int rc = mdb_stat(*t, impl_->jobs, &st);
  impl_->EndRead(*t);
  if (rc != 0) return impl_->Err(rc, "counting the jobs");
  return static_cast<std::size_t>(st.ms_entries);
}

Status LmdbJobStore::AddJob(const JobState& job) { return impl_->Write({Impl::Op::kAdd, job, {}}); }
Status LmdbJobStore::UpdateJob(const JobState& job) {
  return impl_->Write({Impl::Op::kUpdate, job, {}});
}
Status LmdbJobStore::RemoveJob(std::string_view id) {
  return impl_->Write({Impl::Op::kRemove, {}, std::string(id)});
}
Status LmdbJobStore::RemoveAllJobs() { return impl_->Write({Impl::Op::kClear, {}, {}}); }

Status LmdbJobStore::BeginBatch() {
  Impl& m = *impl_;
  APS_RETURN_IF_ERROR(m.NotUsable(/*for_writing=*/true));
  if (m.batch) return Status(StatusCode::kFailedPrecondition, "a batch is already open");
  const int rc = m.BeginWrite(&m.batch);
  if (rc != 0) {
    m.batch = nullptr;
    return m.Err(rc, "starting a batch");
  }
  m.ClearLog();
  return OkStatus();
}

Status LmdbJobStore::CommitBatch() {
  Impl& m = *impl_;
  while (m.batch) {
    MDB_txn* t = m.batch;
    m.batch = nullptr;
    const int rc = m.Commit(t);  // frees t, committed or not
    if (rc == 0) break;
    if (rc != MDB_MAP_FULL) {
      m.ClearLog();
      return m.Err(rc, "committing");
    }
    if (Status s = m.ReplayGrown(); !s.ok()) return s;
  }
  m.ClearLog();
  return OkStatus();
}

void LmdbJobStore::AbortBatch() {
  Impl& m = *impl_;
  if (m.batch) mdb_txn_abort(m.batch);
  m.batch = nullptr;
  m.ClearLog();
}

std::string LmdbJobStore::OwnerOf(const std::string& path) {
  const int fd = ::open((path + "/" + kOwnerLockName).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string owner;
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
    char pid[32] = {};
    const ssize_t n = ::pread(fd, pid, sizeof(pid) - 1, 0);
    owner = "pid " + std::string(n > 0 ? pid : "unknown");
  }
  ::close(fd);
  return owner;
}

}  // namespace aps
