// `aps jobs`: the jobs of an LMDB job store from the command line.
//
// Reads (list, export, check) open the store read-only: they work while a scheduler owns it
// and see its last commit. Writes (add, remove, pause, resume, modify, import) need the
// store's owner lock: while a scheduler runs on the store they fail and say so (the scheduler
// would not see a change made behind its back; make it through the scheduler's API instead).
//
// JSON lines (add --batch, import, export, list --json) carry one job each:
//   {"id": "report", "task": "send_report", "trigger": SPEC or "text form",
//    "args": [...], "kwargs": {...}, "name": "...", "executor": "default",
//    "next_run_time": "2024-01-01T09:00:00+00:00" | null (paused),
//    "misfire_grace_time": seconds | null (unlimited), "coalesce": true, "max_instances": 1}
// Argument values: null, true/false, integers, numbers, strings, lists, objects; bytes are
// {"$bytes": "<base64>"}.
#include "tools/aps/jobs_command.h"

#include <poll.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/datetime.h"
#include "engine/scheduler.h"
#include "engine/task.h"
#include "engine/trigger_text.h"
#include "engine/value.h"
#include "stores/lmdb/lmdb_store.h"
#include "tools/aps/cli_util.h"

namespace aps::cli {
namespace {

using nlohmann::json;

struct JobsArgs {
  std::string store;
  std::string durability = "sync";
  std::string tz;
  bool json_out = false;
  // add / modify
  std::string id, task, name, executor, args_json, kwargs_json, next_run_time;
  ScheduleOptions sched;
  std::optional<double> misfire_grace;  // seconds; 0 = unlimited
  std::optional<int> max_instances;
  bool coalesce = false, no_coalesce = false;
  bool paused = false, replace = false, batch = false, at_least_once = false;
  std::vector<std::string> ids;
};

const char kJobsHelp[] =
    R"HELP(The store is a directory holding an LMDB job store (the one a scheduler
keeps with LmdbJobStore, and the one `aps demo` keeps in ./aps-jobs by default).

  aps jobs list --store DIR [--json] [--tz ZONE]
  aps jobs add --store DIR --id ID --task NAME --cron 'hour=9' [--args JSON] [--kwargs JSON]
  aps jobs add --store DIR --batch  < jobs.jsonl
  aps jobs remove|pause|resume --store DIR ID...
  aps jobs modify --store DIR ID [--name N] [--args JSON] [--kwargs JSON] [schedule] ...
  aps jobs export --store DIR > jobs.jsonl
  aps jobs import --store DIR [--replace] < jobs.jsonl
  aps jobs check --store DIR

A job names a task: the scheduler that loads the store binds it to the function its
application registered under that name (Scheduler::AddTask). aps jobs cannot know which tasks
an application registers; a job whose task is unknown to the scheduler stays in the store and is
reported as unresolved.

Reads work while a scheduler runs on the store. Changes need the store to be free: while a
scheduler owns it, they fail with "in use by another scheduler" (change jobs through that
scheduler's API instead).

Batch lines (add --batch, import; export writes the same form), one JSON object per line:
  {"id": "r1", "task": "send_report", "trigger": {"type": "cron", "hour": "9"},
   "args": ["daily.pdf", 3], "kwargs": {"to": "ops@example.com"}}
  "trigger" is a SPEC as in `aps next --batch`, or the stable text form as a string;
  optional: "name", "executor", "next_run_time" (ISO-8601, null = paused),
  "misfire_grace_time" (seconds, null = unlimited), "coalesce", "max_instances",
  "at_least_once" (a run interrupted by a crash runs again after the restart).
  Bytes arguments are {"$bytes": "<base64>"}.
add --batch prints "added <id>" on stdout once the job is durable (lines are committed in
groups); a bad line prints "error <line number>: <message>" on stderr and the batch goes on.
Exit status: 0 when every line was added, 1 otherwise.)HELP";

// ---- values <-> JSON --------------------------------------------------------------------
const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(const std::string& in) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out.push_back(kB64[(n >> k) & 63]);
  }
  if (i < in.size()) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kB64[(n >> 18) & 63]);
    out.push_back(kB64[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kB64[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Result<std::string> Unbase64(const std::string& in) {
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const char* p = std::strchr(kB64, c);
    if (c == '\0' || p == nullptr) return InvalidArgument("\"$bytes\" is not base64");
    buf = (buf << 6) | static_cast<unsigned>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xFF));
    }
  }
  return out;
}

