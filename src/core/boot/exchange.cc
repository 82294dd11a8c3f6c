#include "core/boot/exchange.h"

#include "core/parse/number.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

namespace rankwrap::boot {
namespace {

// Little writer/reader over a fixed buffer: integers as 8 bytes, strings as
// 2-byte length + bytes (truncated to what fits).
template <std::size_t N>
class Writer {
 public:
  explicit Writer(std::array<char, N>& buf) : buf_(buf) { buf_.fill(0); }
  void U64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) Put(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void Str(const std::string& s, std::size_t max) {
    const std::size_t n = std::min(s.size(), max);
    U16(static_cast<std::uint16_t>(n));
    for (std::size_t i = 0; i < n; ++i) Put(s[i]);
  }
  void U16(std::uint16_t v) {
    Put(static_cast<char>(v & 0xff));
    Put(static_cast<char>(v >> 8));
  }
  void Bytes(const std::uint8_t* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) Put(static_cast<char>(p[i]));
  }

 private:
  void Put(char c) {
    if (pos_ < N) buf_[pos_++] = c;
  }
  std::array<char, N>& buf_;
  std::size_t pos_ = 0;
};

class Reader {
 public:
  Reader(const char* p, std::size_t n) : p_(p), n_(n) {}
  std::uint64_t U64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(Get()) << (8 * i);
    return v;
  }
  std::uint16_t U16() {
    const std::uint16_t lo = Get();
    return static_cast<std::uint16_t>(lo | (Get() << 8));
  }
  std::string Str() {
    const std::uint16_t n = U16();
    std::string s;
    for (std::uint16_t i = 0; i < n && pos_ < n_; ++i) s += static_cast<char>(Get());
    return s;
  }
  void Bytes(std::uint8_t* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = Get();
  }

 private:
  std::uint8_t Get() { return pos_ < n_ ? static_cast<std::uint8_t>(p_[pos_++]) : 0; }
  const char* p_;
  std::size_t n_;
  std::size_t pos_ = 0;
};

std::string Short(const std::string& host) { return host.substr(0, host.find('.')); }

bool LooksLikeAddress(const std::string& s) {
  return !s.empty() && (s.find(':') != std::string::npos || s.find_first_not_of("0123456789.") == std::string::npos);
}

}  // namespace

std::array<char, kRecordBytes> Encode(const RankRecord& r) {
  std::array<char, kRecordBytes> buf{};
  Writer w(buf);
  for (std::uint64_t v : {r.mpi_rank, r.rank, r.world_size, r.local_rank, r.local_world_size, r.num_nodes}) {
    w.U64(v);
  }
  w.Str(r.host, 255);
  w.Str(r.boot_id, 63);
  w.Str(r.gpus, 300);
  w.Str(r.master_addr, 255);
  w.Str(r.program_mpi, 64);
  return buf;
}

RankRecord Decode(const char* bytes) {
  Reader rd(bytes, kRecordBytes);
  RankRecord r;
  r.mpi_rank = rd.U64();
  r.rank = rd.U64();
  r.world_size = rd.U64();
  r.local_rank = rd.U64();
  r.local_world_size = rd.U64();
  r.num_nodes = rd.U64();
  r.host = rd.Str();
  r.boot_id = rd.Str();
  r.gpus = rd.Str();
  r.master_addr = rd.Str();
  r.program_mpi = rd.Str();
  return r;
}

std::string MpiProgramProblem(const std::vector<RankRecord>& records) {
  for (const RankRecord& r : records) {
    if (!r.program_mpi.empty()) {
      return "rank " + std::to_string(r.mpi_rank) + "'s program links " + r.program_mpi +
             ": it would initialise MPI a second time for a rank whose MPI rankwrap already "
             "initialised (MPI allows one MPI_Init per rank, even across exec)";
    }
  }
  return {};
}

std::array<char, kVerdictBytes> Encode(const Verdict& v) {
  std::array<char, kVerdictBytes> buf{};
  Writer w(buf);
  w.U16(v.ok ? 1 : 0);
  w.Bytes(v.id.data(), v.id.size());
  w.Str(v.master_addr, 255);
  w.U16(v.master_port);
  w.Str(v.reason, 500);
  return buf;
}

Verdict DecodeVerdict(const char* bytes) {
  Reader rd(bytes, kVerdictBytes);
  Verdict v;
  v.ok = rd.U16() == 1;
  rd.Bytes(v.id.data(), v.id.size());
  v.master_addr = rd.Str();
  v.master_port = rd.U16();
  v.reason = rd.Str();
  return v;
}

std::string MasterAddr(const std::vector<RankRecord>& records) {
  if (records.empty()) return {};
  const RankRecord& r0 = records[0];
  if (!r0.master_addr.empty() && (LooksLikeAddress(r0.master_addr) || Short(r0.master_addr) == Short(r0.host))) {
    return r0.master_addr;
  }
  return r0.host;
}

