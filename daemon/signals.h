// File: daemon/signals.h
//
// Turns SIGTERM/SIGINT into a call on a normal thread. Block the signals in
// every thread (BlockShutdownSignals, before any thread starts), then
// SignalWatcher waits for them with sigwait on its own thread: the first
// one calls `on_stop`; a second one exits the process at once with status
// 130 — safe, because the checkpoint only ever names durable records.
#pragma once

#include <functional>
#include <thread>

namespace shardhose::daemon {

void BlockShutdownSignals();

class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void(int signo)> on_stop);
  ~SignalWatcher();  // stops watching
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  std::thread thread_;
};

}  // namespace shardhose::daemon