json ToJson(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: return nullptr;
    case Value::Type::kBool: return v.as_bool();
    case Value::Type::kInt: return v.as_int();
    case Value::Type::kDouble: return v.as_double();
    case Value::Type::kString: return v.as_string();
    case Value::Type::kBytes: return json{{"$bytes", Base64(v.as_string())}};
    case Value::Type::kList: {
      json a = json::array();
      for (const Value& e : v.as_list()) a.push_back(ToJson(e));
      return a;
    }
    case Value::Type::kMap: {
      json o = json::object();
      for (const auto& [k, e] : v.as_map()) o[k] = ToJson(e);
      return o;
    }
  }
  return nullptr;
}

Result<Value> FromJson(const json& j, int depth = 0) {
  if (depth > kMaxValueDepth) return InvalidArgument("arguments nest too deeply");
  if (j.is_null()) return Value();
  if (j.is_boolean()) return Value(j.get<bool>());
  if (j.is_number_integer()) {
    if (j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      return InvalidArgument("an integer argument is larger than int64");
    }
    return Value(j.get<std::int64_t>());
  }
  if (j.is_number_float()) return Value(j.get<double>());
  if (j.is_string()) return Value(j.get<std::string>());
  if (j.is_array()) {
    Value::List l;
    for (const json& e : j) {
      Result<Value> v = FromJson(e, depth + 1);
      if (!v.ok()) return v.status();
      l.push_back(std::move(v).value());
    }
    return Value(std::move(l));
  }
  if (j.is_object()) {
    if (j.size() == 1 && j.contains("$bytes")) {
      if (!j["$bytes"].is_string()) return InvalidArgument("\"$bytes\" must be a base64 string");
      Result<std::string> b = Unbase64(j["$bytes"].get<std::string>());
      if (!b.ok()) return b.status();
      return Value::Bytes(std::move(b).value());
    }
    Value::Map m;
    for (auto it = j.begin(); it != j.end(); ++it) {
      Result<Value> v = FromJson(it.value(), depth + 1);
      if (!v.ok()) return v.status();
      m.emplace_back(it.key(), std::move(v).value());
    }
    return Value(std::move(m));
  }
  return InvalidArgument("unsupported JSON value in arguments");
}

Result<TaskArgs> ArgsFromJson(const json* args, const json* kwargs) {
  TaskArgs a;
  if (args && !args->is_null()) {
    if (!args->is_array()) return InvalidArgument("\"args\" must be a JSON array");
    Result<Value> v = FromJson(*args);
    if (!v.ok()) return v.status();
    a.args = std::move(v->mutable_list());
  }
  if (kwargs && !kwargs->is_null()) {
    if (!kwargs->is_object()) return InvalidArgument("\"kwargs\" must be a JSON object");
    Result<Value> v = FromJson(*kwargs);
    if (!v.ok()) return v.status();
    if (v->type() != Value::Type::kMap) {
      return InvalidArgument("\"kwargs\" must be an object of names, not {\"$bytes\": ...}");
    }
    a.kwargs = std::move(v->mutable_map());
  }
  return a;
}

Result<json> ParseJsonText(const std::string& text, const char* what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Status::Format(StatusCode::kInvalidArgument, "%s: malformed JSON", what);
  }
  return j;
}

// ---- jobs <-> JSON ------------------------------------------------------------------------
json JobToJson(const JobState& j, const TimeZone& zone) {
  json o;
  o["id"] = j.id;
  o["name"] = j.name;
  o["task"] = j.task;
  Result<TaskArgs> a = DecodeArgs(j.args);
  if (a.ok()) {
    o["args"] = ToJson(Value(a->args));
    o["kwargs"] = ToJson(Value(a->kwargs));
  } else {
    o["args_error"] = a.status().message();
  }
  o["trigger"] = j.trigger;
  o["executor"] = j.executor;
  o["next_run_time"] = j.next_run_time ? json(FormatIso(*j.next_run_time, zone)) : json(nullptr);
  o["misfire_grace_time"] = j.misfire_grace_us == kUnlimitedGrace
                                ? json(nullptr)
                                : json(static_cast<double>(j.misfire_grace_us) / 1e6);
  o["coalesce"] = j.coalesce;
  o["max_instances"] = j.max_instances;
  if (j.at_least_once) o["at_least_once"] = true;
  return o;
}

std::string NewId() {
  std::random_device rd;
  std::uniform_int_distribution<unsigned> d(0, 15);
  std::string id;
  for (int i = 0; i < 32; ++i) id.push_back("0123456789abcdef"[d(rd)]);
  return id;
}

