// ComposePlan: docker-compose.yml turned into local processes. It runs `docker-compose config`
// (which resolves variables, anchors and profiles) and reads every service's command,
// environment, exposed ports and volumes. Localize() then maps one service instance onto this
// machine, changing only what must differ outside Docker: service host names become 127.0.0.1,
// listening ports become free ports, 0.0.0.0 and tcp://* become 127.0.0.1, and volume paths
// become local folders (bind-mounted files that name services are copied with those names
// rewritten), and compose secrets are read from their files where they are. Everything else
// (program, arguments, variables) is used as written.
//
// Not thread-safe; used from one test.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace feedcrawl::testing {

struct ComposeService {
  std::string name;
  std::vector<std::string> command;
  std::map<std::string, std::string> environment;
  std::vector<std::string> expose;                         // container ports
  std::vector<std::string> profiles;                       // empty: always started
  std::vector<std::pair<std::string, std::string>> volumes;  // source (path or volume), target
  std::vector<std::string> secrets;                          // names of top-level secrets
  std::map<std::string, std::string> secret_targets;         // secret name -> path inside
};

// A service instance ready to start: program, arguments and environment.
struct LocalProcess {
  std::string program;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
};

class ComposePlan {
 public:
  // Runs `docker-compose -f compose_file [--profile p]... config` with `env` added to the
  // environment. NotFound when docker-compose (or python3 with yaml, its own dependency, used
  // to turn the YAML into JSON) is missing.
  static StatusOr<ComposePlan> Load(const std::string& compose_file,
                                    const std::vector<std::string>& profiles,
                                    const std::vector<std::pair<std::string, std::string>>& env,
                                    const std::string& scratch_dir);

  const std::map<std::string, ComposeService>& services() const { return services_; }
  // Top-level secrets: name -> file on this machine.
  const std::map<std::string, std::string>& secret_files() const { return secret_files_; }

  // Instance `n` of `service`: its exposed ports get free ports of their own when the service is
  // replicated (`replicated`), else the ports every other service reaches it on. Named volumes
  // become folders under scratch_dir, executables are looked up in bin_dir, then PATH.
  StatusOr<LocalProcess> Localize(const std::string& service, int n, bool replicated,
                                  const std::string& bin_dir);

  // The local address ("127.0.0.1:port") of service:port as other services reach it.
  StatusOr<std::string> Address(const std::string& service, const std::string& port);
  // `text` with every service:port replaced by its local address.
  std::string Rewrite(const std::string& text);

 private:
  StatusOr<int> SharedPort(const std::string& service, const std::string& port);
  std::map<std::string, ComposeService> services_;
  std::map<std::string, std::string> secret_files_;
  std::map<std::string, int> shared_ports_;  // "service:port" -> local port
  std::string scratch_dir_;
};

}  // namespace feedcrawl::testing
