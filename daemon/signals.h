// File: daemon/signals.h
//
// Turns SIGTERM/SIGINT/SIGHUP into calls on a normal thread. Block the
// signals in every thread (BlockShutdownSignals, before any thread starts),
// then SignalWatcher waits for them with sigwait on its own thread:
//   SIGTERM, SIGINT - the first one calls `on_stop`; a second one exits the
//                     process at once with status 130 -- safe, because the
//                     checkpoint only ever names durable records.
//   SIGHUP          - calls `on_reload` (daemon/reload.h), every time, also
//                     after a stop signal; never stops nor exits. Without
//                     an `on_reload` it is logged and ignored.
// The callbacks run on the watcher's thread, one at a time.
#pragma once

#include <functional>
#include <thread>

namespace shardhose::daemon {

// Blocks SIGTERM, SIGINT and SIGHUP (and an internal SIGUSR2) in the
// calling thread and the threads it starts; ignores SIGPIPE.
void BlockShutdownSignals();

class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void(int signo)> on_stop, std::function<void()> on_reload = nullptr);
  ~SignalWatcher();  // stops watching
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  std::thread thread_;
};

}  // namespace shardhose::daemon
