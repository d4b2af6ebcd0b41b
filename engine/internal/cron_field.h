// aps/engine/internal/cron_field.h — parsed cron fields (not a public header).
#ifndef APS_ENGINE_INTERNAL_CRON_FIELD_H_
#define APS_ENGINE_INTERNAL_CRON_FIELD_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"

namespace aps::engine_internal {

enum CronFieldIndex : int {
  kYear = 0,
  kMonth,
  kDay,
  kWeek,
  kDayOfWeek,
  kHour,
  kMinute,
  kSecond,
  kNumCronFields
};

// APScheduler's field names, in significance order.
extern const char* const kCronFieldNames[kNumCronFields];
extern const int kCronFieldMin[kNumCronFields];
extern const int kCronFieldMax[kNumCronFields];

// Which grammar a field is written in.
enum class CronDialect : std::uint8_t {
  kApscheduler,  // CronTrigger(...): day_of_week 0 = Monday .. 6 = Sunday
  kCrontab,      // from_crontab(): day_of_week 0/7 = Sunday, 1 = Monday
};

// One comma-separated item of a field.
struct CronExpr {
  enum Kind : std::uint8_t {
    kAll,          // * or */step
    kRange,        // a, a-b, a-b/step, a/step (last = -1: up to the field maximum)
    kLastDay,      // last           (day)
    kNthWeekday,   // 1st..5th <wd>  (day)
    kLastWeekday,  // last <wd>      (day)
    kName,         // month or weekday names: jan, jan-mar, mon-fri
  };
  Kind kind = kAll;
  int first = 0;
  int last = 0;     // -1 = open-ended (a/step)
  int step = 0;     // 0 = none
  int nth = 0;      // kNthWeekday: 1..5
  int weekday = 0;  // kNth/kLastWeekday: 0 = Monday
};

// A parsed field. Invariant: for every field but year and day, `mask` has bit v set iff value v
// matches some expression (day_of_week bits use 0 = Monday in both dialects). For day, `mask`
// holds the value-only expressions (*, ranges) over 1..31, and `has_dynamic_day` says whether a
// month-dependent expression (last, Nth weekday) is present in `exprs`.
struct CronField {
  CronFieldIndex index = kSecond;
  bool is_default = true;        // not given by the user (str() omits it)
  bool is_star = true;           // matches every value (fast paths)
  bool starts_with_star = true;  // the text starts with '*' (crontab's Vixie day/weekday rule)
  bool has_dynamic_day = false;
  std::uint64_t mask = 0;
  std::vector<CronExpr> exprs;
  std::string text;  // normalized rendering (APScheduler's str() of the field)
};

// ParseCronField()
//
// Parses one field's expression (a comma-separated list) in `dialect`. Errors carry
// APScheduler's messages (spec A3.4), e.g. `Unrecognized expression "xyz" for field "minute"`.
// Allocates; any thread.
Result<CronField> ParseCronField(CronFieldIndex index, std::string_view text, CronDialect dialect);

// The default field (spec A3.2): "*" or the field minimum.
CronField DefaultCronField(CronFieldIndex index, bool star);

// Bit mask over days 1..31 of (year, month) matching the day field's expressions (ignores
// day_of_week/week). Never allocates.
std::uint32_t DayFieldMask(const CronField& day, std::int64_t year, int month);

// Smallest year >= y matching the year field, or -1 if none <= 9999. Never allocates.
std::int64_t NextYear(const CronField& year, std::int64_t y);

}  // namespace aps::engine_internal

#endif  // APS_ENGINE_INTERNAL_CRON_FIELD_H_
