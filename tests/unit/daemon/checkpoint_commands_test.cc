// `shardhose checkpoint show|rewind|reset` (commands.h) on a checkpoint file
// in a temp dir: what they refuse, what they print, what they change.
// (show with a checkpoint reaches for the stream; only its offline cases
// are here.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "checkpoint/checkpoint.h"
#include "checkpoint/checkpoint_file.h"
#include "command_fixture.h"
#include "commands.h"

namespace shardhose::daemon {
namespace {

using checkpoint::Checkpoint;
using checkpoint::CheckpointFile;
using checkpoint::ShardCheckpoint;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class CheckpointCommandTest : public CommandTest {
 protected:
  // Two shards, one finished; three journaled cuts, two covering shard 1.
  static Checkpoint Sample() {
    Checkpoint cp;
    cp.stream_name = "orders";
    cp.generation = 7;
    cp.written_at = "2024-05-20T10:00:00Z";
    cp.shards["shardId-0"].state = ShardCheckpoint::State::kFinished;
    cp.shards["shardId-0"].sequence = "100";
    cp.shards["shardId-1"].sequence = "250";
    cp.shards["shardId-1"].parent = "shardId-0";
    cp.shards["shardId-1"].caught_up_ms = 1716200000000;
    for (int i = 0; i < 3; ++i) {
      checkpoint::PendingCut cut;
      cut.key = "k" + std::to_string(i);
      cut.ranges[i < 2 ? "shardId-1" : "shardId-0"] = {"90", "99"};
      cp.pending.push_back(cut);
    }
    return cp;
  }

  void Save(const Checkpoint& cp) { ASSERT_TRUE(File().Save(cp).ok()); }
  Checkpoint Load() {
    auto cp = File().Load();
    EXPECT_TRUE(cp.ok() && cp->has_value()) << cp.status().ToString();
    return cp.ok() && cp->has_value() ? **cp : Checkpoint{};
  }
  std::string Bytes() { return *FileSystem::Default()->ReadFile(checkpoint_path_); }
  void Corrupt() {
    ASSERT_TRUE(FileSystem::Default()->CreateDirs(DirName(checkpoint_path_)).ok());
    ASSERT_TRUE(FileSystem::Default()->WriteFile(checkpoint_path_, "{\"version\":1,", true).ok());
  }
  CheckpointFile File() { return CheckpointFile(FileSystem::Default(), checkpoint_path_); }

  int Rewind(RewindOptions r) {
    r.shard = r.shard.empty() ? "shardId-1" : r.shard;
    return Run([&] { return CheckpointRewindCommand(options_, r); });
  }
  int Reset(bool yes) {
    return Run([&] { return CheckpointResetCommand(options_, yes); });
  }
  // The files of the state directory but the lock.
  std::vector<std::string> StateFiles() {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(DirName(checkpoint_path_))) {
      if (e.path().filename() != "checkpoint.json.lock") names.push_back(e.path().filename());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
};

TEST_F(CheckpointCommandTest, ShowWithoutACheckpointSaysWhereTheNextStartBegins) {
  EXPECT_EQ(Run([&] { return CheckpointShowCommand(options_); }), kExitOk);
  EXPECT_EQ(out_, "no checkpoint at " + checkpoint_path_ +
                      ": the next start begins at source.initial_position (TRIM_HORIZON)\n");
}

TEST_F(CheckpointCommandTest, ShowOfACorruptCheckpointExits3) {
  Corrupt();
  EXPECT_EQ(Run([&] { return CheckpointShowCommand(options_); }), kExitCheckpoint);
  EXPECT_THAT(err_, StartsWith("shardhose: Corruption: "));
}

TEST_F(CheckpointCommandTest, RewindToTrimHorizonForgetsTheShardsCuts) {
  Save(Sample());
  RewindOptions r;
  r.to_trim_horizon = true;
  r.yes = true;
  EXPECT_EQ(Rewind(r), kExitOk) << err_;
  EXPECT_THAT(out_, HasSubstr("shard shardId-1:\n  now:   open, resumes after 250\n"
                              "  after: open, resumes at TRIM_HORIZON\n"));
  EXPECT_THAT(out_, HasSubstr("and 2 journaled batch cut(s) covering this shard are forgotten"));
  EXPECT_THAT(out_, HasSubstr("done\n"));

  Checkpoint want = Sample();
  want.generation = 8;
  want.shards["shardId-1"].sequence.clear();
  want.shards["shardId-1"].caught_up_ms = 0;
  want.pending.erase(want.pending.begin(), want.pending.begin() + 2);
  Checkpoint got = Load();
  got.written_at = want.written_at;  // Save stamps it
  EXPECT_EQ(got, want);
}

TEST_F(CheckpointCommandTest, RewindToASequenceOrTimeReopensAFinishedShard) {
  Save(Sample());
  RewindOptions r;
  r.shard = "shardId-0";
  r.to_sequence = "42";
  r.yes = true;
  ASSERT_EQ(Rewind(r), kExitOk) << err_;
  EXPECT_THAT(out_, HasSubstr("now:   finished, resumes after 100\n  after: open, resumes after 42\n"));
  EXPECT_THAT(out_, HasSubstr("and 1 journaled batch cut(s)"));
  ShardCheckpoint s = Load().shards.at("shardId-0");
  EXPECT_EQ(s.state, ShardCheckpoint::State::kOpen);
  EXPECT_EQ(s.sequence, "42");

  r = RewindOptions{};
  r.to_timestamp = "2024-05-20T10:13:20.5Z";
  r.yes = true;
  ASSERT_EQ(Rewind(r), kExitOk) << err_;
  EXPECT_THAT(out_, HasSubstr("after: open, resumes at 2024-05-20T10:13:20.500Z\n"));
  s = Load().shards.at("shardId-1");
  EXPECT_EQ(s.sequence, "");
  EXPECT_EQ(s.start, ShardCheckpoint::Start::kAtTimestamp);
  EXPECT_EQ(s.start_timestamp_ms, 1716200000500);
  EXPECT_EQ(Load().generation, 9u);
}

TEST_F(CheckpointCommandTest, RewindChangesNothingWithoutConfirmation) {
  Save(Sample());
  const std::string before = Bytes();
  RewindOptions r;
  r.to_trim_horizon = true;  // no --yes, stdin is not a terminal
  EXPECT_EQ(Rewind(r), kExitUsage);
  EXPECT_THAT(out_, HasSubstr("after: open, resumes at TRIM_HORIZON"));  // shown,
  EXPECT_EQ(err_, "not changed: pass --yes to apply\n");
  EXPECT_EQ(Bytes(), before);  // not applied
}

TEST_F(CheckpointCommandTest, RewindRefusesBadRequests) {
  Save(Sample());
  const std::string before = Bytes();
  struct Case {
    RewindOptions r;
    int rc;
    std::string err;
  };
  RewindOptions none, two, bad_seq, bad_time, unknown;
  two.to_trim_horizon = true;
  two.to_sequence = "1";
  bad_seq.to_sequence = "12a";
  bad_time.to_timestamp = "noon";
  unknown.shard = "shardId-9";
  unknown.to_trim_horizon = true;
  for (const Case& c : {Case{none, kExitUsage, "give exactly one of"}, Case{two, kExitUsage, "give exactly one of"},
                        Case{bad_seq, kExitUsage, "--to-sequence '12a' is not a sequence number"},
                        Case{bad_time, kExitUsage, "--to-timestamp: "},
                        Case{unknown, kExitUsage, "shard 'shardId-9' is not in the checkpoint"}}) {
    RewindOptions r = c.r;
    r.yes = true;
    EXPECT_EQ(Rewind(r), c.rc) << c.err;
    EXPECT_THAT(err_, HasSubstr(c.err));
  }
  EXPECT_EQ(Bytes(), before);
}

TEST_F(CheckpointCommandTest, RewindNeedsACheckpointThatDecodesAndIsNotLocked) {
  RewindOptions r;
  r.to_trim_horizon = true;
  r.yes = true;
  EXPECT_EQ(Rewind(r), kExitFailure);
  EXPECT_EQ(err_, "shardhose: no checkpoint at " + checkpoint_path_ + "\n");

  Corrupt();
  EXPECT_EQ(Rewind(r), kExitCheckpoint);
  EXPECT_THAT(err_, HasSubstr("Corruption"));

  Save(Sample());
  const std::string before = Bytes();
  auto held = File().Lock();  // as a running daemon does
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(Rewind(r), kExitLocked);
  EXPECT_THAT(err_, HasSubstr("locked by pid " + std::to_string(::getpid())));
  EXPECT_EQ(Bytes(), before);
}

TEST_F(CheckpointCommandTest, ResetMovesTheFileAsideEvenWhenCorrupt) {
  EXPECT_EQ(Reset(true), kExitOk);
  EXPECT_EQ(out_, "no checkpoint at " + checkpoint_path_ + ": nothing to reset\n");

  Corrupt();
  EXPECT_EQ(Reset(/*yes=*/false), kExitUsage);
  EXPECT_EQ(err_, "not changed: pass --yes to apply\n");
  EXPECT_EQ(StateFiles(), std::vector<std::string>{"checkpoint.json"});

  EXPECT_EQ(Reset(/*yes=*/true), kExitOk) << err_;
  EXPECT_THAT(out_, StartsWith("checkpoint " + checkpoint_path_ + " ("));  // the decode error,
  EXPECT_THAT(out_, HasSubstr("will be moved to " + checkpoint_path_ + ".reset-"));
  EXPECT_THAT(out_, HasSubstr("source.initial_position = TRIM_HORIZON\n"));
  EXPECT_THAT(out_, HasSubstr("done\n"));
  std::vector<std::string> files = StateFiles();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_THAT(files[0], StartsWith("checkpoint.json.reset-"));
  EXPECT_EQ(*FileSystem::Default()->ReadFile(DirName(checkpoint_path_) + "/" + files[0]), "{\"version\":1,");
}

TEST_F(CheckpointCommandTest, ResetRefusesWhileLocked) {
  Save(Sample());
  auto held = File().Lock();
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(Reset(true), kExitLocked);
  EXPECT_THAT(err_, HasSubstr("locked by pid " + std::to_string(::getpid())));
  EXPECT_TRUE(FileSystem::Default()->Exists(checkpoint_path_));
}

}  // namespace
}  // namespace shardhose::daemon
