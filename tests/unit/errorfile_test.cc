// supervise::ParseErrorFile / ErrorSummary: what torch's @record writes to
// TORCHELASTIC_ERROR_FILE (stage: supervise).
#include "core/supervise/errorfile.h"

#include <gtest/gtest.h>

namespace rankwrap::supervise {
namespace {

// As torch 1.13's ErrorHandler.record_exception writes it (Debian 12's python3-torch).
constexpr const char* kRecord =
    R"({"message": {"message": "RuntimeError: boom", "extraInfo": {"py_callstack": "Traceback (most recent call last):\n  File \"t.py\", line 3, in main\n    f()\nRuntimeError: boom\n", "timestamp": "1700000000"}}})";

TEST(ErrorFile, ReadsTorchsRecordFormat) {
  auto e = ParseErrorFile(kRecord);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "RuntimeError: boom");
  EXPECT_NE(e->traceback.find("line 3, in main"), std::string::npos);
  EXPECT_EQ(e->timestamp, "1700000000");
}

TEST(ErrorFile, APlainMessageAndNonsense) {
  auto plain = ParseErrorFile(R"({"message": "SIGSEGV in kernel"})");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->message, "SIGSEGV in kernel");
  EXPECT_TRUE(plain->traceback.empty());
  for (const char* bad : {"", "not json", "[]", R"({"msg": "x"})", R"({"message": 3})", R"({"message": {"x": 1}})"}) {
    EXPECT_FALSE(ParseErrorFile(bad)) << bad;
  }
}

TEST(ErrorFile, SummaryKeepsTheMessageAndTheTracebacksEndWithinTheLimit) {
  auto e = ParseErrorFile(kRecord);
  ASSERT_TRUE(e);
  EXPECT_EQ(ErrorSummary(*e, 1000), "RuntimeError: boom\n" + e->traceback.substr(0, e->traceback.size() - 1));
  const std::string s = ErrorSummary(*e, 60);
  EXPECT_LE(s.size(), 60u);
  EXPECT_EQ(s.rfind("RuntimeError: boom\n...\n", 0), 0u) << s;
  EXPECT_NE(s.find("RuntimeError: boom", 20), std::string::npos) << s;  // the traceback's last line
  EXPECT_EQ(ErrorSummary(*e, 10), "RuntimeEr" + std::string("r"));
}

}  // namespace
}  // namespace rankwrap::supervise