namespace {

using Problems = std::vector<std::string>;
using Node = std::pair<std::string, std::string>;  // host, boot id

std::string Ranks(const std::vector<std::uint64_t>& users) {
  std::string who;
  for (auto u : users) who += (who.empty() ? "" : ",") + std::to_string(u);
  return who;
}

// Each rank against the job: world size, rank, node count.
void CheckJob(const std::vector<RankRecord>& records, std::uint64_t size, std::size_t node_count, Problems* out) {
  for (const RankRecord& r : records) {
    if (r.world_size != size) {
      out->push_back("world size: rank " + std::to_string(r.mpi_rank) + " on " + r.host + " was told WORLD_SIZE=" +
                     std::to_string(r.world_size) + ", MPI has " + std::to_string(size) + " ranks");
    }
    if (r.rank != r.mpi_rank) {
      out->push_back("rank: MPI rank " + std::to_string(r.mpi_rank) + " on " + r.host +
                     " was told RANK=" + std::to_string(r.rank));
    }
    if (r.num_nodes != node_count) {
      out->push_back("node count: rank " + std::to_string(r.mpi_rank) + " on " + r.host + " was told NUM_NODES=" +
                     std::to_string(r.num_nodes) + ", the ranks run on " + std::to_string(node_count) + " host(s)");
    }
  }
}

// The ranks of one host: local sizes, local ranks, GPUs.
void CheckNode(const std::string& host, const std::vector<const RankRecord*>& ranks, Problems* out) {
  std::map<std::uint64_t, std::vector<std::uint64_t>> local;
  std::map<std::string, std::vector<std::uint64_t>> gpu_users;
  for (const RankRecord* r : ranks) {
    local[r->local_rank].push_back(r->mpi_rank);
    if (r->local_world_size != ranks.size()) {
      out->push_back("local size: rank " + std::to_string(r->mpi_rank) + " on " + host +
                     " was told LOCAL_WORLD_SIZE=" + std::to_string(r->local_world_size) + ", the host runs " +
                     std::to_string(ranks.size()) + " rank(s)");
    }
    for (std::string_view gpu : parse::Split(r->gpus, ',')) {
      if (!gpu.empty()) gpu_users[std::string(gpu)].push_back(r->mpi_rank);
    }
  }
  for (std::uint64_t l = 0; l < ranks.size(); ++l) {
    if (!local.count(l)) out->push_back("local ranks: no rank on " + host + " has LOCAL_RANK=" + std::to_string(l));
  }
  for (const auto& [l, users] : local) {
    if (users.size() > 1) {
      out->push_back("local ranks: ranks " + Ranks(users) + " on " + host +
                     " all have LOCAL_RANK=" + std::to_string(l));
    }
  }
  for (const auto& [gpu, users] : gpu_users) {
    if (users.size() > 1) out->push_back("GPU: ranks " + Ranks(users) + " on " + host + " would all use GPU " + gpu);
  }
}

void CheckMasterAddr(const std::vector<RankRecord>& records, Problems* out) {
  if (records.empty()) return;
  const RankRecord& r0 = records[0];
  for (const RankRecord& r : records) {
    if (r.master_addr.empty() || LooksLikeAddress(r.master_addr)) continue;
    if (Short(r.master_addr) != Short(r0.host)) {
      out->push_back("MASTER_ADDR: rank " + std::to_string(r.mpi_rank) + " on " + r.host +
                     " derived MASTER_ADDR=" + r.master_addr + " but rank 0 runs on " + r0.host);
      return;
    }
  }
}

// The table: one row per rank (the first 64), then what disagrees.
std::string Table(const std::vector<RankRecord>& records, const Problems& problems) {
  std::vector<std::vector<std::string>> rows = {
      {"mpi_rank", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "WORLD_SIZE", "NUM_NODES", "host", "gpus"}};
  for (std::size_t i = 0; i < records.size() && i < 64; ++i) {
    const RankRecord& r = records[i];
    rows.push_back({std::to_string(r.mpi_rank), std::to_string(r.rank), std::to_string(r.local_rank),
                    std::to_string(r.local_world_size), std::to_string(r.world_size), std::to_string(r.num_nodes),
                    r.host, r.gpus.empty() ? "-" : r.gpus});
  }
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string t;
  for (const auto& row : rows) {
    std::string line = " ";
    for (std::size_t c = 0; c < row.size(); ++c) line += " " + row[c] + std::string(width[c] - row[c].size(), ' ');
    while (line.back() == ' ') line.pop_back();
    t += line + "\n";
  }
  if (records.size() > 64) t += "  ... " + std::to_string(records.size() - 64) + " more rank(s)\n";
  const std::size_t shown = std::min<std::size_t>(problems.size(), 20);
  for (std::size_t i = 0; i < shown; ++i) t += "  disagreement: " + problems[i] + "\n";
  if (problems.size() > shown) t += "  ... and " + std::to_string(problems.size() - shown) + " more\n";
  return t;
}

}  // namespace

std::optional<std::string> Check(const std::vector<RankRecord>& records, int mpi_size) {
  std::map<Node, std::vector<const RankRecord*>> nodes;
  for (const RankRecord& r : records) nodes[{r.host, r.boot_id}].push_back(&r);
  Problems problems;
  CheckJob(records, static_cast<std::uint64_t>(mpi_size), nodes.size(), &problems);
  for (const auto& [node, ranks] : nodes) CheckNode(node.first, ranks, &problems);
  CheckMasterAddr(records, &problems);
  if (problems.empty()) return std::nullopt;
  return Table(records, problems);
}

std::string ToHex(const UniqueId& id) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  s.reserve(2 * id.size());
  for (std::uint8_t b : id) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

std::optional<UniqueId> FromHex(const std::string& hex) {
  if (hex.size() != 2 * kIdBytes) return std::nullopt;
  UniqueId id{};
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < kIdBytes; ++i) {
    const int hi = val(hex[2 * i]), lo = val(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return id;
}

}  // namespace rankwrap::boot