// The zone that dates without an offset are read in.
struct TimezonePtrHolder {
  TimeZonePtr zone;
};

Result<std::unique_ptr<Trigger>> TriggerOf(const json& t, Instant now, TimeZonePtr zone) {
  if (t.is_string()) return ParseTrigger(t.get<std::string>(), now, zone);
  Result<TriggerSpec> spec = SpecFromJson(t);
  if (!spec.ok()) return spec.status();
  return BuildTrigger(*spec, now, zone);
}

// A job from one JSON line. `import`: the line is a full record (export's form): its id is
// required and its next_run_time kept. Otherwise a missing id is generated and a missing
// next_run_time is the trigger's first fire time after `now`.
Result<JobState> JobFromJson(const json& o, Instant now, const TimezonePtrHolder& zh, bool import) {
  if (!o.is_object()) return InvalidArgument("a line must be a JSON object");
  for (auto it = o.begin(); it != o.end(); ++it) {
    static const char* const kKnown[] = {"id",           "name",          "task",
                                         "trigger",      "args",          "kwargs",
                                         "executor",     "next_run_time", "misfire_grace_time",
                                         "coalesce",     "max_instances", "paused",
                                         "at_least_once"};
    bool known = false;
    for (const char* k : kKnown) known = known || it.key() == k;
    if (!known) {
      return Status::Format(StatusCode::kInvalidArgument, "unknown field \"%s\"", it.key().c_str());
    }
  }
  JobState j;
  if (o.contains("id")) {
    if (!o["id"].is_string() || o["id"].get<std::string>().empty()) {
      return InvalidArgument("\"id\" must be a nonempty string");
    }
    j.id = o["id"].get<std::string>();
  } else if (import) {
    return InvalidArgument("missing \"id\"");
  } else {
    j.id = NewId();
  }
  if (!o.contains("task") || !o["task"].is_string()) {
    return InvalidArgument("missing \"task\" (the name of a task the application registers)");
  }
  j.task = o["task"].get<std::string>();
  if (Status s = TaskRegistry::CheckTaskName(j.task); !s.ok()) return s;
  if (!o.contains("trigger")) return InvalidArgument("missing \"trigger\"");
  Result<std::unique_ptr<Trigger>> t = TriggerOf(o["trigger"], now, zh.zone);
  if (!t.ok()) return Status::Format(t.status().code(), "trigger: %s", t.status().message());
  j.trigger = (*t)->ToText();
  Result<TaskArgs> a = ArgsFromJson(o.contains("args") ? &o["args"] : nullptr,
                                    o.contains("kwargs") ? &o["kwargs"] : nullptr);
  if (!a.ok()) return a.status();
  Result<std::string> enc = EncodeArgs(*a);
  if (!enc.ok()) return enc.status();
  j.args = std::move(enc).value();
  j.name = j.id;
  if (o.contains("name")) {
    if (!o["name"].is_string()) return InvalidArgument("\"name\" must be a string");
    if (!o["name"].get<std::string>().empty()) j.name = o["name"].get<std::string>();
  }
  j.executor = "default";
  if (o.contains("executor")) {
    if (!o["executor"].is_string() || o["executor"].get<std::string>().empty()) {
      return InvalidArgument("\"executor\" must be a nonempty string");
    }
    j.executor = o["executor"].get<std::string>();
  }
  if (o.contains("misfire_grace_time") && !o["misfire_grace_time"].is_null()) {
    const json& g = o["misfire_grace_time"];
    if (!g.is_number() || g.get<double>() <= 0 || g.get<double>() > 1e12) {
      return InvalidArgument("\"misfire_grace_time\" must be a positive number of seconds or null");
    }
    j.misfire_grace_us = std::llround(g.get<double>() * 1e6);
  }
  if (o.contains("coalesce")) {
    if (!o["coalesce"].is_boolean()) return InvalidArgument("\"coalesce\" must be true or false");
    j.coalesce = o["coalesce"].get<bool>();
  }
  if (o.contains("max_instances")) {
    const json& m = o["max_instances"];
    if (!m.is_number_integer() || m.get<long long>() <= 0 || m.get<long long>() > INT32_MAX) {
      return InvalidArgument("\"max_instances\" must be a positive integer");
    }
    j.max_instances = m.get<std::int32_t>();
  }
  if (o.contains("at_least_once")) {
    if (!o["at_least_once"].is_boolean()) {
      return InvalidArgument("\"at_least_once\" must be true or false");
    }
    j.at_least_once = o["at_least_once"].get<bool>();
  }
  const bool paused = o.contains("paused") && o["paused"].is_boolean() && o["paused"].get<bool>();
  if (o.contains("next_run_time")) {
    const json& n = o["next_run_time"];
    if (n.is_null()) {
      j.next_run_time = std::nullopt;
    } else if (!n.is_string()) {
      return InvalidArgument("\"next_run_time\" must be an ISO-8601 string or null (paused)");
    } else {
      Result<Instant> at = ParseDateTime(n.get<std::string>(), *zh.zone);
      if (!at.ok())
        return Status::Format(at.status().code(), "next_run_time: %s", at.status().message());
      j.next_run_time = *at;
    }
  } else if (!paused) {
    j.next_run_time = (*t)->Next(std::nullopt, now);
    if (!j.next_run_time) {
      return InvalidArgument("the trigger has no fire time after now (nothing would ever run)");
    }
  }
  if (paused) j.next_run_time = std::nullopt;
  return j;
}

