// The task registry's non-template half: name checks and lookups.
#include "engine/task.h"

namespace aps {

Status TaskRegistry::CheckTaskName(std::string_view name) {
  if (name.empty()) return Status(StatusCode::kInvalidArgument, "a task name must not be empty");
  if (name.size() > kMaxTaskNameBytes) {
    return Status::Format(StatusCode::kInvalidArgument,
                          "task name \"%.40s...\" is longer than %zu bytes", name.data(),
                          kMaxTaskNameBytes);
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return Status::Format(StatusCode::kInvalidArgument,
                            "task name \"%.*s\" contains a control character",
                            static_cast<int>(name.size()), name.data());
    }
  }
  return OkStatus();
}

Status TaskRegistry::AddBinder(std::string name, Binder binder) {
  if (Status s = CheckTaskName(name); !s.ok()) return s;
  if (Contains(name)) {
    return Status::Format(StatusCode::kAlreadyExists, "task \"%s\" is already registered",
                          name.c_str());
  }
  tasks_.emplace(std::move(name), std::move(binder));
  return OkStatus();
}

JobFunction TaskRegistry::Bind(std::string_view name, TaskArgs args) const {
  auto it = tasks_.find(name);
  if (it == tasks_.end()) return JobFunction();
  return it->second(std::move(args));
}

std::vector<std::string> TaskRegistry::names() const {
  std::vector<std::string> out;
  out.reserve(tasks_.size());
  for (const auto& kv : tasks_) out.push_back(kv.first);
  return out;
}

}  // namespace aps
