#include "common/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace feedcrawl {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, FactoriesSetCodeAndMessage) {
  EXPECT_EQ(Status::InvalidArgument("a").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Status::NotFound("a").code(), StatusCode::kNotFound);
  EXPECT_EQ(Status::AlreadyExists("a").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Status::Unavailable("a").code(), StatusCode::kUnavailable);
  EXPECT_EQ(Status::WouldBlock().code(), StatusCode::kWouldBlock);
  EXPECT_EQ(Status::DataLoss("a").code(), StatusCode::kDataLoss);
  EXPECT_EQ(Status::ResourceExhausted("a").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(Status::Cancelled("a").code(), StatusCode::kCancelled);
  EXPECT_EQ(Status::Internal("a").code(), StatusCode::kInternal);

  Status s = Status::NotFound("feed 7");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_FALSE(s.IsUnavailable());
  EXPECT_EQ(s.message(), "feed 7");
  EXPECT_TRUE(Status::Unavailable("x").IsUnavailable());
  EXPECT_TRUE(Status::WouldBlock().IsWouldBlock());
}

TEST(StatusTest, ToStringNamesTheCode) {
  EXPECT_EQ(Status::NotFound("feed 7").ToString(), "NOT_FOUND: feed 7");
  EXPECT_EQ(Status::InvalidArgument("bad").ToString(), "INVALID_ARGUMENT: bad");
  EXPECT_EQ(Status::Unavailable("down").ToString(), "UNAVAILABLE: down");
  EXPECT_EQ(Status::DataLoss("cut").ToString(), "DATA_LOSS: cut");
}

TEST(StatusOrTest, HoldsAValue) {
  StatusOr<std::string> v = std::string("hello");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v.status().ok());
  EXPECT_EQ(*v, "hello");
  EXPECT_EQ(v->size(), 5u);
  v.value() += "!";
  EXPECT_EQ(v.value(), "hello!");
}

TEST(StatusOrTest, HoldsAnError) {
  StatusOr<int> v = Status::Unavailable("redis down");
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(v.status().message(), "redis down");
}

TEST(StatusOrTest, BuiltFromAnOkStatusItHoldsAnInternalError) {
  // An OK status carries no value: the StatusOr must not pass for one.
  StatusOr<std::string> v = Status::Ok();
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInternal);
  EXPECT_EQ(v.status().message(), "StatusOr built from an OK status");
}

TEST(StatusOrDeathTest, AskingForTheValueOfAnErrorEndsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  StatusOr<std::string> v = Status::NotFound("feed 7");
  EXPECT_DEATH((void)v.value(), "the value of an error was asked for: NOT_FOUND: feed 7");
  EXPECT_DEATH((void)*v, "NOT_FOUND: feed 7");
  EXPECT_DEATH((void)v->size(), "NOT_FOUND: feed 7");
  EXPECT_DEATH((void)std::move(v).value(), "NOT_FOUND: feed 7");
}

TEST(StatusOrTest, MovesMoveOnlyValues) {
  StatusOr<std::unique_ptr<int>> v = std::make_unique<int>(42);
  ASSERT_TRUE(v.ok());
  std::unique_ptr<int> taken = std::move(v).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 42);
}

}  // namespace
}  // namespace feedcrawl
