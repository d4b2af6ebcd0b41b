// No file descriptors on bare metal: host-driven schedulers poll NextDeadline() instead.
#include "platform/wake_fd.h"

namespace aps::platform {

std::unique_ptr<WakeFd> WakeFd::Create() { return nullptr; }

}  // namespace aps::platform