// ---- the store ------------------------------------------------------------------------------
int Fail(const char* cmd, const Status& s, int code = 1) {
  std::cerr << "aps jobs " << cmd << ": " << s.message() << "\n";
  return code;
}

Result<std::unique_ptr<LmdbJobStore>> OpenStore(const JobsArgs& a, bool write) {
  if (a.store.empty()) return InvalidArgument("--store DIR is required");
  Result<LmdbDurability> d = ParseLmdbDurability(a.durability);
  if (!d.ok()) return d.status();
  LmdbStoreOptions o;
  o.path = a.store;
  o.read_only = !write;
  o.durability = *d;
  auto store = std::make_unique<LmdbJobStore>(o);
  Status st = store->Start("cli");
  if (!st.ok()) {
    if (write && std::string(st.message()).find("in use by another") != std::string::npos) {
      return Status::Format(st.code(),
                            "%s — aps jobs cannot change a store while a scheduler owns it "
                            "(stop the scheduler, or change the job through its API)",
                            st.message());
    }
    return st;
  }
  return store;
}

Result<TimeZonePtr> Zone(const JobsArgs& a) {
  return LoadTimeZone(a.tz.empty() ? LocalZoneName() : a.tz);
}

// A listing line in APScheduler's print_jobs form, with the id, task and arguments below.
std::string ListLine(const JobState& j, const TimeZone& zone, Instant now) {
  JobInfo i;
  i.name = j.name.empty() ? j.id : j.name;
  Result<std::unique_ptr<Trigger>> t = ParseTrigger(j.trigger, now);
  i.trigger = t.ok() ? (*t)->Describe() : j.trigger;
  i.next_run_time = j.next_run_time;
  std::string out = "    " + i.ToString(zone) + "\n        id=" + j.id + " task=" + j.task;
  Result<TaskArgs> a = DecodeArgs(j.args);
  out += " args=" + (a.ok() ? DescribeArgs(*a) : std::string("<") + a.status().message() + ">");
  return out + "\n";
}

int RunList(const JobsArgs& a, bool export_form) {
  const char* cmd = export_form ? "export" : "list";
  Result<TimeZonePtr> zone = export_form && a.tz.empty() ? Result<TimeZonePtr>(UtcZone()) : Zone(a);
  if (!zone.ok()) return Fail(cmd, zone.status(), 2);
  Result<std::unique_ptr<LmdbJobStore>> store = OpenStore(a, /*write=*/false);
  if (!store.ok()) return Fail(cmd, store.status());
  std::vector<JobState> jobs;
  std::vector<std::pair<std::string, Status>> problems;
  if (Status s = (*store)->LoadJobs(&jobs, &problems); !s.ok()) return Fail(cmd, s);
  // print_jobs order: by next run time, paused last, then id.
  std::stable_sort(jobs.begin(), jobs.end(), [](const JobState& x, const JobState& y) {
    if (x.next_run_time.has_value() != y.next_run_time.has_value())
      return x.next_run_time.has_value();
    if (x.next_run_time && x.next_run_time->us != y.next_run_time->us) {
      return x.next_run_time->us < y.next_run_time->us;
    }
    return x.id < y.id;
  });
  const Instant now = WallNow();
  if (export_form || a.json_out) {
    for (const JobState& j : jobs) {
      json o = JobToJson(j, **zone);
      if (!export_form) {
        Result<std::unique_ptr<Trigger>> t = ParseTrigger(j.trigger, now);
        o["trigger_description"] = t.ok() ? (*t)->Describe() : std::string();
        o["paused"] = !j.next_run_time.has_value();
      }
      std::cout << o.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    }
  } else {
    std::cout << "Jobstore " << a.store << " (" << jobs.size() << " job"
              << (jobs.size() == 1 ? "" : "s") << "):\n";
    if (jobs.empty() && problems.empty()) std::cout << "    No scheduled jobs\n";
    for (const JobState& j : jobs) std::cout << ListLine(j, **zone, now);
  }
  for (const auto& [id, p] : problems) {
    std::cerr << "aps jobs " << cmd << ": job \"" << id << "\" is unreadable: " << p.message()
              << "\n";
  }
  std::cout.flush();
  return problems.empty() ? 0 : 1;
}

