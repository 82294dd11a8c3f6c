// Recorded environments for detector tests (tests/data/env/*.env): KEY=VALUE
// lines plus '#' directives:
//   # hostname: NAME          the host the process runs on
//   # ppid: N                 its parent pid
//   # nproc: N                rankwrap was given --nproc N
//   # fileline PATH = LINE      appends one line (spaces kept) to a file
//   # multiline NAME = A B ...  sets NAME to "A\nB\n..." (a value with newlines)
//   # file PATH = L1 L2 ...   a file's lines (for PBS_NODEFILE and the like)
#pragma once

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "core/env/snapshot.h"
#include "detect/detector.h"

namespace rankwrap::testing {

class MapFileReader : public detect::FileReader {
 public:
  std::map<std::string, std::string> files;
  Result<std::string, detect::ReadError> Read(const std::string& path) const override {
    auto it = files.find(path);
    if (it == files.end()) return detect::ReadError{"No such file or directory"};
    return it->second;
  }
};

struct Fixture {
  EnvSnapshot env;
  MapFileReader files;
  std::string hostname = "testhost";
  std::uint64_t ppid = 1;
  std::optional<unsigned> nproc;
  detect::DetectContext Context() const { return {env, files, hostname, ppid, nproc}; }
};

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline Fixture LoadFixture(const std::string& path) {
  Fixture f;
  const std::string text = ReadText(path);
  f.env = EnvSnapshot::FromText(text);
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# hostname: ", 0) == 0) f.hostname = line.substr(12);
    if (line.rfind("# ppid: ", 0) == 0) f.ppid = std::stoull(line.substr(8));
    if (line.rfind("# nproc: ", 0) == 0) f.nproc = static_cast<unsigned>(std::stoul(line.substr(9)));
    if (line.rfind("# fileline ", 0) == 0) {
      const std::size_t eq = line.find(" = ");
      f.files.files[line.substr(11, eq - 11)] += line.substr(eq + 3) + "\n";
    }
    if (line.rfind("# multiline ", 0) == 0) {
      const std::size_t eq = line.find(" = ");
      std::istringstream words(line.substr(eq + 3));
      std::string word, value;
      while (words >> word) value += (value.empty() ? "" : "\n") + word;
      f.env.Set(line.substr(12, eq - 12), value);
    }
    if (line.rfind("# file ", 0) == 0) {
      const std::size_t eq = line.find(" =");
      const std::string file_path = line.substr(7, eq - 7);
      std::istringstream words(eq + 2 < line.size() ? line.substr(eq + 2) : "");
      std::string word, content;
      while (words >> word) content += word + "\n";
      f.files.files[file_path] = content;
    }
  }
  return f;
}

}  // namespace rankwrap::testing
