#include "tests/compose/compose_plan.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace feedcrawl::testing {
namespace {

constexpr char kYamlToJson[] =
    "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)";

// Runs a program to completion; its stderr (the reason, when it fails) goes to `stderr_path`.
StatusOr<std::string> RunForOutput(const std::string& program,
                                   const std::vector<std::string>& args,
                                   const std::vector<std::pair<std::string, std::string>>& env,
                                   const std::string& stderr_path) {
  auto path = FindExecutable(program);
  if (!path.ok()) return path.status();
  SubprocessOptions options;
  options.capture_stdout = true;
  options.stderr_path = stderr_path;
  options.env = env;
  auto process = Subprocess::Start(*path, args, options);
  if (!process.ok()) return process.status();
  auto output = (*process)->ReadAll(60'000);
  auto exit = (*process)->Wait(10'000);
  if (!output.ok()) return output.status();
  if (!exit.ok()) return exit.status();
  if (!exit->Success()) {
    auto reason = ReadFile(stderr_path);
    return Status::Internal(program + " " + exit->ToString() + ": " +
                            (reason.ok() ? *reason : *output));
  }
  return *output;
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

bool IsFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

StatusOr<ComposePlan> ComposePlan::Load(
    const std::string& compose_file, const std::vector<std::string>& profiles,
    const std::vector<std::pair<std::string, std::string>>& env, const std::string& scratch_dir) {
  std::vector<std::string> args = {"-f", compose_file};
  for (const std::string& profile : profiles) args.insert(args.end(), {"--profile", profile});
  args.push_back("config");
  auto yaml = RunForOutput("docker-compose", args, env, scratch_dir + "/compose-config.err");
  if (!yaml.ok()) return yaml.status();
  const std::string yaml_path = scratch_dir + "/compose-config.yml";
  if (Status s = WriteFile(yaml_path, *yaml); !s.ok()) return s;
  auto json_text =
      RunForOutput("python3", {"-c", kYamlToJson, yaml_path}, {}, scratch_dir + "/yaml.err");
  if (!json_text.ok()) return json_text.status();
  nlohmann::json config = nlohmann::json::parse(*json_text, nullptr, false);
  if (!config.is_object() || !config["services"].is_object()) {
    return Status::Internal("docker-compose config gave no services");
  }
  ComposePlan plan;
  plan.scratch_dir_ = scratch_dir;
  for (const auto& [name, spec] : config["services"].items()) {
    ComposeService service;
    service.name = name;
    if (spec.contains("command")) {
      if (spec["command"].is_string()) {
        return Status::InvalidArgument(name + ": write command as a list, as the shell is not used");
      }
      for (const auto& arg : spec["command"]) service.command.push_back(arg.get<std::string>());
    }
    if (spec.contains("environment")) {
      for (const auto& [key, value] : spec["environment"].items()) {
        service.environment[key] = value.is_string() ? value.get<std::string>() : value.dump();
      }
    }
    if (spec.contains("profiles")) {
      for (const auto& profile : spec["profiles"]) service.profiles.push_back(profile);
    }
    if (spec.contains("expose")) {
      for (const auto& port : spec["expose"]) {
        service.expose.push_back(port.is_string() ? port.get<std::string>() : port.dump());
      }
    }
    if (spec.contains("volumes")) {
      for (const auto& volume : spec["volumes"]) {
        if (volume.is_object()) {
          service.volumes.emplace_back(volume.value("source", ""), volume.value("target", ""));
          continue;
        }
        const std::string text = volume.get<std::string>();
        const size_t first = text.find(':');
        const size_t second = text.find(':', first + 1);
        service.volumes.emplace_back(text.substr(0, first),
                                     text.substr(first + 1, second == std::string::npos
                                                                ? std::string::npos
                                                                : second - first - 1));
      }
    }
    if (spec.contains("secrets")) {
      for (const auto& secret : spec["secrets"]) {
        // Short form "name", or long form {source, target}; the target defaults to the name,
        // and a relative one lives under /run/secrets as well.
        const std::string source =
            secret.is_string() ? secret.get<std::string>() : secret.value("source", "");
        std::string target = secret.is_object() ? secret.value("target", source) : source;
        if (target.empty() || target[0] != '/') target = "/run/secrets/" + target;
        service.secrets.push_back(source);
        service.secret_targets[source] = target;
      }
    }
    plan.services_[name] = std::move(service);
  }
  if (config.contains("secrets") && config["secrets"].is_object()) {
    for (const auto& [name, spec] : config["secrets"].items()) {
      if (spec.is_object() && spec.contains("file")) {
        plan.secret_files_[name] = spec["file"].get<std::string>();
      }
    }
  }
  return plan;
}

StatusOr<int> ComposePlan::SharedPort(const std::string& service, const std::string& port) {
  const std::string key = service + ":" + port;
  auto it = shared_ports_.find(key);
  if (it != shared_ports_.end()) return it->second;
  auto free_port = FreeTcpPort();
  if (!free_port.ok()) return free_port.status();
  shared_ports_[key] = *free_port;
  return *free_port;
}

StatusOr<std::string> ComposePlan::Address(const std::string& service, const std::string& port) {
  auto local = SharedPort(service, port);
  if (!local.ok()) return local.status();
  return "127.0.0.1:" + std::to_string(*local);
}

std::string ComposePlan::Rewrite(const std::string& text) {
  std::string out = text;
  for (const auto& [name, service] : services_) {
    for (const std::string& port : service.expose) {
      const std::string from = name + ":" + port;
      if (out.find(from) == std::string::npos) continue;
      auto address = Address(name, port);
      if (address.ok()) out = ReplaceAll(out, from, *address);
    }
  }
  return out;
}

StatusOr<LocalProcess> ComposePlan::Localize(const std::string& name, int n, bool replicated,
                                             const std::string& bin_dir) {
  auto it = services_.find(name);
  if (it == services_.end()) return Status::NotFound("no service " + name + " in the compose file");
  const ComposeService& service = it->second;
  if (service.command.empty()) return Status::InvalidArgument(name + " has no command");

  // This instance's own listening ports.
  std::map<std::string, std::string> own_ports;
  for (const std::string& port : service.expose) {
    StatusOr<int> local = replicated ? FreeTcpPort() : SharedPort(name, port);
    if (!local.ok()) return local.status();
    own_ports[port] = std::to_string(*local);
  }
  // Container paths of volumes -> local paths.
  std::vector<std::pair<std::string, std::string>> paths;
  for (const auto& [source, target] : service.volumes) {
    if (!source.empty() && source[0] == '/') {
      if (IsFile(source)) {
        // A mounted file may name other services (a feed list): copy it with local addresses.
        auto text = ReadFile(source);
        if (!text.ok()) return text.status();
        const std::string copy =
            scratch_dir_ + "/" + name + "-" + std::to_string(n) + "-" +
            target.substr(target.find_last_of('/') + 1);
        if (Status s = WriteFile(copy, Rewrite(*text)); !s.ok()) return s;
        paths.emplace_back(target, copy);
      } else {
        paths.emplace_back(target, source);
      }
    } else {
      const std::string dir = scratch_dir_ + "/volume-" + source;
      ::mkdir(dir.c_str(), 0755);
      paths.emplace_back(target, dir);
    }
  }
  // Secrets are read in place: copying would lose the secret files' modes.
  for (const std::string& secret : service.secrets) {
    auto file = secret_files_.find(secret);
    if (file == secret_files_.end()) {
      return Status::NotFound(name + " uses secret " + secret + ", which names no file");
    }
    paths.emplace_back(service.secret_targets.at(secret), file->second);
  }
  auto localize = [&](const std::string& value) {
    auto own = own_ports.find(value);
    if (own != own_ports.end()) return own->second;  // a bare port number to listen on
    if (value == "0.0.0.0") return std::string("127.0.0.1");
    std::string out = value;
    for (const auto& [port, local] : own_ports) {
      out = ReplaceAll(out, "*:" + port, "127.0.0.1:" + local);
    }
    out = Rewrite(out);
    for (const auto& [target, local] : paths) {
      if (out.rfind(target, 0) == 0) out = local + out.substr(target.size());
    }
    return out;
  };

  LocalProcess process;
  const std::string& program = service.command[0];
  const std::string bundled = bin_dir + "/" + program;
  auto found = FindExecutable(IsFile(bundled) ? bundled : program);
  if (!found.ok()) return found.status();
  process.program = *found;
  for (size_t i = 1; i < service.command.size(); ++i) {
    process.args.push_back(localize(service.command[i]));
  }
  for (const auto& [key, value] : service.environment) {
    process.env.emplace_back(key, localize(value));
  }
  return process;
}

}  // namespace feedcrawl::testing