int RunCheck(const JobsArgs& a) {
  Result<std::unique_ptr<LmdbJobStore>> store = OpenStore(a, /*write=*/false);
  if (!store.ok()) return Fail("check", store.status());
  std::vector<std::string> problems;
  if (Status s = (*store)->Check(&problems); !s.ok()) return Fail("check", s);
  Result<std::size_t> n = (*store)->Count();
  const std::string owner = LmdbJobStore::OwnerOf(a.store);
  std::cout << "store " << a.store << ": format " << kLmdbStoreFormat << ", "
            << (n.ok() ? std::to_string(*n) : std::string("?")) << " jobs, "
            << (owner.empty() ? std::string("not owned") : "owned by a scheduler (" + owner + ")")
            << "\n";
  for (const std::string& p : problems) std::cout << "problem: " << p << "\n";
  std::cout << (problems.empty() ? "ok" : std::to_string(problems.size()) + " problem(s)") << "\n";
  return problems.empty() ? 0 : 1;
}

// True when stdin has nothing more to read right now (so a group is committed and answered
// instead of waiting for more lines).
bool InputIdle() {
  if (std::cin.rdbuf()->in_avail() > 0) return false;
  pollfd p{0, POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

// add --batch and import: JSON lines, committed in groups; each job is reported once durable.
int RunBatch(const JobsArgs& a, bool import) {
  const char* cmd = import ? "import" : "add";
  Result<TimeZonePtr> zone = Zone(a);
  if (!zone.ok()) return Fail(cmd, zone.status(), 2);
  Result<std::unique_ptr<LmdbJobStore>> opened = OpenStore(a, /*write=*/true);
  if (!opened.ok()) return Fail(cmd, opened.status());
  LmdbJobStore& store = **opened;
  TimezonePtrHolder zh{*zone};
  constexpr std::size_t kGroup = 1000;
  std::vector<std::string> group;  // ids written in the open batch
  std::vector<long> group_lines;
  bool any_error = false;
  long line_no = 0;
  auto commit = [&]() {
    if (group.empty()) return;
    Status s = store.CommitBatch();
    if (s.ok()) {
      for (const std::string& id : group)
        std::cout << (import ? "imported " : "added ") << id << "\n";
      std::cout.flush();
    } else {
      for (long n : group_lines)
        std::cerr << "error " << n << ": not committed: " << s.message() << "\n";
      any_error = true;
    }
    group.clear();
    group_lines.clear();
  };
  std::string line;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Result<json> j = ParseJsonText(line, "line");
    Result<JobState> job =
        j.ok() ? JobFromJson(*j, WallNow(), zh, import) : Result<JobState>(j.status());
    Status s = job.status();
    if (job.ok()) {
      if (group.empty()) s = store.BeginBatch();
      if (s.ok()) {
        s = store.AddJob(*job);
        if (s.code() == StatusCode::kAlreadyExists && a.replace) s = store.UpdateJob(*job);
        if (s.ok()) {
          group.push_back(job->id);
          group_lines.push_back(line_no);
        } else if (group.empty()) {
          store.AbortBatch();
        }
      }
    }
    if (!s.ok()) {
      std::cerr << "error " << line_no << ": " << s.message() << "\n";
      std::cerr.flush();
      any_error = true;
    }
    if (group.size() >= kGroup || InputIdle()) commit();
  }
  commit();
  return any_error ? 1 : 0;
}

// --args / --kwargs as {"args": ..., "kwargs": ...} (only the ones given).
Result<json> OptionArgsJson(const JobsArgs& a) {
  json out = json::object();
  if (!a.args_json.empty()) {
    Result<json> j = ParseJsonText(a.args_json, "--args");
    if (!j.ok()) return j.status();
    out["args"] = *j;
  }
  if (!a.kwargs_json.empty()) {
    Result<json> j = ParseJsonText(a.kwargs_json, "--kwargs");
    if (!j.ok()) return j.status();
    out["kwargs"] = *j;
  }
  return out;
}

// One job from the command-line options of `add`.
Result<JobState> JobFromOptions(const JobsArgs& a, Instant now, const TimezonePtrHolder& zh) {
  json o;
  if (!a.id.empty()) o["id"] = a.id;
  if (a.task.empty()) return InvalidArgument("--task NAME is required");
  o["task"] = a.task;
  if (a.sched.forms() != 1) {
    return InvalidArgument(
        "give exactly one schedule: --crontab, --cron, --interval, --date, --calendar-interval "
        "or --trigger (see aps jobs add --help)");
  }
  Result<TriggerSpec> spec = SpecFromOptions(a.sched);
  if (!spec.ok()) return spec.status();
  Result<std::unique_ptr<Trigger>> t = BuildTrigger(*spec, now, zh.zone);
  if (!t.ok()) return t.status();
  o["trigger"] = (*t)->ToText();
  Result<json> given = OptionArgsJson(a);
  if (!given.ok()) return given.status();
  for (const char* k : {"args", "kwargs"}) {
    if (given->contains(k)) o[k] = (*given)[k];
  }
  if (!a.name.empty()) o["name"] = a.name;
  if (!a.executor.empty()) o["executor"] = a.executor;
  if (a.misfire_grace)
    o["misfire_grace_time"] = *a.misfire_grace > 0 ? json(*a.misfire_grace) : json(nullptr);
  if (a.no_coalesce) o["coalesce"] = false;
  if (a.max_instances) o["max_instances"] = *a.max_instances;
  if (!a.next_run_time.empty()) o["next_run_time"] = a.next_run_time;
  if (a.paused) o["paused"] = true;
  if (a.at_least_once) o["at_least_once"] = true;
  return JobFromJson(o, now, zh, /*import=*/false);
}

int RunAdd(const JobsArgs& a) {
  if (a.batch) return RunBatch(a, /*import=*/false);
  Result<TimeZonePtr> zone = Zone(a);
  if (!zone.ok()) return Fail("add", zone.status(), 2);
  Result<JobState> job = JobFromOptions(a, WallNow(), TimezonePtrHolder{*zone});
  if (!job.ok()) return Fail("add", job.status(), 2);
  Result<std::unique_ptr<LmdbJobStore>> store = OpenStore(a, /*write=*/true);
  if (!store.ok()) return Fail("add", store.status());
  Status s = (*store)->AddJob(*job);
  if (s.code() == StatusCode::kAlreadyExists && a.replace) s = (*store)->UpdateJob(*job);
  if (!s.ok()) return Fail("add", s);
  std::cout << "added " << job->id << "\n";
  return 0;
}

// remove / pause / resume: each id in turn, all in one transaction.
int RunEach(const JobsArgs& a, const char* cmd) {
  if (a.ids.empty()) return Fail(cmd, InvalidArgument("give at least one job id"), 2);
  Result<std::unique_ptr<LmdbJobStore>> opened = OpenStore(a, /*write=*/true);
  if (!opened.ok()) return Fail(cmd, opened.status());
  LmdbJobStore& store = **opened;
  const std::string verb = cmd;
  const Instant now = WallNow();
  std::vector<std::string> done;
  bool any_error = false;
  if (Status s = store.BeginBatch(); !s.ok()) return Fail(cmd, s);
  for (const std::string& id : a.ids) {
    Status s;
    std::string note;
    if (verb == "remove") {
      s = store.RemoveJob(id);
    } else {
      Result<std::optional<JobState>> j = store.LookupJob(id);
      if (!j.ok()) {
        s = j.status();
      } else if (!j->has_value()) {
        s = JobLookupError(id);
      } else {
        JobState job = std::move(**j);
        if (verb == "pause") {
          job.next_run_time = std::nullopt;
          s = store.UpdateJob(job);
        } else {
          Result<std::unique_ptr<Trigger>> t = ParseTrigger(job.trigger, now);
          if (!t.ok()) {
            s = t.status();
          } else if (std::optional<Instant> next = (*t)->Next(std::nullopt, now)) {
            job.next_run_time = next;
            s = store.UpdateJob(job);
          } else {
            // APScheduler's resume_job: a trigger with no further fire time removes the job.
            s = store.RemoveJob(id);
            note = " (its trigger has no further fire time: removed)";
          }
        }
      }
    }
    if (s.ok()) {
      done.push_back(verb + "d " + id + note);  // removed, paused, resumed
    } else {
      std::cerr << "aps jobs " << cmd << ": " << id << ": " << s.message() << "\n";
      any_error = true;
    }
  }
  if (Status s = store.CommitBatch(); !s.ok()) return Fail(cmd, s);
  for (const std::string& d : done) std::cout << d << "\n";
  return any_error ? 1 : 0;
}

int RunModify(const JobsArgs& a) {
  if (a.ids.size() != 1) return Fail("modify", InvalidArgument("give exactly one job id"), 2);
  Result<TimeZonePtr> zone = Zone(a);
  if (!zone.ok()) return Fail("modify", zone.status(), 2);
  Result<std::unique_ptr<LmdbJobStore>> opened = OpenStore(a, /*write=*/true);
  if (!opened.ok()) return Fail("modify", opened.status());
  LmdbJobStore& store = **opened;
  const std::string& id = a.ids[0];
  Result<std::optional<JobState>> found = store.LookupJob(id);
  if (!found.ok()) return Fail("modify", found.status());
  if (!found->has_value()) return Fail("modify", JobLookupError(id));
  JobState j = std::move(**found);
  const Instant now = WallNow();
  if (!a.name.empty()) j.name = a.name;
  if (!a.task.empty()) {
    if (Status s = TaskRegistry::CheckTaskName(a.task); !s.ok()) return Fail("modify", s, 2);
    j.task = a.task;
  }
  if (!a.executor.empty()) j.executor = a.executor;
  if (!a.args_json.empty() || !a.kwargs_json.empty()) {
    Result<TaskArgs> old = DecodeArgs(j.args);
    if (!old.ok()) return Fail("modify", old.status());
    // Only the given part changes: --args keeps the old kwargs and the other way round.
    Result<json> given = OptionArgsJson(a);
    if (!given.ok()) return Fail("modify", given.status(), 2);
    Result<TaskArgs> n = ArgsFromJson(given->contains("args") ? &(*given)["args"] : nullptr,
                                      given->contains("kwargs") ? &(*given)["kwargs"] : nullptr);
    if (!n.ok()) return Fail("modify", n.status(), 2);
    TaskArgs args = std::move(old).value();
    if (!a.args_json.empty()) args.args = std::move(n->args);
    if (!a.kwargs_json.empty()) args.kwargs = std::move(n->kwargs);
    Result<std::string> enc = EncodeArgs(args);
    if (!enc.ok()) return Fail("modify", enc.status(), 2);
    j.args = std::move(enc).value();
  }
  if (a.misfire_grace)
    j.misfire_grace_us =
        *a.misfire_grace > 0 ? std::llround(*a.misfire_grace * 1e6) : kUnlimitedGrace;
  if (a.coalesce) j.coalesce = true;
  if (a.no_coalesce) j.coalesce = false;
  if (a.max_instances) {
    if (*a.max_instances <= 0)
      return Fail("modify", InvalidArgument("--max-instances must be positive"), 2);
    j.max_instances = *a.max_instances;
  }
  if (a.sched.forms() > 1) {
    return Fail("modify", InvalidArgument("give at most one schedule form"), 2);
  }
  if (a.sched.forms() == 1) {
    // A new schedule reschedules: the next run time comes from the new trigger (APScheduler's
    // reschedule_job), unless the job is paused.
    Result<TriggerSpec> spec = SpecFromOptions(a.sched);
    if (!spec.ok()) return Fail("modify", spec.status(), 2);
    Result<std::unique_ptr<Trigger>> t = BuildTrigger(*spec, now, *zone);
    if (!t.ok()) return Fail("modify", t.status(), 2);
    j.trigger = (*t)->ToText();
    if (j.next_run_time) {
      j.next_run_time = (*t)->Next(std::nullopt, now);
      if (!j.next_run_time) {
        return Fail("modify", InvalidArgument("the new trigger has no fire time after now"), 2);
      }
    }
  }
  if (!a.next_run_time.empty()) {
    Result<Instant> at = ParseDateTime(a.next_run_time, **zone);
    if (!at.ok()) return Fail("modify", at.status(), 2);
    j.next_run_time = *at;
  }
  if (a.paused) j.next_run_time = std::nullopt;
  if (a.at_least_once) j.at_least_once = true;
  if (Status s = store.UpdateJob(j); !s.ok()) return Fail("modify", s);
  std::cout << "modified " << id << "\n";
  return 0;
}

void StoreOptions(CLI::App* c, JobsArgs* a, bool writes) {
  c->add_option("--store", a->store, "the store's directory")->required();
  if (writes) {
    c->add_option("--durability", a->durability,
                  "sync (default: on disk before it is reported), nometasync or nosync");
  }
  c->add_option("--tz", a->tz,
                "zone for times without an offset and for listings "
                "(default: the system's)");
}

void JobOptions(CLI::App* c, JobsArgs* a) {
  c->add_option("--task", a->task, "the task name the application registers (AddTask)");
  c->add_option("--name", a->name, "a display name (default: the id)");
  c->add_option("--args", a->args_json, "positional arguments as a JSON array, e.g. '[\"a\", 3]'");
  c->add_option("--kwargs", a->kwargs_json, "keyword arguments as a JSON object");
  c->add_option("--executor", a->executor, "executor alias (default: default)");
  c->add_option("--misfire-grace-time", a->misfire_grace,
                "seconds a late run may still start (0 = unlimited, the default)");
  c->add_option("--max-instances", a->max_instances, "concurrent runs allowed (default 1)");
  c->add_flag("--no-coalesce", a->no_coalesce, "run every missed fire time, not just the last");
  c->add_option("--next-run-time", a->next_run_time, "first run at this instant (ISO-8601)");
  c->add_flag("--paused", a->paused, "store it paused");
  c->add_flag("--at-least-once", a->at_least_once,
              "a run interrupted by a crash runs again after the restart");
  AddScheduleOptions(c, &a->sched, /*crontab_positional=*/false);
}

}  // namespace

