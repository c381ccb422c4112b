// Address policy for outgoing fetches: which destination addresses count as non-public
// (loopback, private, link-local, cloud metadata, multicast, reserved) and are refused unless
// private networks are allowed. This is the SSRF guard's rule; the HTTP client applies it to every
// socket it opens, so each redirect hop and each resolved address is checked. Pure functions;
// thread-safe.
#pragma once

#include <string>
#include <string_view>

struct sockaddr;

namespace feedcrawl {

// True when `address` (AF_INET or AF_INET6) is not a public unicast destination. Unknown
// families count as non-public: a guard that fails open is not a guard.
bool IsNonPublicAddress(const struct sockaddr* address);

// The same rule for a textual IPv4 or IPv6 address; false when `ip` is not an IP literal.
bool IsNonPublicAddress(std::string_view ip);

// Numeric form of `address` ("127.0.0.1", "::1"); "unknown" for other families.
std::string AddressToString(const struct sockaddr* address);

}  // namespace feedcrawl
