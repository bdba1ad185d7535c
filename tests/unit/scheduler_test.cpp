// The scheduler orders events by (time, scheduling order), fires each occurrence once, and
// its pending set round-trips as data.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "memory/irq_line.h"
#include "memory/scheduler.h"

namespace rv {
namespace {

TEST(Scheduler, FiresInTimeThenSchedulingOrder) {
  Scheduler s;
  std::vector<std::string> fired;
  auto a = s.register_event("a", [&](u64 p, Nanos) { fired.push_back("a" + std::to_string(p)); });
  auto b = s.register_event("b", [&](u64 p, Nanos) { fired.push_back("b" + std::to_string(p)); });
  auto c = s.register_event("c", [&](u64 p, Nanos) { fired.push_back("c" + std::to_string(p)); });
  s.schedule_at(b, 100, 1);
  s.schedule_at(a, 100, 2);   // same time, scheduled later: fires after b
  s.schedule_at(c, 50, 3);
  EXPECT_EQ(s.next_deadline(), 50u);
  s.run_until(99);
  EXPECT_EQ(fired, (std::vector<std::string>{"c3"}));
  s.run_until(100);
  EXPECT_EQ(fired, (std::vector<std::string>{"c3", "b1", "a2"}));
  EXPECT_EQ(s.next_deadline(), kNever);
}

TEST(Scheduler, RescheduleReplacesAndCallbacksMayRearm) {
  Scheduler s;
  int ticks = 0;
  Nanos total_late = 0;
  Scheduler::EventId t = 0;
  t = s.register_event("timer", [&](u64, Nanos late) {
    ticks++;
    total_late += late;
    s.schedule_in(t, 10);   // periodic
  });
  s.schedule_at(t, 5);
  s.schedule_at(t, 7);   // replaces the first occurrence
  s.run_until(6);
  EXPECT_EQ(ticks, 0);
  s.run_until(7);
  EXPECT_EQ(ticks, 1);
  EXPECT_EQ(s.deadline(t), 17u);
  s.run_until(40);   // fires at 17 (late 23 -> rearms at 50)
  EXPECT_EQ(ticks, 2);
  EXPECT_EQ(total_late, 23u);
  EXPECT_EQ(s.deadline(t), 50u);
  s.cancel(t);
  s.run_until(100);
  EXPECT_EQ(ticks, 2);
}

TEST(Scheduler, TimeNeverGoesBackwards) {
  Scheduler s;
  s.run_until(1000);
  s.run_until(10);
  EXPECT_EQ(s.now(), 1000u);
}

TEST(Scheduler, PendingRoundTrips) {
  Scheduler s1, s2;
  int fired2 = 0;
  auto x1 = s1.register_event("x", [](u64, Nanos) {});
  auto y1 = s1.register_event("y", [](u64, Nanos) {});
  s2.register_event("y", [&](u64 p, Nanos) { fired2 += static_cast<int>(p); });
  s2.register_event("x", [&](u64 p, Nanos) { fired2 += 100 * static_cast<int>(p); });
  s1.run_until(20);
  s1.schedule_at(x1, 30, 1);
  s1.schedule_at(y1, 25, 2);
  auto saved = s1.pending();
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(saved[0].name, "y");
  ASSERT_TRUE(s2.restore(s1.now(), saved));
  EXPECT_EQ(s2.pending(), saved);
  s2.run_until(30);
  EXPECT_EQ(fired2, 102);
  std::vector<Scheduler::Pending> bad = {{"nope", 1, 0, 0}};
  EXPECT_FALSE(s2.restore(0, bad));
}

struct Recorder : IrqSink {
  std::vector<std::pair<unsigned, bool>> log;
  void set_irq(unsigned input, bool level) override { log.push_back({input, level}); }
};

TEST(IrqLine, FansOutToEveryReceiver) {
  Recorder pic, ioapic;
  IrqLine line(&pic, 4);
  EXPECT_TRUE(line.connect(&ioapic, 4));
  line.raise();
  line.lower();
  line.pulse();
  std::vector<std::pair<unsigned, bool>> want = {{4, true}, {4, false}, {4, true}, {4, false}};
  EXPECT_EQ(pic.log, want);
  EXPECT_EQ(ioapic.log, want);
  EXPECT_FALSE(line.level());
  Recorder third;
  EXPECT_FALSE(line.connect(&third, 1));   // two receivers at most
}

}  // namespace
}  // namespace rv
