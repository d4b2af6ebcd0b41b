// `aps next --batch`: one reply per line, in order; bad lines get an error and the batch goes on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tools/aps/next_command.h"

namespace aps::cli {
namespace {

using ::testing::HasSubstr;

std::vector<nlohmann::json> Batch(const std::string& input) {
  std::istringstream in(input);
  std::ostringstream out;
  EXPECT_EQ(RunNextBatch(in, out), 0);
  std::vector<nlohmann::json> replies;
  std::istringstream lines(out.str());
  std::string line;
  while (std::getline(lines, line)) replies.push_back(nlohmann::json::parse(line));
  return replies;
}

std::string Err(const nlohmann::json& reply) { return reply.value("error", std::string()); }

TEST(NextBatch, AnswersEachLineInOrderAndGoesOnAfterBadLines) {
  const std::string good =
      R"({"id":7,"trigger":{"type":"crontab","expr":"0 9 * * 1-5","timezone":"UTC"},)"
      R"("start":"2024-01-05T10:00:00+00:00","max_fire_times":2})";
  const auto r = Batch(good + "\n{not json\n\n[1,2]\n" + good + "\n");
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0]["id"], 7);
  EXPECT_EQ(r[0]["fire_times"],
            nlohmann::json::array({"2024-01-08T09:00:00+00:00", "2024-01-09T09:00:00+00:00"}));
  EXPECT_EQ(r[1]["error"], "malformed JSON");
  EXPECT_EQ(r[2]["error"], "empty line");
  EXPECT_EQ(r[3]["error"], "a request must be a JSON object");
  EXPECT_EQ(r[4], r[0]);
}

TEST(NextBatch, BadRequestsGetErrorsThatNameTheProblemAndEchoTheId) {
  const auto r = Batch(
      R"({"id":"a","start":"2024-01-01T00:00:00Z"})"
      "\n"
      R"({"id":"b","trigger":{"type":"cron","hour":"9"}})"
      "\n"
      R"({"id":"c","trigger":{"type":"cron","hour":"9"},"start":"yesterday"})"
      "\n"
      R"({"id":"d","trigger":{"type":"cron","hour":"25"},"start":"2024-01-01T00:00:00Z"})"
      "\n"
      R"({"id":"e","trigger":{"type":"nope"},"start":"2024-01-01T00:00:00Z"})"
      "\n"
      R"({"id":"f","trigger":{"type":"cron","hour":"9"},"start":"2024-01-01T00:00:00Z","max_fire_times":-1})"
      "\n"
      R"({"id":"g","trigger":{"type":"cron","timezone":"Mars/Base"},"start":"2024-01-01T00:00:00Z"})"
      "\n"
      R"({"id":"h","trigger":{"type":"cron","hour":[9]},"start":"2024-01-01T00:00:00Z"})"
      "\n"
      R"({"id":"i","trigger":{"type":"and","triggers":{}},"start":"2024-01-01T00:00:00Z"})"
      "\n"
      R"({"id":"j","trigger":{"type":"interval","seconds":0},"start":"2024-01-01T00:00:00Z"})"
      "\n");
  ASSERT_EQ(r.size(), 10u);
  const char* ids = "abcdefghij";
  for (std::size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i]["id"], std::string(1, ids[i]));
    EXPECT_FALSE(r[i].contains("fire_times")) << r[i];
  }
  EXPECT_THAT(Err(r[0]), HasSubstr("missing \"trigger\""));
  EXPECT_THAT(Err(r[1]), HasSubstr("missing \"start\""));
  EXPECT_THAT(Err(r[2]), HasSubstr("Invalid date string \"yesterday\""));
  EXPECT_THAT(Err(r[3]), HasSubstr("the last value (25) is higher"));
  EXPECT_THAT(Err(r[4]), HasSubstr("unknown trigger type \"nope\""));
  EXPECT_THAT(Err(r[5]), HasSubstr("max_fire_times"));
  EXPECT_THAT(Err(r[6]), HasSubstr("unknown time zone \"Mars/Base\""));
  EXPECT_THAT(Err(r[7]), HasSubstr("must be a string or a number"));
  EXPECT_THAT(Err(r[8]), HasSubstr("\"triggers\" must be an array"));
  EXPECT_THAT(Err(r[9]), HasSubstr("must be positive"));
}

TEST(NextBatch, DateWithoutTimezonePrintsInItsOwnOffset) {
  const auto r = Batch(
      R"({"id":1,"trigger":{"type":"date","run_date":"2020-09-23T06:49:16+12:45"},"start":"2020-01-01T00:00:00Z","max_fire_times":3})"
      "\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["fire_times"], nlohmann::json::array({"2020-09-23T06:49:16+12:45"}));
}

}  // namespace
}  // namespace aps::cli
