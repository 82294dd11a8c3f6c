// The posix adapter's file reads: only regular files, bounded in size, never
// blocking on a FIFO; NeededLibraries on truncated and corrupt ELF files;
// ReplaceLink replaces only a link.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "adapters/posix/files.h"
#include "adapters/posix/posix.h"
#include "core/launch/report.h"
#include "core/plan/contract.h"
#include "detect/registry.h"

namespace rankwrap {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "rankwrap-test-XXXXXX").string();
    path_ = mkdtemp(templ.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void Write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(DiskFileReader, ReadsARegularFile) {
  TempDir dir;
  Write(dir / "nodes", "n1\nn2\n");
  auto text = posix::DiskFileReader().Read(dir / "nodes");
  ASSERT_TRUE(text.ok()) << text.error().reason;
  EXPECT_EQ(*text, "n1\nn2\n");
}

TEST(DiskFileReader, RefusesWhatIsNotARegularFileWithoutBlocking) {
  TempDir dir;
  ASSERT_EQ(mkfifo((dir / "fifo").c_str(), 0600), 0);
  fs::create_directory(dir / "dir");
  struct Case {
    std::string path;
    const char* reason;
  };
  for (const Case& c : {Case{dir / "fifo", "a FIFO (named pipe), not a regular file"},
                        Case{"/dev/zero", "a character device, not a regular file"},
                        Case{"/dev/urandom", "a character device, not a regular file"},
                        Case{dir / "dir", "a directory, not a regular file"}}) {
    const auto start = std::chrono::steady_clock::now();
    auto text = posix::DiskFileReader().Read(c.path);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2)) << c.path;
    ASSERT_FALSE(text.ok()) << c.path << " was read";
    EXPECT_EQ(text.error().reason, c.reason) << c.path;
  }
}

TEST(DiskFileReader, RefusesFilesOverTheBoundAndNamesIt) {
  TempDir dir;
  Write(dir / "big", std::string(2 << 20, 'x'));
  auto big = posix::DiskFileReader(std::size_t{1} << 20).Read(dir / "big");
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().reason.find("larger than 1 MiB"), std::string::npos) << big.error().reason;
  Write(dir / "exact", std::string(1 << 20, 'x'));
  EXPECT_TRUE(posix::DiskFileReader(std::size_t{1} << 20).Read(dir / "exact").ok());
  EXPECT_EQ(posix::kMaxFileBytes, std::size_t{64} << 20);
  // /proc files report size 0: the bound holds on what is read.
  auto maps = posix::DiskFileReader(16).Read("/proc/self/maps");
  ASSERT_FALSE(maps.ok());
  EXPECT_NE(maps.error().reason.find("larger than 16 bytes"), std::string::npos) << maps.error().reason;
}

// PBS_NODEFILE through the detectors with the real disk reader: exit 3, the
// variable, the path and the reason.
TEST(DiskFileReader, PbsNodefileThatIsNotAFileIsAnEnvironmentError) {
  TempDir dir;
  ASSERT_EQ(mkfifo((dir / "fifo").c_str(), 0600), 0);
  fs::create_directory(dir / "dir");
  const posix::DiskFileReader files;
  for (const std::string& path : {std::string("/dev/zero"), dir / "fifo", dir / "dir"}) {
    const EnvSnapshot env =
        EnvSnapshot::FromEntries({"PBS_JOBID=1.pbs", "PBS_NODEFILE=" + path, "PALS_RANKID=0", "PALS_LOCAL_RANKID=0",
                                  "PALS_NODEID=0", "PALS_LOCAL_SIZE=1", "PMI_SIZE=2", "PALS_APID=abc"});
    const detect::DetectContext ctx{env, files, "cn01", 1};
    auto job = detect::Run(detect::Registry(), ctx, "", nullptr);
    ASSERT_FALSE(job.ok()) << path;
    EXPECT_EQ(job.error().exit_code, kExitEnvironment);
    const std::string text = job.error().what + ": " + job.error().why;
    EXPECT_NE(text.find("PBS_NODEFILE='" + path + "' cannot be read"), std::string::npos) << text;
    EXPECT_NE(text.find("not a regular file"), std::string::npos) << text;
  }
}

TEST(ReadPrivateFile, RefusesAFifoWithoutBlocking) {
  TempDir dir;
  ASSERT_EQ(mkfifo((dir / "fifo").c_str(), 0600), 0);
  auto text = posix::ReadPrivateFile(dir / "fifo");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().reason, "not a private regular file of this user");
  Write(dir / "cache", "topology");
  chmod((dir / "cache").c_str(), 0600);
  auto ok = posix::ReadPrivateFile(dir / "cache");
  ASSERT_TRUE(ok.ok()) << ok.error().reason;
  EXPECT_EQ(*ok, "topology");
}

TEST(NeededLibraries, ReadsARealExecutable) {
  const auto libs = posix::NeededLibraries("/bin/true");
  ASSERT_FALSE(libs.empty());
  bool libc = false;
  for (const auto& l : libs) libc |= l.rfind("libc.so", 0) == 0;
  EXPECT_TRUE(libc);
  EXPECT_TRUE(posix::NeededLibraries("/dev/zero").empty());
  EXPECT_TRUE(posix::NeededLibraries("/nonexistent").empty());
}

