// Task arguments (engine/value.h) and the task registry (engine/task.h): the binary encoding
// round-trips every type exactly and refuses every malformed blob with kDataLoss; tasks bind
// their arguments, report failures, and names are checked.
#include "engine/value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "engine/task.h"

namespace aps {
namespace {

TaskArgs Everything() {
  TaskArgs a;
  a.args = {Value(),
            Value(true),
            Value(false),
            Value(std::int64_t{0}),
            Value(std::numeric_limits<std::int64_t>::min()),
            Value(std::numeric_limits<std::int64_t>::max()),
            Value(-1),
            Value(0.1),
            Value(-0.0),
            Value(std::numeric_limits<double>::infinity()),
            Value(std::nan("")),
            Value(""),
            Value("héllo \xe2\x9c\x93"),
            Value::Bytes(std::string("\0\x01\xff", 3)),
            Value(Value::List{Value(1), Value(Value::List{})}),
            Value(Value::Map{})};
  a.kwargs = {{"nested", Value(Value::Map{{"k", Value(Value::List{Value("v")})}})}, {"", Value(3)}};
  return a;
}

TEST(Value, EveryTypeRoundTripsExactly) {
  const TaskArgs a = Everything();
  Result<std::string> blob = EncodeArgs(a);
  ASSERT_TRUE(blob.ok());
  Result<TaskArgs> back = DecodeArgs(*blob);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, a);  // doubles bit for bit: -0.0 stays negative, NaN stays NaN
  EXPECT_TRUE(std::signbit(back->args[8].as_double()));
  EXPECT_TRUE(std::isnan(back->args[10].as_double()));
  EXPECT_EQ(back->args[13].type(), Value::Type::kBytes);  // bytes are not strings
}

TEST(Value, EmptyBlobIsNoArguments) {
  Result<TaskArgs> a = DecodeArgs("");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->empty());
  Result<std::string> blob = EncodeArgs(TaskArgs{});
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->size(), 5u);  // magic, empty list (tag, 0), empty map (tag, 0)
}

TEST(Value, EveryTruncationIsDataLoss) {
  const std::string blob = *EncodeArgs(Everything());
  for (std::size_t n = 1; n < blob.size(); ++n) {
    Result<TaskArgs> r = DecodeArgs(blob.substr(0, n));
    ASSERT_FALSE(r.ok()) << "cut at " << n;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  }
}

TEST(Value, MalformedBlobsNameTheProblem) {
  using namespace std::string_view_literals;
  auto message = [](std::string_view blob) {
    Result<TaskArgs> r = DecodeArgs(blob);
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
    return std::string(r.status().message());
  };
  EXPECT_NE(message("\xA2\x07\x00\x08\x00"sv).find("format byte 0xa2"), std::string::npos);
  EXPECT_NE(message("\xA1\x07\x01\x09\x08\x00"sv).find("unknown value tag"), std::string::npos);
  EXPECT_NE(message("\xA1\x07\x00\x08\x00\x00"sv).find("trailing bytes"), std::string::npos);
  EXPECT_NE(message("\xA1\x08\x00\x08\x00"sv).find("not a list"), std::string::npos);
  EXPECT_NE(message("\xA1\x07\x00\x08\x02\x01k\x00\x01k\x00"sv).find("duplicate"),
            std::string::npos);
  EXPECT_NE(message("\xA1\x07\x01\x05\x7f"sv).find("past the end"), std::string::npos);
  // A huge count cannot make the reader allocate: it is bounded by the bytes left.
  EXPECT_NE(message("\xA1\x07\xff\xff\xff\xff\x0f"sv).find("past the end"), std::string::npos);
}

TEST(Value, NestingIsBounded) {
  Value v;
  for (int i = 0; i < kMaxValueDepth + 2; ++i) v = Value(Value::List{std::move(v)});
  TaskArgs a;
  a.args = {v};
  EXPECT_EQ(EncodeArgs(a).status().code(), StatusCode::kInvalidArgument);
  std::string deep = "\xA1";
  for (int i = 0; i < 200; ++i) deep += "\x07\x01";
  EXPECT_NE(std::string(DecodeArgs(deep).status().message()).find("nesting too deep"),
            std::string::npos);
}

TEST(Value, DuplicateKeysCannotBeEncoded) {
  TaskArgs a;
  a.kwargs = {{"k", Value(1)}, {"k", Value(2)}};
  EXPECT_EQ(EncodeArgs(a).status().code(), StatusCode::kInvalidArgument);
}

TEST(Value, DescribeArgsReadsLikePython) {
  TaskArgs a;
  a.args = {Value("it's"), Value(3), Value(true), Value(), Value::Bytes("\x01z")};
  a.kwargs = {{"to", Value(Value::List{Value(1.5)})}};
  EXPECT_EQ(DescribeArgs(a), "('it\\'s', 3, True, None, b'\\x01z', to=[1.5])");
  TaskArgs one;
  one.args = {Value(1)};
  EXPECT_EQ(DescribeArgs(one), "(1,)");
  EXPECT_EQ(DescribeArgs(a, 10), "('it\\'s...");
}

TEST(TaskRegistry, BindsArgumentsAndRunsTheTask) {
  TaskRegistry r;
  std::string seen;
  ASSERT_TRUE(r.Add("greet", [&](const TaskArgs& a) { seen = a.args.at(0).as_string(); }).ok());
  TaskArgs a;
  a.args = {Value("world")};
  JobFunction fn = r.Bind("greet", a);
  ASSERT_TRUE(fn);
  EXPECT_TRUE(fn.Invoke().ok);
  EXPECT_EQ(seen, "world");
  EXPECT_FALSE(r.Bind("missing", a));
  EXPECT_TRUE(r.Contains("greet"));
  EXPECT_EQ(r.names(), std::vector<std::string>{"greet"});
}

TEST(TaskRegistry, FailuresBecomeRunOutcomes) {
  TaskRegistry r;
  ASSERT_TRUE(r.Add("throws", [](const TaskArgs&) { throw std::runtime_error("boom"); }).ok());
  ASSERT_TRUE(r.Add("fails", [](const TaskArgs&) { return RunOutcome::Failure("said no"); }).ok());
  RunOutcome t = r.Bind("throws", {}).Invoke();
  EXPECT_FALSE(t.ok);
  EXPECT_STREQ(t.error, "boom");
  RunOutcome f = r.Bind("fails", {}).Invoke();
  EXPECT_FALSE(f.ok);
  EXPECT_STREQ(f.error, "said no");
}

TEST(TaskRegistry, NamesAreChecked) {
  TaskRegistry r;
  auto noop = [](const TaskArgs&) {};
  EXPECT_EQ(r.Add("", noop).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add(std::string(kMaxTaskNameBytes + 1, 'x'), noop).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add("tab\there", noop).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(r.Add("reports.nightly", noop).ok());
  Status dup = r.Add("reports.nightly", noop);
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_STREQ(dup.message(), "task \"reports.nightly\" is already registered");
}

}  // namespace
}  // namespace aps
