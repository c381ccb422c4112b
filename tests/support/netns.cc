#include "tests/support/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

namespace feedcrawl::testing {

namespace {

constexpr char kNamePrefix[] = "fcnet-";
// Where `ip netns add` mounts its namespaces.
constexpr char kNetnsDir[] = "/var/run/netns";
constexpr char kBridge[] = "br0";
constexpr char kHostInterface[] = "eth0";
constexpr int kCommandTimeoutMs = 30'000;
constexpr size_t kMaxHostName = 16;
// Host addresses start here, leaving low addresses free for anything a test adds by hand.
constexpr int kFirstHostOctet = 10;
constexpr int kMaxHosts = 200;

bool ValidHostName(const std::string& name) {
  if (name.empty() || name.size() > kMaxHostName) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// The pid in "fcnet-<pid>-...", or 0 when `name` is not one of ours.
pid_t OwnerPid(const std::string& name) {
  const std::string prefix = kNamePrefix;
  if (name.rfind(prefix, 0) != 0) return 0;
  const size_t dash = name.find('-', prefix.size());
  if (dash == std::string::npos || dash == prefix.size()) return 0;
  pid_t pid = 0;
  for (size_t i = prefix.size(); i < dash; ++i) {
    if (name[i] < '0' || name[i] > '9') return 0;
    pid = pid * 10 + (name[i] - '0');
  }
  return pid;
}

bool ProcessExists(pid_t pid) { return kill(pid, 0) == 0 || errno != ESRCH; }

Status RunIp(const std::vector<std::string>& args) {
  SubprocessOptions options;
  options.capture_stdout = true;
  options.merge_stderr = true;
  StatusOr<std::unique_ptr<Subprocess>> ip = Subprocess::Start("ip", args, options);
  if (!ip.ok()) return ip.status();
  StatusOr<std::string> output = (*ip)->ReadAll(kCommandTimeoutMs);
  StatusOr<ExitStatus> exit = (*ip)->Wait(kCommandTimeoutMs);
  std::string command = "ip";
  for (const std::string& arg : args) command += " " + arg;
  if (!exit.ok()) return Status::Internal(command + ": " + exit.status().ToString());
  if (!exit->Success()) {
    return Status::Internal(command + " failed (" + exit->ToString() +
                            "): " + (output.ok() ? *output : output.status().ToString()));
  }
  return Status::Ok();
}

// A /24 in 10/8 that differs between runs and between topologies of one run. Topologies never
// see each other, so this only keeps addresses in logs from looking alike across runs.
std::string SubnetBase(int serial) {
  const uint32_t x = static_cast<uint32_t>(getpid()) * 31u + static_cast<uint32_t>(serial);
  const uint32_t a = 64 + (x >> 8) % 128;
  const uint32_t b = x & 0xff;
  return "10." + std::to_string(a) + "." + std::to_string(b) + ".";
}

Status Probe() {
  if (geteuid() != 0) {
    return Status::Unavailable("network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN)");
  }
  StatusOr<std::string> ip = FindExecutable("ip");
  if (!ip.ok()) {
    return Status::Unavailable("the `ip` command (iproute2) is missing: " + ip.status().message());
  }
  const std::string ns = std::string(kNamePrefix) + std::to_string(getpid()) + "-probe";
  Status s = RunIp({"netns", "add", ns});
  if (!s.ok()) return Status::Unavailable("cannot create a network namespace: " + s.message());
  s = RunIp({"-n", ns, "link", "add", kBridge, "type", "bridge"});
  if (s.ok()) s = RunIp({"-n", ns, "link", "add", "p0", "type", "veth", "peer", "name", "p1"});
  if (s.ok()) s = RunIp({"-n", ns, "link", "set", "p0", "master", kBridge});
  Status removed = RunIp({"netns", "del", ns});
  if (!s.ok()) return Status::Unavailable("cannot build veth pairs and bridges: " + s.message());
  if (!removed.ok()) {
    return Status::Unavailable("cannot delete a network namespace: " + removed.message());
  }
  return Status::Ok();
}

}  // namespace

Status NetTopology::Available() {
  static const Status result = Probe();
  return result;
}

void NetTopology::RemoveStale() {
  std::error_code error;
  std::filesystem::directory_iterator it(kNetnsDir, error);
  if (error) return;  // no namespaces at all
  std::vector<std::string> stale;
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    const pid_t owner = OwnerPid(name);
    if (owner != 0 && owner != getpid() && !ProcessExists(owner)) stale.push_back(name);
  }
  // Best effort: a namespace another cleaner just removed is not an error worth reporting.
  for (const std::string& name : stale) (void)RunIp({"netns", "del", name});
}

Status NetTopology::Ip(const std::vector<std::string>& args) { return RunIp(args); }

NetTopology::NetTopology(std::string prefix, std::string subnet_base)
    : prefix_(std::move(prefix)),
      subnet_base_(std::move(subnet_base)),
      subnet_(subnet_base_ + "0/24"),
      hub_(prefix_ + "hub") {}

StatusOr<std::unique_ptr<NetTopology>> NetTopology::Create() {
  Status available = Available();
  if (!available.ok()) return available;
  RemoveStale();
  static std::atomic<int> serial{0};
  const int n = serial++;
  std::unique_ptr<NetTopology> topology(new NetTopology(
      std::string(kNamePrefix) + std::to_string(getpid()) + "-" + std::to_string(n) + "-",
      SubnetBase(n)));
  Status s = Ip({"netns", "add", topology->hub_});
  if (!s.ok()) return s;
  topology->hub_created_ = true;
  s = Ip({"-n", topology->hub_, "link", "add", kBridge, "type", "bridge"});
  if (s.ok()) s = Ip({"-n", topology->hub_, "link", "set", kBridge, "up"});
  if (!s.ok()) return s;
  return topology;
}

NetTopology::~NetTopology() {
  // Deleting a namespace removes its end of each veth pair, and with it the other end. A
  // namespace that still holds a process lives on, unnamed, until that process exits.
  for (const auto& [name, host] : hosts_) (void)Ip({"netns", "del", host.ns});
  if (hub_created_) (void)Ip({"netns", "del", hub_});
}

StatusOr<std::string> NetTopology::AddHost(const std::string& name) {
  if (!ValidHostName(name)) {
    return Status::InvalidArgument("host name must be 1-16 lowercase letters or digits: " + name);
  }
  if (hosts_.count(name) != 0) return Status::AlreadyExists("host " + name + " exists");
  if (hosts_.size() >= kMaxHosts) return Status::ResourceExhausted("too many hosts");
  const std::string veth = "v" + std::to_string(hosts_.size());
  Host host{prefix_ + name,
            subnet_base_ + std::to_string(kFirstHostOctet + static_cast<int>(hosts_.size()))};
  Status s = Ip({"netns", "add", host.ns});
  if (!s.ok()) return s;
  // Registered at once, so the destructor removes it even if the wiring below fails.
  hosts_[name] = host;
  const std::vector<std::vector<std::string>> commands = {
      {"-n", hub_, "link", "add", veth, "type", "veth", "peer", "name", kHostInterface, "netns",
       host.ns},
      {"-n", hub_, "link", "set", veth, "master", kBridge},
      {"-n", hub_, "link", "set", veth, "up"},
      {"-n", host.ns, "link", "set", "lo", "up"},
      {"-n", host.ns, "addr", "add", host.address + "/24", "dev", kHostInterface},
      {"-n", host.ns, "link", "set", kHostInterface, "up"},
  };
  for (const auto& command : commands) {
    s = Ip(command);
    if (!s.ok()) return s;
  }
  for (const std::string& extra : extra_addresses_) {
    s = Ip({"-n", host.ns, "route", "add", extra + "/32", "dev", kHostInterface});
    if (!s.ok()) return s;
  }
  return host.address;
}

Status NetTopology::AddAddress(const std::string& host, const std::string& ip) {
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return Status::NotFound("no host " + host);
  Status s = Ip({"-n", it->second.ns, "addr", "add", ip + "/32", "dev", kHostInterface});
  if (!s.ok()) return s;
  // Without a route the others would look for a gateway they do not have. On-link, they ask for
  // the address by ARP over the bridge, and the owner answers for any of its addresses.
  for (const auto& [name, other] : hosts_) {
    if (name == host) continue;
    s = Ip({"-n", other.ns, "route", "add", ip + "/32", "dev", kHostInterface});
    if (!s.ok()) return s;
  }
  extra_addresses_.push_back(ip);
  return Status::Ok();
}

std::string NetTopology::Address(const std::string& host) const {
  auto it = hosts_.find(host);
  return it == hosts_.end() ? std::string() : it->second.address;
}

std::string NetTopology::Namespace(const std::string& host) const {
  auto it = hosts_.find(host);
  return it == hosts_.end() ? std::string() : it->second.ns;
}

std::vector<std::string> NetTopology::Exec(const std::string& host,
                                           const std::vector<std::string>& argv) const {
  std::vector<std::string> out = {"ip", "netns", "exec", Namespace(host)};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

StatusOr<std::unique_ptr<Subprocess>> NetTopology::Start(const std::string& host,
                                                         const std::string& program,
                                                         const std::vector<std::string>& args,
                                                         const SubprocessOptions& options) const {
  if (hosts_.count(host) == 0) return Status::NotFound("no host " + host);
  std::vector<std::string> argv = {program};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> command = Exec(host, argv);
  return Subprocess::Start(command[0], std::vector<std::string>(command.begin() + 1, command.end()),
                           options);
}

Status NetTopology::RunIn(const std::string& host, const std::function<void()>& fn) const {
  const std::string ns = Namespace(host);
  if (ns.empty()) return Status::NotFound("no host " + host);
  const std::string path = std::string(kNetnsDir) + "/" + ns;
  Status entered;
  // setns(CLONE_NEWNET) changes only the calling thread, so the test's own thread stays put.
  std::thread worker([&] {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      entered = Status::NotFound("cannot open " + path + ": " + std::strerror(errno));
      return;
    }
    const int rc = setns(fd, CLONE_NEWNET);
    const int error = errno;
    close(fd);
    if (rc != 0) {
      entered = Status::Internal("setns into " + ns + ": " + std::strerror(error));
      return;
    }
    fn();
  });
  worker.join();
  return entered;
}

}  // namespace feedcrawl::testing