// Truncated and corrupted copies of a real binary: empty or partial lists,
// never a crash (ASan builds check the reads stay in bounds).
TEST(NeededLibraries, TruncatedOrCorruptElfIsSafe) {
  TempDir dir;
  const std::string elf = ReadAll("/bin/true");
  ASSERT_GT(elf.size(), 4096u);
  const auto full = posix::NeededLibraries("/bin/true");
  auto partial_of_full = [&](const std::vector<std::string>& got) {
    for (const auto& l : got) {
      if (std::find(full.begin(), full.end(), l) == full.end()) return false;
    }
    return true;
  };
  for (std::size_t cut : {std::size_t{0}, std::size_t{4}, std::size_t{63}, std::size_t{64}, std::size_t{100},
                          std::size_t{1000}, elf.size() / 2, elf.size() - 200, elf.size() - 1}) {
    Write(dir / "cut", elf.substr(0, cut));
    const auto got = posix::NeededLibraries(dir / "cut");
    EXPECT_TRUE(partial_of_full(got)) << "cut at " << cut;
  }
  // Section header fields pointing far outside the file.
  auto patched = [&](std::size_t off, std::uint64_t value, int width) {
    std::string e = elf;
    for (int i = 0; i < width; ++i) e[off + static_cast<std::size_t>(i)] = static_cast<char>(value >> (8 * i));
    return e;
  };
  const std::uint64_t shoff = [&] {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(elf[0x28 + static_cast<std::size_t>(i)]);
    return v;
  }();
  const std::size_t shnum = static_cast<unsigned char>(elf[0x3c]) | (static_cast<unsigned char>(elf[0x3d]) << 8);
  std::vector<std::string> variants = {patched(0x28, ~std::uint64_t{0}, 8), patched(0x28, elf.size() - 10, 8),
                                       patched(0x3a, 0xffff, 2), patched(0x3c, 0xffff, 2)};
  for (std::size_t i = 0; i < shnum; ++i) {
    const std::size_t sh = static_cast<std::size_t>(shoff) + i * 64;
    variants.push_back(patched(sh + 0x18, ~std::uint64_t{0} - 8, 8));  // sh_offset
    variants.push_back(patched(sh + 0x20, ~std::uint64_t{0}, 8));      // sh_size
    variants.push_back(patched(sh + 0x28, 0xffffffff, 4));             // sh_link
  }
  // The string table without its NULs: names must not run past its end.
  std::mt19937 rng(7);
  for (int k = 0; k < 200; ++k) {
    std::string e = elf;
    for (int j = 0; j < 16; ++j) {
      e[rng() % e.size()] = static_cast<char>(rng());
    }
    variants.push_back(e);
  }
  for (std::size_t v = 0; v < variants.size(); ++v) {
    Write(dir / "bad", variants[v]);
    const auto got = posix::NeededLibraries(dir / "bad");
    for (const auto& l : got) EXPECT_LT(l.size(), variants[v].size()) << "variant " << v;
  }
}

TEST(ReplaceLink, ReplacesALinkAndMakesOneWhereNoneIs) {
  TempDir dir;
  auto d = posix::OpenOwnedDir(dir / "logs", "--log-dir");
  ASSERT_TRUE(d.ok()) << d.error().why;
  ASSERT_TRUE(posix::ReplaceLink(*d, "latest", "run-1", dir / "logs/latest", "--log-dir").ok());
  EXPECT_EQ(fs::read_symlink(dir / "logs/latest"), "run-1");
  ASSERT_TRUE(posix::ReplaceLink(*d, "latest", "run-2", dir / "logs/latest", "--log-dir").ok());
  EXPECT_EQ(fs::read_symlink(dir / "logs/latest"), "run-2");
}

TEST(ReplaceLink, LeavesAFileOrDirectoryThatIsNotALinkAndSaysSo) {
  TempDir dir;
  auto d = posix::OpenOwnedDir(dir / "logs", "--log-dir");
  ASSERT_TRUE(d.ok()) << d.error().why;
  Write(dir / "logs/latest", "mine\n");
  auto s = posix::ReplaceLink(*d, "latest", "run-1", dir / "logs/latest", "--log-dir");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().what, "--log-dir '" + (dir / "logs/latest") + "'");
  EXPECT_NE(s.error().why.find("regular file, not a symbolic link"), std::string::npos) << s.error().why;
  EXPECT_NE(s.error().hint.find("move it away"), std::string::npos) << s.error().hint;
  EXPECT_FALSE(fs::is_symlink(dir / "logs/latest"));
  EXPECT_EQ(ReadAll(dir / "logs/latest"), "mine\n");
  // No temporary link is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "logs"), fs::directory_iterator()), 1);

  fs::create_directory(dir / "logs/dir");
  s = posix::ReplaceLink(*d, "dir", "run-1", dir / "logs/dir", "--log-dir");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().why.find("directory, not a symbolic link"), std::string::npos) << s.error().why;
  EXPECT_TRUE(fs::is_directory(fs::symlink_status(dir / "logs/dir")));
}

}  // namespace
}  // namespace rankwrap
