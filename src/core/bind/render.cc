// Text, JSON and SVG forms of a node plan (rankwrap plan).
#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <set>

#include "core/bind/plan.h"
#include "core/launch/report.h"

namespace rankwrap::bind {
namespace {

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string GpuLabel(const topo::Topology& topo, unsigned g) {
  const topo::Gpu& gpu = topo.gpus[g];
  return gpu.bus_id + (gpu.sub ? "/" + std::to_string(gpu.sub) : "") + " [" + std::to_string(g) + "]";
}

std::string Pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string Xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

std::vector<unsigned> NumaList(const RankLine& l) { return l.numa; }

// printf into the end of `s`, whatever the length (a fixed buffer cut
// elements with long titles, as a core shared by 300 ranks has, and left
// the SVG broken).
__attribute__((format(printf, 2, 3))) void Appendf(std::string& s, const char* fmt, ...) {
  va_list ap, again;
  va_start(ap, fmt);
  va_copy(again, ap);
  const int n = std::vsnprintf(nullptr, 0, fmt, ap);
  va_end(ap);
  if (n > 0) {
    const std::size_t old = s.size();
    s.resize(old + static_cast<std::size_t>(n) + 1);
    std::vsnprintf(&s[old], static_cast<std::size_t>(n) + 1, fmt, again);
    s.resize(old + static_cast<std::size_t>(n));
  }
  va_end(again);
}

}  // namespace

std::string Table(const NodePlan& plan, const topo::Topology& topo) {
  std::vector<std::vector<std::string>> rows = {
      {"local_rank", "gpu (bus id [index])", "numa", "cpus", "nic", "warnings"}};
  for (const RankLine& l : plan.ranks) {
    std::vector<std::string> gpus, numa;
    for (unsigned g : l.gpus) gpus.push_back(GpuLabel(topo, g));
    for (unsigned n : NumaList(l)) numa.push_back(std::to_string(n));
    rows.push_back({std::to_string(l.local_rank), gpus.empty() ? "-" : Join(gpus, " "),
                    numa.empty() ? "-" : Join(numa, ","), l.cpus.empty() ? "-" : topo::ListString(l.cpus),
                    l.nics.empty() ? "-" : Join(l.nics, ","), Join(l.warnings, "; ")});
  }
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  std::string out = "node plan for " + std::to_string(plan.ranks.size()) + " local rank(s) on " + topo.source + "\n";
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t c = 0; c < r.size(); ++c) line += Pad(r[c], width[c] + 2);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  for (const auto& w : plan.warnings) out += "warning: " + w + "\n";
  return out;
}

std::string Describe(const RankLine& l, const topo::Topology& topo) {
  std::vector<std::string> gpus, numa;
  for (unsigned g : l.gpus) gpus.push_back(GpuLabel(topo, g));
  for (unsigned n : l.numa) numa.push_back(std::to_string(n));
  std::string out =
      "local rank " + std::to_string(l.local_rank) + ": GPU " + (gpus.empty() ? "none" : Join(gpus, " ")) + ", cpus " +
      (l.cpus.empty() ? "unbound" : topo::ListString(l.cpus)) + ", numa " +
      (numa.empty() ? "unbound" : Join(numa, ",")) + ", nic " + (l.nics.empty() ? "none" : Join(l.nics, ","));
  for (const auto& w : l.warnings) out += " (" + w + ")";
  return out;
}

std::string Json(const NodePlan& plan, const topo::Topology& topo) {
  using launch::JsonString;
  std::string out = "{\"topology\":" + JsonString(topo.source) + ",\"ranks\":[";
  for (std::size_t i = 0; i < plan.ranks.size(); ++i) {
    const RankLine& l = plan.ranks[i];
    std::string gpus, idx, names, numa, nics, warns;
    for (unsigned g : l.gpus) {
      gpus += (gpus.empty() ? "" : ",") + JsonString(topo.gpus[g].bus_id);
      idx += (idx.empty() ? "" : ",") + std::to_string(g);
      names += (names.empty() ? "" : ",") + JsonString(Join(topo.gpus[g].os_names, "/"));
    }
    for (unsigned n : l.numa) numa += (numa.empty() ? "" : ",") + std::to_string(n);
    for (const auto& n : l.nics) nics += (nics.empty() ? "" : ",") + JsonString(n);
    for (const auto& w : l.warnings) warns += (warns.empty() ? "" : ",") + JsonString(w);
    out += std::string(i ? "," : "") + "{\"local_rank\":" + std::to_string(l.local_rank) + ",\"gpus\":[" + gpus +
           "],\"gpu_indices\":[" + idx + "],\"gpu_names\":[" + names + "],\"numa_nodes\":[" + numa +
           "],\"cpus\":" + JsonString(topo::ListString(l.cpus)) + ",\"cores\":" + std::to_string(l.cores) +
           ",\"nics\":[" + nics + "],\"warnings\":[" + warns + "]}";
  }
  out += "],\"warnings\":[";
  for (std::size_t i = 0; i < plan.warnings.size(); ++i) {
    out += (i ? "," : "") + JsonString(plan.warnings[i]);
  }
  return out + "]}\n";
}

