// The CLI's OpenMP wait defaults (util/openmp_waits.hpp): spin only when the load leaves a CPU for
// every thread; /proc/loadavg parsing.
#include <gtest/gtest.h>

#include "test_support.hpp"
#include "util/openmp_waits.hpp"

using namespace bert_emotion;
using namespace bert_emotion::testing_support;

TEST(OpenMpWaits, SpinsOnlyWhenEveryThreadHasAnIdleCpu) {
  auto spin = [](int cpus, int threads, std::optional<double> load) {
    const OpenMpWaits w = choose_openmp_waits(cpus, threads, load);
    EXPECT_STREQ(w.policy, "PASSIVE");
    EXPECT_EQ(w.contended, std::string(w.spin_count) == "0");
    return std::string(w.spin_count);
  };
  EXPECT_EQ(spin(2, 2, 0.05), "10000");  // idle 2-core machine
  EXPECT_EQ(spin(2, 2, 0.4), "10000");   // a shell and an editor
  EXPECT_EQ(spin(2, 2, 1.0), "0");       // one busy process beside us (issue 20, item 20)
  EXPECT_EQ(spin(2, 2, 12.0), "0");      // the shared build machine
  EXPECT_EQ(spin(2, 1, 1.0), "10000");   // --threads 1 / OMP_NUM_THREADS=1 leaves room
  EXPECT_EQ(spin(16, 4, 3.0), "10000");  // 13 idle CPUs for 4 threads
  EXPECT_EQ(spin(16, 16, 3.0), "0");
  EXPECT_EQ(spin(2, 2, std::nullopt), "10000");  // unknown load: the previous default
}

TEST(OpenMpWaits, ReadsTheOneMinuteLoadAverage) {
  TempDir d;
  spit(d.path / "loadavg", "0.52 0.58 0.59 1/467 12345\n");
  ASSERT_TRUE(read_load_average(d.path / "loadavg").has_value());
  EXPECT_DOUBLE_EQ(*read_load_average(d.path / "loadavg"), 0.52);
  spit(d.path / "loadavg", "garbage\n");
  EXPECT_FALSE(read_load_average(d.path / "loadavg").has_value());
  spit(d.path / "loadavg", "-1 0 0\n");
  EXPECT_FALSE(read_load_average(d.path / "loadavg").has_value());
  EXPECT_FALSE(read_load_average(d.path / "absent").has_value());
  EXPECT_TRUE(read_load_average().has_value());  // this machine's /proc/loadavg
}
