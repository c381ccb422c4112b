// GoogleTest assertions for Status and StatusOr<T>: on failure they print the expression and the
// Status text instead of a bare "false". Header-only; usable from any test thread.
//
//   ASSERT_OK(store->SaveFeed(feed));
//   EXPECT_OK(client->Command({"PING"}));
//   ASSERT_OK_AND_ASSIGN(auto store, Store::Open(redis.Url()));
#pragma once

#include <gtest/gtest.h>

#include <utility>

#include "common/status.h"

namespace feedcrawl::testing {

inline const Status& ToStatus(const Status& status) { return status; }
template <typename T>
const Status& ToStatus(const StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace feedcrawl::testing

#define FC_STATUS_CONCAT_INNER(a, b) a##b
#define FC_STATUS_CONCAT(a, b) FC_STATUS_CONCAT_INNER(a, b)

#define EXPECT_OK(expr)                                                          \
  do {                                                                           \
    const ::feedcrawl::Status fc_status_ = ::feedcrawl::testing::ToStatus(expr); \
    EXPECT_TRUE(fc_status_.ok()) << #expr << ": " << fc_status_.ToString();      \
  } while (0)

#define ASSERT_OK(expr)                                                          \
  do {                                                                           \
    const ::feedcrawl::Status fc_status_ = ::feedcrawl::testing::ToStatus(expr); \
    ASSERT_TRUE(fc_status_.ok()) << #expr << ": " << fc_status_.ToString();      \
  } while (0)

#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  FC_ASSERT_OK_AND_ASSIGN_IMPL(FC_STATUS_CONCAT(fc_status_or_, __LINE__), lhs, expr)

#define FC_ASSERT_OK_AND_ASSIGN_IMPL(var, lhs, expr)                 \
  auto var = (expr);                                                 \
  ASSERT_TRUE(var.ok()) << #expr << ": " << var.status().ToString(); \
  lhs = std::move(var).value()
