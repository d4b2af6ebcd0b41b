// EXPECT_OK / ASSERT_OK for aps::Status in gtest, printing the status message on failure.
#ifndef APS_TESTS_STATUS_MACROS_H_
#define APS_TESTS_STATUS_MACROS_H_

#include <gtest/gtest.h>

#include "engine/status.h"

#define EXPECT_OK(expr)                                     \
  do {                                                      \
    const ::aps::Status aps_status_ = (expr);               \
    EXPECT_TRUE(aps_status_.ok()) << aps_status_.message(); \
  } while (0)
#define ASSERT_OK(expr)                                     \
  do {                                                      \
    const ::aps::Status aps_status_ = (expr);               \
    ASSERT_TRUE(aps_status_.ok()) << aps_status_.message(); \
  } while (0)

#endif  // APS_TESTS_STATUS_MACROS_H_
