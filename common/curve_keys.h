// CurveKeys: the CURVE key files of a secured cluster, read into a WireSecurity. A key file (as
// `feedcrawl keygen` writes them) holds one Z85 key on a line of its own; an allow-list file holds
// one public key per line, so the workers' `.key` files can simply be concatenated into it. In
// both, blank lines and lines starting with `#` are ignored, and a `#` comment may follow a key.
// A secret key file that every user may read is accepted with a warning in the log.
//
// Stateless functions; safe from any thread (they log through spdlog).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "common/wire.h"

namespace feedcrawl {

// Where a process finds its keys. Empty paths are "not given".
struct CurveKeyFiles {
  std::string secret_key_file;  // this process's secret key (its public key is derived)
  std::string server_key_file;  // workers: the coordinator's public key
  std::string allow_keys_file;  // coordinator: the public keys of the workers it admits
};

// The single key in a key file. NotFound when the file is missing, InvalidArgument when it cannot
// be read, holds no key, more than one, or a malformed one (the message names the file and the
// line, never a secret). `what` names the key in messages, e.g. "curve secret key".
StatusOr<std::string> ReadCurveKeyFile(const std::string& path, const std::string& what);

// ReadCurveKeyFile for a secret key, warning when the file is readable by every user.
StatusOr<std::string> ReadCurveSecretKeyFile(const std::string& path);

// Every key of an allow-list file (at least one); errors as ReadCurveKeyFile.
StatusOr<std::vector<std::string>> ReadCurveAllowList(const std::string& path);

// The coordinator's security: secret key and allow-list, both or neither (then CURVE is off and
// the result is a disabled WireSecurity). InvalidArgument when only one is given.
StatusOr<WireSecurity> LoadCurveServerSecurity(const CurveKeyFiles& files);

// A worker's security: its secret key and the coordinator's public key, both or neither.
StatusOr<WireSecurity> LoadCurveClientSecurity(const CurveKeyFiles& files);

}  // namespace feedcrawl
