// And/Or of triggers; see combining_trigger.h for the rules.
#include "engine/combining_trigger.h"

#include <cstdio>

namespace aps {

Result<std::unique_ptr<CombiningTrigger>> CombiningTrigger::CreateAnd(
    std::vector<std::unique_ptr<Trigger>> children, Jitter jitter, int max_iterations) {
  if (children.empty()) return InvalidArgument("and: needs at least one trigger");
  if (max_iterations < 1) return InvalidArgument("and: max_iterations must be at least 1");
  for (const auto& c : children) {
    if (!c) return InvalidArgument("and: a child trigger is null");
  }
  return std::unique_ptr<CombiningTrigger>(
      new CombiningTrigger(true, std::move(children), jitter, max_iterations));
}

Result<std::unique_ptr<CombiningTrigger>> CombiningTrigger::CreateOr(
    std::vector<std::unique_ptr<Trigger>> children, Jitter jitter) {
  if (children.empty()) return InvalidArgument("or: needs at least one trigger");
  for (const auto& c : children) {
    if (!c) return InvalidArgument("or: a child trigger is null");
  }
  return std::unique_ptr<CombiningTrigger>(
      new CombiningTrigger(false, std::move(children), jitter, 0));
}

std::optional<Instant> CombiningTrigger::FirstAtOrAfterImpl(Instant c,
                                                            std::optional<Instant> known) const {
  if (!is_and_) {
    // An Or fire time is not necessarily a fire time of every child: no hint is passed.
    std::optional<Instant> best;
    for (const auto& child : children_) {
      std::optional<Instant> t = child->FirstAtOrAfter(c);
      if (t && (!best || *t < *best)) best = t;
    }
    return best;
  }
  // Each child's latest answer is a fire time of that child <= the next candidate, so it is a
  // valid `known` hint for the child's next question (first kMaxHints children; no heap).
  constexpr std::size_t kMaxHints = 8;
  std::optional<Instant> hints[kMaxHints];
  if (known) {
    for (auto& h : hints) h = known;  // an And fire time is every child's fire time
  }
  for (int i = 0; i < max_iterations_; ++i) {
    Instant lo{INT64_MAX}, hi{INT64_MIN};
    for (std::size_t k = 0; k < children_.size(); ++k) {
      std::optional<Instant> t =
          children_[k]->FirstAtOrAfter(c, k < kMaxHints ? hints[k] : std::nullopt);
      if (!t) return std::nullopt;
      if (k < kMaxHints) hints[k] = t;
      if (*t < lo) lo = *t;
      if (*t > hi) hi = *t;
    }
    if (lo == hi) return lo;
    c = hi;
  }
  return std::nullopt;
}

std::optional<Instant> CombiningTrigger::NextUnjittered(std::optional<Instant> previous,
                                                        Instant now) const {
  if (!previous) return FirstAtOrAfter(now);
  // previous may carry the combination's jitter; only an And passes it on as a hint, and only
  // when it is an exact fire time (no jitter).
  const bool exact = is_and_ && jitter().max_us == 0;
  return FirstAtOrAfter(Instant{previous->us + 1}, exact ? previous : std::nullopt);
}

std::string CombiningTrigger::Describe() const {
  std::string out = is_and_ ? "and[" : "or[";
  for (std::size_t i = 0; i < children_.size(); ++i) {
    if (i > 0) out += ", ";
    out += children_[i]->Describe();
  }
  out += ']';
  return out;
}

std::string CombiningTrigger::ToText() const {
  std::string out = is_and_ ? "and(" : "or(";
  for (std::size_t i = 0; i < children_.size(); ++i) {
    if (i > 0) out += ", ";
    out += children_[i]->ToText();
  }
  if (is_and_ && max_iterations_ != kDefaultMaxIterations) {
    char buf[40];
    std::snprintf(buf, sizeof(buf), ", max_iterations=%d", max_iterations_);
    out += buf;
  }
  AppendJitterText(&out);
  out += ')';
  return out;
}

std::unique_ptr<Trigger> CombiningTrigger::Clone() const {
  std::vector<std::unique_ptr<Trigger>> kids;
  kids.reserve(children_.size());
  for (const auto& c : children_) kids.push_back(c->Clone());
  return std::unique_ptr<Trigger>(
      new CombiningTrigger(is_and_, std::move(kids), jitter(), max_iterations_));
}

}  // namespace aps
