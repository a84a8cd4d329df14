// RefreshingProvider: caches one source's credentials and refreshes them
// before they expire, on a background thread, so that Get() never waits
// while usable credentials are cached (rules in credentials_chain.h).
//
// State machine (all under mu_):
//   cached_ empty or unusable, no fetch in flight -> the caller fetches
//       synchronously (in_flight_ = true while it does);
//   ... a fetch in flight -> the caller waits for it (generation_ changes)
//       and returns its outcome;
//   cached_ usable, now >= refresh_at_ and >= retry_at_, nothing in flight
//       -> wake the worker thread (in_flight_ = true) and return cached_;
//   cached_ usable otherwise -> return cached_.
// Lock order: mu_ is the only lock; source_.fetch() runs without it.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>
#include <utility>

#include "aws/credentials_internal.h"

namespace shardhose::aws::internal {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

class RefreshingProvider final : public CredentialsProvider {
 public:
  RefreshingProvider(CredentialSource source, Clock* clock)
      : source_(std::move(source)), clock_(clock), rng_(std::random_device{}()) {}

  ~RefreshingProvider() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  Result<Credentials> Get() override {
    std::unique_lock<std::mutex> lock(mu_);
    const WallTime now = clock_->WallNow();
    if (cached_.has_value() && now < usable_until_) {
      if (!in_flight_ && now >= refresh_at_ && now >= retry_at_) StartBackgroundRefresh(now);
      return *cached_;
    }
    if (in_flight_) {
      // Nothing usable to serve: wait for the fetch in progress and share
      // its outcome rather than starting another.
      const uint64_t gen = generation_;
      done_.wait(lock, [&] { return generation_ != gen; });
      if (cached_.has_value() && clock_->WallNow() < usable_until_) return *cached_;
      return Failure(last_error_);
    }
    in_flight_ = true;
    lock.unlock();
    Result<Credentials> fetched = source_.fetch();
    lock.lock();
    Finish(std::move(fetched), /*background=*/false);
    if (cached_.has_value() && last_error_.ok()) return *cached_;
    return Failure(last_error_);
  }

  std::string Describe() override { return source_.name; }

 private:
  // REQUIRES: mu_ held, !in_flight_.
  void StartBackgroundRefresh(WallTime now) {
    in_flight_ = true;
    refresh_wanted_ = true;
    if (!worker_.joinable()) {
      try {
        worker_ = std::thread([this] { WorkerLoop(); });
      } catch (const std::system_error& e) {
        in_flight_ = false;
        refresh_wanted_ = false;
        retry_at_ = now + kRetryAfterFailure;
        spdlog::warn("credentials from {}: cannot start the refresh thread: {}", source_.name, e.what());
        return;
      }
    }
    wake_.notify_one();
  }

  void WorkerLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || refresh_wanted_; });
      if (stop_) return;
      refresh_wanted_ = false;
      lock.unlock();
      Result<Credentials> fetched = source_.fetch();
      lock.lock();
      Finish(std::move(fetched), /*background=*/true);
    }
  }

  // Records the outcome of a fetch. REQUIRES: mu_ held, in_flight_.
  void Finish(Result<Credentials> fetched, bool background) {
    in_flight_ = false;
    ++generation_;
    const WallTime now = clock_->WallNow();
    if (fetched.ok()) {
      cached_ = std::move(fetched).value();
      had_credentials_ = true;
      last_error_ = Status::OK();
      retry_at_ = WallTime::min();
      Schedule(now);
      if (cached_->expiration.has_value() && *cached_->expiration <= now) {
        spdlog::warn("credentials from {} expired {} s ago when they arrived; is the clock right?", source_.name,
                     duration_cast<seconds>(now - *cached_->expiration).count());
      } else if (cached_->expiration.has_value()) {
        spdlog::debug("credentials from {} {}, valid for {} s", source_.name, background ? "refreshed" : "fetched",
                      duration_cast<seconds>(*cached_->expiration - now).count());
      }
    } else {
      last_error_ = fetched.status();
      retry_at_ = now + kRetryAfterFailure;
      if (background && cached_.has_value()) {
        spdlog::warn(
            "refreshing credentials from {} failed ({}); the cached ones stay in use "
            "for {} s more",
            source_.name, last_error_.ToString(), duration_cast<seconds>(usable_until_ - now).count());
      }
    }
    done_.notify_all();
  }

  // Sets refresh_at_ and usable_until_ for the freshly cached credentials.
  void Schedule(WallTime now) {
    if (!cached_->expiration.has_value()) {
      refresh_at_ = WallTime::max();
      usable_until_ = WallTime::max();
      return;
    }
    const WallTime exp = *cached_->expiration;
    using Dur = WallTime::duration;
    std::uniform_int_distribution<int64_t> spread(duration_cast<Dur>(Dur(kRefreshWindowMin)).count(),
                                                  duration_cast<Dur>(Dur(kRefreshWindowMax)).count());
    Dur window(spread(rng_));
    const Dur lifetime = exp - now;
    if (lifetime / 2 < window) window = std::max(Dur::zero(), lifetime / 2);
    refresh_at_ = exp - window;
    usable_until_ = exp - Dur(kExpiryMargin);
    // Credentials that arrive already inside the margin are still served
    // until they actually expire (otherwise every Get() would refetch).
    if (usable_until_ <= now) usable_until_ = exp;
  }

  // The error Get() returns. Once credentials have been served, a failure
  // to renew them is always something to retry later.
  Status Failure(const Status& st) const {
    if (!had_credentials_ || st.IsRetryable()) return st;
    return Status::Unavailable("credentials from " + source_.name + " expired and refreshing failed: " + st.ToString())
        .WithPeer(RetryClass::kServerError, st.peer_code());
  }

  const CredentialSource source_;
  Clock* const clock_;

  std::mutex mu_;
  std::condition_variable wake_;  // worker: refresh_wanted_ or stop_
  std::condition_variable done_;  // waiters: generation_ changed
  std::thread worker_;            // started on the first background refresh

  // State below is protected by mu_.
  std::mt19937_64 rng_;
  std::optional<Credentials> cached_;
  WallTime refresh_at_ = WallTime::max();
  WallTime usable_until_ = WallTime::min();
  WallTime retry_at_ = WallTime::min();
  Status last_error_;
  bool had_credentials_ = false;
  bool in_flight_ = false;
  bool refresh_wanted_ = false;
  bool stop_ = false;
  uint64_t generation_ = 0;
};

}  // namespace

std::unique_ptr<CredentialsProvider> NewRefreshingProvider(CredentialSource source, Clock* clock) {
  return std::make_unique<RefreshingProvider>(std::move(source), clock);
}

}  // namespace shardhose::aws::internal
