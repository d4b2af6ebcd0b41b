// aps/engine/combining_trigger.h — AndTrigger and OrTrigger.
//
//   std::vector<std::unique_ptr<aps::Trigger>> kids;  // e.g. two CronTriggers
//   auto both = aps::CombiningTrigger::CreateAnd(std::move(kids));   // first Mondays ...
//
// Children are asked as fresh triggers for their first fire time at or after a candidate
// instant c (Trigger::FirstAtOrAfter): c = now for the first fire time, previous + 1 µs after.
//   Or:  the earliest child time. A DateTrigger child still fires at its date after the Or fired
//        before (APScheduler 3.x loses it), and interval children keep their own grid.
//   And: the earliest instant >= c at which every child fires: ask all children from c; if they
//        agree that is the answer, else move c to the latest answer and ask again; after
//        max_iterations (default 10 000, APScheduler 4.x) the answer is "no further fire time"
//        — never a hang (3.x hangs on its second call).
// Children's own jitter is ignored; jitter given to the combination applies to its result.
#ifndef APS_ENGINE_COMBINING_TRIGGER_H_
#define APS_ENGINE_COMBINING_TRIGGER_H_

#include <memory>
#include <vector>

#include "engine/status.h"
#include "engine/trigger.h"

namespace aps {

class CombiningTrigger final : public Trigger {
 public:
  static constexpr int kDefaultMaxIterations = 10000;

  // CreateAnd() / CreateOr() — at least one child. Allocates; any thread.
  static Result<std::unique_ptr<CombiningTrigger>> CreateAnd(
      std::vector<std::unique_ptr<Trigger>> children, Jitter jitter = {},
      int max_iterations = kDefaultMaxIterations);
  static Result<std::unique_ptr<CombiningTrigger>> CreateOr(
      std::vector<std::unique_ptr<Trigger>> children, Jitter jitter = {});

  TriggerKind kind() const override { return is_and_ ? TriggerKind::kAnd : TriggerKind::kOr; }
  // The first child's zone.
  const TimeZonePtr& zone() const override { return children_.front()->zone(); }
  std::string Describe() const override;
  std::string ToText() const override;
  std::unique_ptr<Trigger> Clone() const override;

  const std::vector<std::unique_ptr<Trigger>>& children() const { return children_; }

 protected:
  std::optional<Instant> FirstAtOrAfterImpl(Instant t, std::optional<Instant> known) const override;
  std::optional<Instant> NextUnjittered(std::optional<Instant> previous,
                                        Instant now) const override;

 private:
  CombiningTrigger(bool is_and, std::vector<std::unique_ptr<Trigger>> children, Jitter jitter,
                   int max_iterations)
      : Trigger(jitter, std::nullopt),
        is_and_(is_and),
        children_(std::move(children)),
        max_iterations_(max_iterations) {}

  bool is_and_;
  std::vector<std::unique_ptr<Trigger>> children_;  // invariant: not empty
  int max_iterations_;
};

}  // namespace aps

#endif  // APS_ENGINE_COMBINING_TRIGGER_H_
