// The log hook's level filter: what reaches the handler, and that a dropped message is never
// formatted.
#include "engine/log.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace aps {
namespace {

std::vector<std::string> g_seen;

void Capture(LogLevel level, const char* message) {
  static const char* const kNames[] = {"debug", "info", "warning", "error"};
  g_seen.push_back(std::string(kNames[static_cast<int>(level)]) + ": " + message);
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_seen.clear();
    SetLogHandler(&Capture);
  }
  void TearDown() override {
    SetLogHandler(nullptr);
    SetLogLevel(LogLevel::kInfo);
  }
};

TEST_F(LogTest, DebugMessagesAreDroppedByDefault) {
  Log(LogLevel::kDebug, "queue %d is full", 1);
  Log(LogLevel::kInfo, "started %s", "x");
  Log(LogLevel::kWarning, "slow");
  Log(LogLevel::kError, "failed");
  EXPECT_EQ(g_seen,
            (std::vector<std::string>{"info: started x", "warning: slow", "error: failed"}));
  EXPECT_FALSE(LogLevelEnabled(LogLevel::kDebug));
  EXPECT_TRUE(LogLevelEnabled(LogLevel::kInfo));
}

TEST_F(LogTest, TheLevelChoosesTheLeastSevereMessagePassedOn) {
  SetLogLevel(LogLevel::kDebug);
  Log(LogLevel::kDebug, "queue %d is full", 1);
  SetLogLevel(LogLevel::kError);
  Log(LogLevel::kInfo, "started");
  Log(LogLevel::kWarning, "slow");
  Log(LogLevel::kError, "failed");
  EXPECT_EQ(g_seen, (std::vector<std::string>{"debug: queue 1 is full", "error: failed"}));
  EXPECT_TRUE(LogLevelEnabled(LogLevel::kError));
  EXPECT_FALSE(LogLevelEnabled(LogLevel::kWarning));
}

TEST_F(LogTest, ADroppedMessageIsNotFormatted) {
  // An argument that vsnprintf would crash on (%s reads address 16): Log() must return first.
  const char* unreadable = reinterpret_cast<const char*>(std::uintptr_t{16});
  Log(LogLevel::kDebug, "%s", unreadable);
  EXPECT_TRUE(g_seen.empty());
}

}  // namespace
}  // namespace aps
