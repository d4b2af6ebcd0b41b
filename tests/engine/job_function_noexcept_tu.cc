// A translation unit of executor_test built with -fno-exceptions -fno-rtti, as firmware code and
// the engine are: JobFunction must compile here (APS_TRY/APS_CATCH compile away), and its
// instantiations must not be merged with the same types' instantiations from the test's main
// translation unit, which is built with exceptions and must keep its catch.
#include "engine/job_function.h"

#if defined(__cpp_exceptions)
#error "this file must be compiled with -fno-exceptions"
#endif

namespace aps::test {

JobFunction BindWithoutExceptions(void (*fn)()) { return JobFunction::Bind(fn); }

RunOutcome InvokeWithoutExceptions(void (*fn)()) { return JobFunction::Bind(fn).Invoke(); }

}  // namespace aps::test
