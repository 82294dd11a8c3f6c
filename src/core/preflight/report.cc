// The report's text form. One field per line:
//
//   rankwrap-preflight 1
//   node 3
//   host node17
//   version 0.1.0
//   shape gpus=8 rdma-nics=4 local-ranks=8
//   check ok|fail NAME<TAB>DETAIL<TAB>FIX      (zero or more, in order)
//
// Values are bytes with '%', TAB, LF, CR, other control bytes and DEL
// written as %XX (upper-case hex) and nothing else escaped, so every report
// has exactly one text form and a decoded message re-encodes to the same
// bytes (the fuzzer checks that).
#include "core/preflight/report.h"

#include <algorithm>

namespace rankwrap::preflight {
namespace {

constexpr std::string_view kHeader = "rankwrap-preflight 1";
constexpr std::size_t kMinCut = 8;  // fields this short are never cut

bool NeedsEscape(unsigned char c) { return c == '%' || c < 0x20 || c == 0x7f; }

void Escape(std::string_view in, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (!NeedsEscape(c)) {
      out->push_back(ch);
      continue;
    }
    out->push_back('%');
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 15]);
  }
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lower case is not canonical
}

std::optional<std::string> Unescape(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c != '%') {
      if (NeedsEscape(c)) return std::nullopt;
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    const int hi = HexDigit(in[i + 1]), lo = HexDigit(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const auto byte = static_cast<unsigned char>(hi * 16 + lo);
    if (!NeedsEscape(byte)) return std::nullopt;
    out.push_back(static_cast<char>(byte));
    i += 2;
  }
  return out;
}

std::string Serialize(const NodeReport& r) {
  std::string out(kHeader);
  out += "\nnode " + std::to_string(r.node) + "\nhost ";
  Escape(r.host, &out);
  out += "\nversion ";
  Escape(r.version, &out);
  out += "\nshape ";
  Escape(r.shape, &out);
  out += "\n";
  for (const Check& c : r.checks) {
    out += c.ok ? "check ok " : "check fail ";
    Escape(c.name, &out);
    out += '\t';
    Escape(c.detail, &out);
    out += '\t';
    Escape(c.fix, &out);
    out += '\n';
  }
  return out;
}

// Halves the longest of `fields` longer than kMinCut; false when none is.
bool CutLongest(const std::vector<std::string*>& fields) {
  std::string* longest = nullptr;
  for (std::string* f : fields) {
    if (f->size() > kMinCut && (longest == nullptr || f->size() > longest->size())) longest = f;
  }
  if (longest == nullptr) return false;
  longest->resize(longest->size() / 2);
  *longest += "...";
  return true;
}

// One step towards fitting: cut a detail or fix; else drop the last passing
// check; else cut a name or the node's fields; else drop the last check.
bool ShrinkOnce(NodeReport* r) {
  std::vector<std::string*> texts;
  for (Check& c : r->checks) texts.insert(texts.end(), {&c.detail, &c.fix});
  if (CutLongest(texts)) return true;
  auto passing = std::find_if(r->checks.rbegin(), r->checks.rend(), [](const Check& c) { return c.ok; });
  if (passing != r->checks.rend()) {
    r->checks.erase(std::next(passing).base());
    return true;
  }
  std::vector<std::string*> names{&r->host, &r->version, &r->shape};
  for (Check& c : r->checks) names.push_back(&c.name);
  if (CutLongest(names)) return true;
  if (r->checks.empty()) return false;
  r->checks.pop_back();
  return true;
}

// A field longer than the whole message cannot fit: cut it at once, so the
// shrinking loop starts from bounded sizes.
void Cap(std::string* s) {
  if (s->size() > kMaxEncoded) {
    s->resize(kMaxEncoded);
    *s += "...";
  }
}

// "check ok NAME\tDETAIL\tFIX" (without "check ").
std::optional<Check> DecodeCheck(std::string_view line) {
  Check c;
  if (line.starts_with("ok ")) {
    c.ok = true;
    line.remove_prefix(3);
  } else if (line.starts_with("fail ")) {
    line.remove_prefix(5);
  } else {
    return std::nullopt;
  }
  const std::size_t t1 = line.find('\t');
  const std::size_t t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
  if (t2 == std::string_view::npos) return std::nullopt;
  auto name = Unescape(line.substr(0, t1));
  auto detail = Unescape(line.substr(t1 + 1, t2 - t1 - 1));
  auto fix = Unescape(line.substr(t2 + 1));
  if (!name || !detail || !fix) return std::nullopt;
  c.name = std::move(*name);
  c.detail = std::move(*detail);
  c.fix = std::move(*fix);
  return c;
}

// A node index: decimal digits, no leading zero, at most UINT32_MAX.
std::optional<std::uint32_t> DecodeNode(std::string_view t) {
  if (t.empty() || t.size() > 10 || (t.size() > 1 && t[0] == '0')) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (n > UINT32_MAX) return std::nullopt;
  return static_cast<std::uint32_t>(n);
}

// The next line of `text` at `*pos` (without its LF); nullopt at the end or
// for a last line without LF (Encode always ends with one).
std::optional<std::string_view> NextLine(std::string_view text, std::size_t* pos) {
  if (*pos >= text.size()) return std::nullopt;
  const std::size_t lf = text.find('\n', *pos);
  if (lf == std::string_view::npos) return std::nullopt;
  std::string_view line = text.substr(*pos, lf - *pos);
  *pos = lf + 1;
  return line;
}

std::optional<std::string> Field(std::optional<std::string_view> line, std::string_view key) {
  if (!line || !line->starts_with(key) || line->size() <= key.size() || (*line)[key.size()] != ' ') {
    return std::nullopt;
  }
  return Unescape(line->substr(key.size() + 1));
}

}  // namespace

std::string Encode(const NodeReport& given) {
  NodeReport r = given;
  if (r.checks.size() > kMaxChecks) r.checks.resize(kMaxChecks);
  for (std::string* s : {&r.host, &r.version, &r.shape}) Cap(s);
  for (Check& c : r.checks) {
    for (std::string* s : {&c.name, &c.detail, &c.fix}) Cap(s);
  }
  for (;;) {
    std::string text = Serialize(r);
    if (text.size() <= kMaxEncoded || !ShrinkOnce(&r)) return text;
  }
}

std::optional<NodeReport> Decode(std::string_view text) {
  if (text.size() > kMaxEncoded) return std::nullopt;
  std::size_t pos = 0;
  if (NextLine(text, &pos) != std::optional<std::string_view>(kHeader)) return std::nullopt;
  NodeReport r;
  auto node_line = NextLine(text, &pos);
  if (!node_line || !node_line->starts_with("node ")) return std::nullopt;
  auto node = DecodeNode(node_line->substr(5));
  auto host = Field(NextLine(text, &pos), "host");
  auto version = Field(NextLine(text, &pos), "version");
  auto shape = Field(NextLine(text, &pos), "shape");
  if (!node || !host || !version || !shape) return std::nullopt;
  r.node = *node;
  r.host = std::move(*host);
  r.version = std::move(*version);
  r.shape = std::move(*shape);
  while (pos < text.size()) {
    auto line = NextLine(text, &pos);
    if (!line || !line->starts_with("check ") || r.checks.size() == kMaxChecks) return std::nullopt;
    auto check = DecodeCheck(line->substr(6));
    if (!check) return std::nullopt;
    r.checks.push_back(std::move(*check));
  }
  return r;
}

}  // namespace rankwrap::preflight
