#include "fetcher/address_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>

namespace feedcrawl {

namespace {

bool IsNonPublicV4(uint32_t host_order) {
  struct Range {
    uint32_t network;
    int prefix;
  };
  // RFC 6890 special-purpose ranges that a feed server has no business living in.
  static constexpr Range kRanges[] = {
      {0x00000000, 8},   // "this" network
      {0x0A000000, 8},   // private
      {0x64400000, 10},  // carrier-grade NAT
      {0x7F000000, 8},   // loopback
      {0xA9FE0000, 16},  // link-local, including the 169.254.169.254 metadata service
      {0xAC100000, 12},  // private
      {0xC0000000, 24},  // IETF protocol assignments
      {0xC0A80000, 16},  // private
      {0xC6120000, 15},  // benchmarking
      {0xE0000000, 4},   // multicast
      {0xF0000000, 4},   // reserved and broadcast
  };
  for (const Range& range : kRanges) {
    const uint32_t mask = 0xFFFFFFFFu << (32 - range.prefix);
    if ((host_order & mask) == range.network) return true;
  }
  return false;
}

uint32_t V4FromBytes(const uint8_t* bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         uint32_t{bytes[3]};
}

bool IsNonPublicV6(const struct in6_addr& address) {
  const uint8_t* b = address.s6_addr;
  static constexpr uint8_t kZero[16] = {};
  // :: and ::1
  if (std::memcmp(b, kZero, 15) == 0 && (b[15] == 0 || b[15] == 1)) return true;
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms reach IPv4 hosts: judge those.
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::memcmp(b, kMappedPrefix, 12) == 0) return IsNonPublicV4(V4FromBytes(b + 12));
  if (std::memcmp(b, kZero, 12) == 0) return IsNonPublicV4(V4FromBytes(b + 12));
  // NAT64 well-known prefix 64:ff9b::/96 also embeds an IPv4 destination.
  static constexpr uint8_t kNat64Prefix[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, kNat64Prefix, 12) == 0) return IsNonPublicV4(V4FromBytes(b + 12));
  if ((b[0] & 0xFE) == 0xFC) return true;                  // unique local fc00::/7
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return true;  // link-local fe80::/10
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0) return true;  // deprecated site-local fec0::/10
  if (b[0] == 0xFF) return true;                           // multicast
  return false;
}

}  // namespace

bool IsNonPublicAddress(const struct sockaddr* address) {
  if (address == nullptr) return true;
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const struct sockaddr_in*>(address);
    return IsNonPublicV4(ntohl(v4->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    return IsNonPublicV6(reinterpret_cast<const struct sockaddr_in6*>(address)->sin6_addr);
  }
  return true;
}

bool IsNonPublicAddress(std::string_view ip) {
  const std::string text(ip);
  struct in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return IsNonPublicV4(ntohl(v4.s_addr));
  struct in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return IsNonPublicV6(v6);
  return false;
}

std::string AddressToString(const struct sockaddr* address) {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (address != nullptr && address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const struct sockaddr_in*>(address);
    if (inet_ntop(AF_INET, &v4->sin_addr, buffer, sizeof(buffer)) != nullptr) return buffer;
  } else if (address != nullptr && address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const struct sockaddr_in6*>(address);
    if (inet_ntop(AF_INET6, &v6->sin6_addr, buffer, sizeof(buffer)) != nullptr) return buffer;
  }
  return "unknown";
}

}  // namespace feedcrawl
