#include "core/topo/serialize.h"

#include <algorithm>
#include <set>

#include "core/parse/number.h"

namespace rankwrap::topo {
namespace {

// Version 2: NIC ports. A file of another version is not read (the cache
// rewrites it).
constexpr std::string_view kMagic = "rankwrap-topology 2";

std::string Ids(const std::vector<unsigned>& v) {
  if (v.empty()) return "-";
  std::string s;
  for (unsigned x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

std::string Path(const std::vector<Ancestor>& p) {
  if (p.empty()) return "-";
  std::string s;
  for (const Ancestor& a : p)
    s += (s.empty() ? "" : ",") + std::to_string(a.id) + ":" + std::to_string(static_cast<int>(a.level));
  return s;
}

std::string Str(const std::string& s) { return s.empty() ? "-" : s; }

std::vector<std::string_view> Fields(std::string_view line) { return parse::Split(line, '\t'); }

bool ParseIds(std::string_view f, std::vector<unsigned>* out) {
  out->clear();
  if (f == "-") return true;
  for (std::string_view item : parse::Split(f, ',')) {
    auto n = parse::Decimal(item);
    if (!n) return false;
    out->push_back(static_cast<unsigned>(*n));
  }
  return true;
}

bool ParsePath(std::string_view f, std::vector<Ancestor>* out) {
  out->clear();
  if (f == "-") return true;
  for (std::string_view item : parse::Split(f, ',')) {
    const std::size_t colon = item.find(':');
    if (colon == std::string_view::npos) return false;
    auto id = parse::Decimal(item.substr(0, colon), UINT64_MAX);
    auto level = parse::Decimal(item.substr(colon + 1), 4);
    if (!id || !level) return false;
    out->push_back({*id, static_cast<Level>(*level)});
  }
  return true;
}

std::string Unstr(std::string_view f) { return f == "-" ? std::string() : std::string(f); }

std::string Clean(std::string s) {
  std::replace(s.begin(), s.end(), '\t', ' ');
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

}  // namespace

std::string ToText(const Topology& t) {
  std::string out = std::string(kMagic) + "\n";
  out += "source\t" + Str(Clean(t.source)) + "\npackages\t" + std::to_string(t.packages) + "\n";
  for (const Core& c : t.cores) {
    out += "core\t" + std::to_string(c.numa) + "\t" + std::to_string(c.package) + "\t" + Ids(c.pus) + "\n";
  }
  for (const NumaNode& n : t.numa) {
    out += "numa\t" + std::to_string(n.os_index) + "\t" + std::to_string(n.memory) + "\t" + Ids(n.pus) + "\n";
  }
  for (const Gpu& g : t.gpus) {
    std::string names;
    for (const auto& n : g.os_names) names += (names.empty() ? "" : ",") + n;
    out += "gpu\t" + g.bus_id + "\t" + std::to_string(g.sub) + "\t" + std::to_string(static_cast<int>(g.vendor)) +
           "\t" + Str(Clean(g.uuid)) + "\t" + Str(names) + "\t" + Str(Clean(g.model)) + "\t" + Ids(g.local_pus) + "\t" +
           Path(g.path) + "\n";
  }
  for (const Nic& n : t.nics) {
    out += "nic\t" + Str(n.name) + "\t" + Str(n.netdev) + "\t" + n.bus_id + "\t" + (n.infiniband ? "1" : "0") + "\t" +
           Ids(n.local_pus) + "\t" + Path(n.path) + "\t" + Ids(n.ports) + "\n";
  }
  return out;
}

Parsed<Topology> FromText(std::string_view text) {
  Topology t;
  std::size_t start = 0, line_no = 0;
  bool magic = false;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (!magic) {
      if (line != kMagic) return ParseError{line_no, "not a rankwrap topology (first line)"};
      magic = true;
      continue;
    }
    const auto f = Fields(line);
    const auto bad = [&] { return ParseError{line_no, "line " + std::to_string(line_no) + " does not parse"}; };
    if (f[0] == "source" && f.size() == 2) {
      t.source = Unstr(f[1]);
    } else if (f[0] == "packages" && f.size() == 2) {
      auto n = parse::Decimal(f[1]);
      if (!n) return bad();
      t.packages = static_cast<int>(*n);
    } else if (f[0] == "core" && f.size() == 4) {
      Core c;
      auto pkg = parse::Decimal(f[2]);
      auto numa = parse::Decimal(f[1] == "-1" ? std::string_view("0") : f[1]);
      if (!pkg || !numa || !ParseIds(f[3], &c.pus)) return bad();
      c.numa = f[1] == "-1" ? -1 : static_cast<int>(*numa);
      c.package = static_cast<int>(*pkg);
      t.cores.push_back(std::move(c));
    } else if (f[0] == "numa" && f.size() == 4) {
      NumaNode n;
      auto os = parse::Decimal(f[1]);
      auto mem = parse::Decimal(f[2], UINT64_MAX);
      if (!os || !mem || !ParseIds(f[3], &n.pus)) return bad();
      n.os_index = static_cast<unsigned>(*os);
      n.memory = *mem;
      t.numa.push_back(std::move(n));
    } else if (f[0] == "gpu" && f.size() == 9) {
      Gpu g;
      auto sub = parse::Decimal(f[2]);
      auto vendor = parse::Decimal(f[3], 3);
      if (!sub || !vendor || !ParseIds(f[7], &g.local_pus) || !ParsePath(f[8], &g.path)) return bad();
      g.bus_id = std::string(f[1]);
      g.sub = static_cast<unsigned>(*sub);
      g.vendor = static_cast<Vendor>(*vendor);
      g.uuid = Unstr(f[4]);
      if (f[5] != "-") {
        for (std::string_view name : parse::Split(f[5], ',')) g.os_names.emplace_back(name);
      }
      g.model = Unstr(f[6]);
      t.gpus.push_back(std::move(g));
    } else if (f[0] == "nic" && f.size() == 8) {
      Nic n;
      if (!ParseIds(f[5], &n.local_pus) || !ParsePath(f[6], &n.path) || !ParseIds(f[7], &n.ports)) return bad();
      n.name = Unstr(f[1]);
      n.netdev = Unstr(f[2]);
      n.bus_id = std::string(f[3]);
      n.infiniband = f[4] == "1";
      t.nics.push_back(std::move(n));
    } else if (!line.empty()) {
      return bad();
    }
  }
  if (!magic) return ParseError{0, "empty"};
  return t;
}

Topology Restrict(const Topology& t, const std::vector<unsigned>& pus) {
  const std::set<unsigned> allowed(pus.begin(), pus.end());
  auto keep = [&](const std::vector<unsigned>& v) {
    std::vector<unsigned> out;
    for (unsigned p : v) {
      if (allowed.count(p)) out.push_back(p);
    }
    return out;
  };
  Topology r = t;
  r.cores.clear();
  for (const Core& c : t.cores) {
    Core k = c;
    k.pus = keep(c.pus);
    if (!k.pus.empty()) r.cores.push_back(std::move(k));
  }
  for (NumaNode& n : r.numa) n.pus = keep(n.pus);
  for (Gpu& g : r.gpus) g.local_pus = keep(g.local_pus);
  for (Nic& n : r.nics) n.local_pus = keep(n.local_pus);
  return r;
}

}  // namespace rankwrap::topo
