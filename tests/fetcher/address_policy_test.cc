#include "fetcher/address_policy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace feedcrawl {
namespace {

TEST(AddressPolicyTest, NonPublicIpv4Ranges) {
  for (const char* ip :
       {"127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
        "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "198.18.0.1"}) {
    EXPECT_TRUE(IsNonPublicAddress(ip)) << ip;
  }
}

TEST(AddressPolicyTest, PublicIpv4) {
  for (const char* ip : {"93.184.216.34", "8.8.8.8", "172.32.0.1", "172.15.255.255", "100.128.0.1",
                         "1.1.1.1", "192.169.0.1"}) {
    EXPECT_FALSE(IsNonPublicAddress(ip)) << ip;
  }
}

TEST(AddressPolicyTest, NonPublicIpv6) {
  for (const char* ip : {"::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1",
                         "::ffff:127.0.0.1", "::ffff:10.1.2.3", "64:ff9b::a9fe:a9fe"}) {
    EXPECT_TRUE(IsNonPublicAddress(ip)) << ip;
  }
}

TEST(AddressPolicyTest, PublicIpv6) {
  for (const char* ip :
       {"2606:2800:220:1:248:1893:25c8:1946", "2001:4860:4860::8888", "::ffff:8.8.8.8"}) {
    EXPECT_FALSE(IsNonPublicAddress(ip)) << ip;
  }
}

TEST(AddressPolicyTest, NotAnAddress) {
  EXPECT_FALSE(IsNonPublicAddress("example.com"));
  EXPECT_FALSE(IsNonPublicAddress(""));
}

TEST(AddressPolicyTest, SockaddrFormsMatchText) {
  sockaddr_in v4 = {};
  v4.sin_family = AF_INET;
  ASSERT_EQ(inet_pton(AF_INET, "127.0.0.1", &v4.sin_addr), 1);
  EXPECT_TRUE(IsNonPublicAddress(reinterpret_cast<sockaddr*>(&v4)));
  EXPECT_EQ(AddressToString(reinterpret_cast<sockaddr*>(&v4)), "127.0.0.1");

  sockaddr_in6 v6 = {};
  v6.sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, "2001:4860:4860::8888", &v6.sin6_addr), 1);
  EXPECT_FALSE(IsNonPublicAddress(reinterpret_cast<sockaddr*>(&v6)));
  EXPECT_EQ(AddressToString(reinterpret_cast<sockaddr*>(&v6)), "2001:4860:4860::8888");

  sockaddr unknown = {};
  unknown.sa_family = AF_UNIX;
  EXPECT_TRUE(IsNonPublicAddress(&unknown));
}

}  // namespace
}  // namespace feedcrawl
