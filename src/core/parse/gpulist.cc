#include "core/parse/gpulist.h"

#include <cctype>

#include "core/parse/number.h"

namespace rankwrap::parse {
namespace {

constexpr std::uint64_t kMaxIndex = 65535;
constexpr std::size_t kMaxGpus = 1024;  // far above any node; bounds the duplicate check

bool IsUuidChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '/' || c == '_'; }

}  // namespace

Parsed<std::vector<GpuRef>> GpuList(std::string_view text) {
  std::vector<GpuRef> out;
  if (text.empty() || text == "-1") return out;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = text.substr(start, comma - start);
    if (item.empty()) return ParseError{start, "empty item"};
    if (item.starts_with("GPU-") || item.starts_with("MIG-")) {
      if (item.size() == 4) return ParseError{start, "UUID '" + std::string(item) + "' is empty"};
      for (std::size_t k = 0; k < item.size(); ++k) {
        if (!IsUuidChar(item[k])) {
          return ParseError{start + k, "'" + std::string(item) + "' is not a GPU UUID"};
        }
      }
      if (out.size() >= kMaxGpus) {
        return ParseError{start, "more than " + std::to_string(kMaxGpus) + " GPUs listed"};
      }
      out.push_back(GpuRef{std::nullopt, std::string(item)});
    } else {
      const std::size_t dash = item.find('-');
      auto lo = Decimal(item.substr(0, dash), kMaxIndex);
      if (!lo) {
        return ParseError{start + lo.error().pos,
                          "'" + std::string(item) + "': expected a GPU index, an index range a-b, or a GPU-/MIG- UUID"};
      }
      std::uint64_t hi = *lo;
      if (dash != std::string_view::npos) {
        auto h = Decimal(item.substr(dash + 1), kMaxIndex);
        if (!h) return ParseError{start + dash + 1, "'" + std::string(item) + "': " + h.error().message};
        if (*h < *lo) return ParseError{start, "reversed range '" + std::string(item) + "'"};
        hi = *h;
      }
      if (out.size() + (hi - *lo) >= kMaxGpus) {
        return ParseError{start, "more than " + std::to_string(kMaxGpus) + " GPUs listed"};
      }
      for (std::uint64_t v = *lo; v <= hi; ++v) {
        out.push_back(GpuRef{static_cast<std::uint32_t>(v), {}});
      }
    }
    if (comma == text.size()) break;
    start = comma + 1;
  }
  for (std::size_t a = 0; a < out.size(); ++a) {
    for (std::size_t b = a + 1; b < out.size(); ++b) {
      if (out[a] == out[b]) {
        return ParseError{0,
                          "GPU " + (out[a].index ? std::to_string(*out[a].index) : out[a].uuid) + " is listed twice"};
      }
    }
  }
  return out;
}

}  // namespace rankwrap::parse
