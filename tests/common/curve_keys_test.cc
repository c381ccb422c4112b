// The CURVE key files: what `feedcrawl keygen` writes is what the role executables read, the
// allow-list format, the pairing rules (both files or neither), and clear errors for missing,
// malformed or misused files.
#include "common/curve_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <sstream>

#include "cli/exit_codes.h"
#include "cli/keygen.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_env.h"

namespace feedcrawl {
namespace {

using testing::TempDir;

class CurveKeysTest : public ::testing::Test {
 protected:
  // Runs `feedcrawl keygen --out dir/name` in-process; returns the prefix.
  std::string Keygen(const std::string& name) {
    std::ostringstream out, err;
    const std::string prefix = dir_.File(name);
    EXPECT_EQ(cli::KeygenCommand({prefix, false}, out, err), cli::kExitOk) << err.str();
    return prefix;
  }

  std::string Write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    const std::string path = dir_.File(name);
    EXPECT_OK(testing::WriteFile(path, text));
    ::chmod(path.c_str(), mode);
    return path;
  }

  TempDir dir_;
};

TEST_F(CurveKeysTest, KeygenFilesLoadAsAMatchingKeypair) {
  const std::string prefix = Keygen("coordinator");
  struct stat st {};
  ASSERT_EQ(::stat((prefix + ".key_secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto secret = ReadCurveSecretKeyFile(prefix + ".key_secret");
  auto public_key = ReadCurveKeyFile(prefix + ".key", "public key");
  ASSERT_OK(secret.status());
  ASSERT_OK(public_key.status());
  auto derived = CurvePublicKey(*secret);
  ASSERT_OK(derived.status());
  EXPECT_EQ(*derived, *public_key);
}

TEST_F(CurveKeysTest, KeygenKeepsExistingKeysUnlessForced) {
  const std::string prefix = Keygen("worker");
  auto before = ReadCurveSecretKeyFile(prefix + ".key_secret");
  ASSERT_OK(before.status());
  std::ostringstream out, err;
  EXPECT_EQ(cli::KeygenCommand({prefix, false}, out, err), cli::kExitUsage);
  EXPECT_NE(err.str().find("exists"), std::string::npos) << err.str();
  auto kept = ReadCurveSecretKeyFile(prefix + ".key_secret");
  ASSERT_OK(kept.status());
  EXPECT_EQ(*kept, *before);
  EXPECT_EQ(cli::KeygenCommand({prefix, true}, out, err), cli::kExitOk) << err.str();
  auto replaced = ReadCurveSecretKeyFile(prefix + ".key_secret");
  ASSERT_OK(replaced.status());
  EXPECT_NE(*replaced, *before);
}

TEST_F(CurveKeysTest, KeygenWithoutOutPrintsAPair) {
  std::ostringstream out, err;
  ASSERT_EQ(cli::KeygenCommand({}, out, err), cli::kExitOk) << err.str();
  std::istringstream lines(out.str());
  std::string public_label, public_key, secret_label, secret_key;
  lines >> public_label >> public_key >> secret_label >> secret_key;
  EXPECT_EQ(public_label, "public-key:");
  EXPECT_EQ(secret_label, "secret-key:");
  auto derived = CurvePublicKey(secret_key);
  ASSERT_OK(derived.status());
  EXPECT_EQ(*derived, public_key);
}

TEST_F(CurveKeysTest, AllowListTakesConcatenatedKeyFilesAndComments) {
  const std::string a = Keygen("fetcher-a"), b = Keygen("processor-b");
  auto a_text = testing::ReadFile(a + ".key");
  auto b_text = testing::ReadFile(b + ".key");
  ASSERT_OK(a_text.status());
  ASSERT_OK(b_text.status());
  auto b_key = ReadCurveKeyFile(b + ".key", "key");
  ASSERT_OK(b_key.status());
  const std::string list = Write(
      "allowed", "# workers admitted\n\n" + *a_text + "  " + *b_key + "   # processor-b\n", 0644);
  auto keys = ReadCurveAllowList(list);
  ASSERT_OK(keys.status());
  ASSERT_EQ(keys->size(), 2u);
  auto a_key = ReadCurveKeyFile(a + ".key", "key");
  ASSERT_OK(a_key.status());
  EXPECT_EQ((*keys)[0], *a_key);
  EXPECT_EQ((*keys)[1], *b_key);
}

TEST_F(CurveKeysTest, ClearErrorsForMissingAndMalformedFiles) {
  auto missing = ReadCurveSecretKeyFile(dir_.File("nope.key_secret"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope.key_secret"), std::string::npos);

  const std::string garbage = Write("garbage.key", "# fine\nnot-a-key\n");
  auto malformed = ReadCurveKeyFile(garbage, "curve server public key");
  EXPECT_EQ(malformed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(malformed.status().message().find("line 2"), std::string::npos)
      << malformed.status().ToString();

  const std::string empty = Write("empty.key", "# nothing here\n");
  EXPECT_NE(ReadCurveKeyFile(empty, "key").status().message().find("holds no key"),
            std::string::npos);

  const std::string a = Keygen("a"), b = Keygen("b");
  auto two = testing::ReadFile(a + ".key");
  auto more = testing::ReadFile(b + ".key");
  ASSERT_OK(two.status());
  ASSERT_OK(more.status());
  const std::string pair = Write("pair.key", *two + *more);
  EXPECT_NE(ReadCurveKeyFile(pair, "key").status().message().find("2 keys"), std::string::npos);

  const std::string trailing = Write("trailing", *two + "junk after\n");
  auto extra_words = ReadCurveAllowList(trailing);
  EXPECT_EQ(extra_words.status().code(), StatusCode::kInvalidArgument);

  // A directory is not a key file.
  EXPECT_FALSE(ReadCurveKeyFile(dir_.path(), "key").ok());
}

TEST_F(CurveKeysTest, WorldReadableSecretStillLoads) {
  const std::string prefix = Keygen("loose");
  ASSERT_EQ(::chmod((prefix + ".key_secret").c_str(), 0644), 0);
  EXPECT_OK(ReadCurveSecretKeyFile(prefix + ".key_secret").status());
}

TEST_F(CurveKeysTest, ServerAndClientNeedBothFilesOrNeither) {
  const std::string coordinator = Keygen("coordinator"), worker = Keygen("worker");
  auto off = LoadCurveServerSecurity({});
  ASSERT_OK(off.status());
  EXPECT_FALSE(off->enabled());
  EXPECT_FALSE(LoadCurveClientSecurity({})->enabled());

  EXPECT_EQ(LoadCurveServerSecurity({coordinator + ".key_secret", "", ""}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadCurveServerSecurity({"", "", worker + ".key"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadCurveClientSecurity({worker + ".key_secret", "", ""}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadCurveClientSecurity({"", coordinator + ".key", ""}).status().code(),
            StatusCode::kInvalidArgument);

  auto server = LoadCurveServerSecurity({coordinator + ".key_secret", "", worker + ".key"});
  ASSERT_OK(server.status());
  ASSERT_TRUE(server->enabled());
  auto client = LoadCurveClientSecurity({worker + ".key_secret", coordinator + ".key", ""});
  ASSERT_OK(client.status());
  ASSERT_TRUE(client->enabled());
  EXPECT_EQ(server->public_key, client->server_public_key);
  EXPECT_EQ(server->allowed_client_keys, std::vector<std::string>{client->public_key});
}

}  // namespace
}  // namespace feedcrawl
