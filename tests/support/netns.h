// NetTopology: a private network of Linux network namespaces for tests that must cross hosts.
// Every host is a namespace with loopback up and one interface, eth0, whose veth peer sits in a
// bridge inside a hub namespace of its own; all hosts share one private /24 chosen per topology.
// Nothing is created in the machine's own namespace: its interfaces, routes and firewall are never
// touched, and a process in a host namespace can reach only the other hosts. Programs run inside
// a host through `ip netns exec` (Start, Exec); test code can open sockets inside a host with
// RunIn. The destructor deletes every namespace. Names are "fcnet-<pid>-<n>-<name>", so leftovers
// of a killed earlier run are recognised by their dead pid and removed when the next topology is
// made. Creating namespaces needs root; Available() says whether it works here and why not.
//
// Not thread-safe: build and use a topology from the test's main thread (RunIn's function runs on
// a thread of its own).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "tests/support/subprocess.h"

namespace feedcrawl::testing {

class NetTopology {
 public:
  // Ok when namespaces, veth pairs and bridges can be created here; otherwise Unavailable with the
  // reason (not root, no `ip`, a kernel without veth...), for GTEST_SKIP. Probed once per process.
  static Status Available();

  // Deletes namespaces left by earlier runs whose process is gone. Create() calls it.
  static void RemoveStale();

  // Creates the hub namespace and its bridge. Fails with the `ip` command's own words.
  static StatusOr<std::unique_ptr<NetTopology>> Create();
  ~NetTopology();
  NetTopology(const NetTopology&) = delete;
  NetTopology& operator=(const NetTopology&) = delete;

  // Adds a host named `name` (lowercase letters and digits, at most 16) and returns its address
  // in the topology's /24. Routes to every extra address given so far are added to it.
  StatusOr<std::string> AddHost(const std::string& name);

  // Gives `host` one more IPv4 address, `ip` (a /32 on its eth0), and routes it on-link from every
  // other host, present and future. For addresses outside the private /24, e.g. a documentation
  // range that stands in for a public server.
  Status AddAddress(const std::string& host, const std::string& ip);

  // The host's address in the /24; empty for an unknown host.
  std::string Address(const std::string& host) const;
  // The host's namespace name, as `ip netns` knows it; empty for an unknown host.
  std::string Namespace(const std::string& host) const;
  // "10.a.b.0/24".
  const std::string& Subnet() const { return subnet_; }

  // `argv` run inside `host`: {"ip", "netns", "exec", <namespace>, argv...}.
  std::vector<std::string> Exec(const std::string& host,
                                const std::vector<std::string>& argv) const;

  // Starts `program` inside `host` as a Subprocess. The Subprocess's pid is the program's own
  // (`ip netns exec` replaces itself with it), so signals reach the program.
  StatusOr<std::unique_ptr<Subprocess>> Start(const std::string& host, const std::string& program,
                                              const std::vector<std::string>& args,
                                              const SubprocessOptions& options = {}) const;

  // Runs `fn` on a new thread that has entered `host`'s network namespace, and waits for it.
  // Sockets made by `fn` belong to that host, and keep doing so when used from other threads
  // later. The Status is about entering the namespace; `fn` reports its own results.
  Status RunIn(const std::string& host, const std::function<void()>& fn) const;

 private:
  struct Host {
    std::string ns;
    std::string address;
  };

  NetTopology(std::string prefix, std::string subnet_base);
  // Runs `ip args...`; Internal with the command and its output when it fails.
  static Status Ip(const std::vector<std::string>& args);

  const std::string prefix_;       // "fcnet-<pid>-<n>-"
  const std::string subnet_base_;  // "10.a.b."
  const std::string subnet_;
  const std::string hub_;
  bool hub_created_ = false;
  std::map<std::string, Host> hosts_;
  std::vector<std::string> extra_addresses_;
};

}  // namespace feedcrawl::testing