std::function<int()> AddJobsCommand(CLI::App& app) {
  auto a = std::make_shared<JobsArgs>();
  CLI::App* jobs = app.add_subcommand("jobs", "list and change the jobs of an LMDB job store");
  jobs->require_subcommand(1);
  jobs->footer(kJobsHelp);

  CLI::App* list = jobs->add_subcommand("list", "print the jobs (APScheduler's print_jobs form)");
  StoreOptions(list, a.get(), false);
  list->add_flag("--json", a->json_out, "one JSON object per line");

  CLI::App* add = jobs->add_subcommand("add", "add a job (or --batch: JSON lines on stdin)");
  StoreOptions(add, a.get(), true);
  add->add_option("--id", a->id, "the job's id (default: a random one)");
  JobOptions(add, a.get());
  add->add_flag("--replace", a->replace, "replace a job of the same id");
  add->add_flag("--batch", a->batch, "read jobs as JSON lines on stdin (see aps jobs --help)");
  add->footer(kScheduleFormsHelp);

  CLI::App* modify = jobs->add_subcommand("modify", "change a job; a new schedule reschedules it");
  StoreOptions(modify, a.get(), true);
  modify->add_option("id", a->ids, "the job's id")->required();
  JobOptions(modify, a.get());
  modify->add_flag("--coalesce", a->coalesce, "run only the last of missed fire times");
  modify->footer(kScheduleFormsHelp);

  CLI::App* remove = jobs->add_subcommand("remove", "remove jobs");
  CLI::App* pause = jobs->add_subcommand("pause", "pause jobs (they keep their place)");
  CLI::App* resume =
      jobs->add_subcommand("resume", "resume jobs: next run time from the trigger, from now");
  for (CLI::App* c : {remove, pause, resume}) {
    StoreOptions(c, a.get(), true);
    c->add_option("ids", a->ids, "job ids")->required();
  }
  CLI::App* exp = jobs->add_subcommand("export", "write every job as JSON lines (stdout)");
  StoreOptions(exp, a.get(), false);
  CLI::App* imp = jobs->add_subcommand("import", "read jobs as JSON lines (stdin; export's form)");
  StoreOptions(imp, a.get(), true);
  imp->add_flag("--replace", a->replace, "replace jobs of the same id (default: report them)");
  CLI::App* check = jobs->add_subcommand("check", "verify the store; changes nothing");
  StoreOptions(check, a.get(), false);

  return [a, list, add, modify, remove, pause, resume, exp, imp, check] {
    if (list->parsed()) return RunList(*a, /*export_form=*/false);
    if (exp->parsed()) return RunList(*a, /*export_form=*/true);
    if (add->parsed()) return RunAdd(*a);
    if (imp->parsed()) return RunBatch(*a, /*import=*/true);
    if (modify->parsed()) return RunModify(*a);
    if (remove->parsed()) return RunEach(*a, "remove");
    if (pause->parsed()) return RunEach(*a, "pause");
    if (resume->parsed()) return RunEach(*a, "resume");
    if (check->parsed()) return RunCheck(*a);
    return 2;
  };
}

}  // namespace aps::cli