namespace {

constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
                                    "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#d62728"};
constexpr std::size_t kColors = sizeof kPalette / sizeof kPalette[0];
constexpr int kCell = 14, kPerRow = 12, kColW = kPerRow * kCell + 24, kPad = 16;

std::string RanksText(const std::vector<unsigned>& v) {
  if (v.empty()) return "unused";
  std::string s = v.size() == 1 ? "rank " : "ranks ";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

// One column per NUMA node (cores without NUMA in a last column), with the
// GPUs and NICs nearest to it.
struct Column {
  std::string title;
  int package = 0;
  std::vector<unsigned> cores;
  std::vector<unsigned> gpus;
  std::vector<std::size_t> nics;
};

std::vector<Column> Columns(const topo::Topology& topo) {
  std::vector<Column> cols;
  for (const auto& n : topo.numa) cols.push_back({"NUMA " + std::to_string(n.os_index), 0, {}, {}, {}});
  Column loose{"no NUMA", 0, {}, {}, {}};
  for (unsigned c = 0; c < topo.cores.size(); ++c) {
    bool placed = false;
    for (std::size_t k = 0; k < topo.numa.size(); ++k) {
      if (topo.cores[c].numa == static_cast<int>(topo.numa[k].os_index)) {
        cols[k].cores.push_back(c);
        cols[k].package = topo.cores[c].package;
        placed = true;
      }
    }
    if (!placed) loose.cores.push_back(c);
  }
  if (!loose.cores.empty() || cols.empty()) cols.push_back(loose);
  auto column_of = [&](const std::vector<unsigned>& pus) -> std::size_t {
    std::size_t best = cols.size() - 1, best_hits = 0;
    for (std::size_t k = 0; k < cols.size(); ++k) {
      std::size_t hits = 0;
      for (unsigned c : cols[k].cores) {
        for (unsigned p : topo.cores[c].pus) hits += std::count(pus.begin(), pus.end(), p);
      }
      if (hits > best_hits) best = k, best_hits = hits;
    }
    return best;
  };
  for (unsigned g = 0; g < topo.gpus.size(); ++g) cols[column_of(topo.gpus[g].local_pus)].gpus.push_back(g);
  for (std::size_t n = 0; n < topo.nics.size(); ++n) cols[column_of(topo.nics[n].local_pus)].nics.push_back(n);
  return cols;
}

// The picture: the shared state of the parts drawn below.
class Picture {
 public:
  Picture(const NodePlan& plan, const topo::Topology& topo) : plan_(plan), topo_(topo), cols_(Columns(topo)) {
    for (const RankLine& l : plan.ranks) {
      for (unsigned p : l.cpus) pu_owner_[p].push_back(l.local_rank);
      for (unsigned g : l.gpus) gpu_users_[g].push_back(l.local_rank);
      for (const auto& n : l.nics) nic_users_[n].push_back(l.local_rank);
    }
    for (const Column& c : cols_) {
      const int rows = static_cast<int>((c.cores.size() + kPerRow - 1) / kPerRow);
      const int h = 40 + rows * kCell + 12 + static_cast<int>(c.gpus.size() + c.nics.size()) * 30;
      heights_.push_back(h);
      max_h_ = std::max(max_h_, h);
    }
  }

  std::string Draw() {
    const int legend_h = 24 * static_cast<int>((plan_.ranks.size() + 5) / 6) + 10;
    const int width = kPad * 2 + static_cast<int>(cols_.size()) * (kColW + kPad);
    const int height = 60 + max_h_ + kPad + legend_h;
    Appendf(s_,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            width, height);
    s_ += "<text x=\"16\" y=\"22\" font-size=\"14\" font-weight=\"bold\">" +
          Xml("rankwrap node plan: " + std::to_string(plan_.ranks.size()) + " local rank(s) on " + topo_.source) +
          "</text>\n";
    Packages();
    for (std::size_t k = 0; k < cols_.size(); ++k) DrawColumn(k);
    Legend();
    return s_ + "</svg>\n";
  }

 private:
  // Packages: a frame around their columns.
  void Packages() {
    for (std::size_t k = 0; k < cols_.size();) {
      std::size_t j = k;
      while (j + 1 < cols_.size() && cols_[j + 1].package == cols_[k].package) ++j;
      Appendf(s_,
              "<rect x=\"%d\" y=\"34\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#555\" "
              "stroke-dasharray=\"4 2\"/>\n<text x=\"%d\" y=\"48\" fill=\"#555\">Package %d</text>\n",
              kPad / 2 + static_cast<int>(k) * (kColW + kPad), static_cast<int>(j - k + 1) * (kColW + kPad),
              max_h_ + 26, kPad / 2 + static_cast<int>(k) * (kColW + kPad) + 4, cols_[k].package);
      k = j + 1;
    }
  }

  void DrawColumn(std::size_t k) {
    const Column& c = cols_[k];
    const int x = kPad + static_cast<int>(k) * (kColW + kPad), y = 54;
    Appendf(s_,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#f4f4f4\" stroke=\"#999\"/>\n"
            "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s</text>\n",
            x, y, kColW, heights_[k], x + 6, y + 16, Xml(c.title).c_str());
    for (std::size_t i = 0; i < c.cores.size(); ++i) {
      const topo::Core& core = topo_.cores[c.cores[i]];
      std::vector<unsigned> owners;
      for (unsigned p : core.pus) {
        for (unsigned r : pu_owner_[p]) owners.push_back(r);
      }
      std::sort(owners.begin(), owners.end());
      owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
      const char* fill = owners.empty() ? "#ffffff" : kPalette[owners.front() % kColors];
      const int cx = x + 12 + static_cast<int>(i % kPerRow) * kCell;
      const int cy = y + 26 + static_cast<int>(i / kPerRow) * kCell;
      Appendf(
          s_,
          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"#666\"><title>%s</title></rect>\n",
          cx, cy, kCell - 2, kCell - 2, fill,
          Xml("PUs " + topo::ListString(core.pus) + ": " + RanksText(owners)).c_str());
    }
    int dy = y + 26 + static_cast<int>((c.cores.size() + kPerRow - 1) / kPerRow) * kCell + 10;
    for (unsigned g : c.gpus)
      Device(x, &dy, "GPU " + std::to_string(g) + " " + topo_.gpus[g].bus_id, gpu_users_[g], "#222");
    for (std::size_t n : c.nics) Device(x, &dy, "NIC " + topo_.nics[n].name, nic_users_[topo_.nics[n].name], "#2a6");
  }

  void Device(int x, int* dy, const std::string& label, const std::vector<unsigned>& users, const char* stroke) {
    const char* fill = users.empty() ? "#ffffff" : kPalette[users.front() % kColors];
    Appendf(s_,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"24\" fill=\"%s\" fill-opacity=\"0.35\" stroke=\"%s\"/>\n"
            "<text x=\"%d\" y=\"%d\">%s</text>\n",
            x + 8, *dy, kColW - 16, fill, stroke, x + 12, *dy + 16, Xml(label + ": " + RanksText(users)).c_str());
    *dy += 30;
  }

  // Legend: every rank by name and colour.
  void Legend() {
    const int ly = 60 + max_h_ + kPad;
    for (std::size_t r = 0; r < plan_.ranks.size(); ++r) {
      const int lx = kPad + static_cast<int>(r % 6) * 150;
      const int yy = ly + static_cast<int>(r / 6) * 24;
      const RankLine& l = plan_.ranks[r];
      Appendf(s_,
              "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" fill=\"%s\"/>\n<text x=\"%d\" y=\"%d\">%s</text>\n",
              lx, yy, kPalette[r % kColors], lx + 20, yy + 11,
              Xml("rank " + std::to_string(l.local_rank) + " (" + std::to_string(l.cores) + " cores)").c_str());
    }
  }

  const NodePlan& plan_;
  const topo::Topology& topo_;
  std::vector<Column> cols_;
  std::map<unsigned, std::vector<unsigned>> pu_owner_, gpu_users_;
  std::map<std::string, std::vector<unsigned>> nic_users_;
  std::vector<int> heights_;
  int max_h_ = 0;
  std::string s_;
};

}  // namespace

std::string Svg(const NodePlan& plan, const topo::Topology& topo) { return Picture(plan, topo).Draw(); }

}  // namespace rankwrap::bind
