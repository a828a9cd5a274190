#pragma once
// An exclusive lock on a file (flock), held while the object lives: a run
// directory's job.lock keeps a second job out for the first one's whole
// life. The descriptor is close-on-exec, so child processes (local workers)
// never inherit the lock and it ends with the process that took it, however
// that process ends. The holder's pid is written into the file so that a
// refused process can name it.
#include <string>

namespace condenser {

class FileLock {
 public:
  FileLock() = default;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  // Opens (creating with mode 0644) and locks `path` without waiting. True
  // when this process now holds it; false when another one does (holder()
  // then says which, 0 if it has not written its pid yet). RuntimeFailure
  // when the file cannot be opened or locked for another reason. Must not
  // already hold a lock.
  bool try_lock(const std::string& path);
  // Unlocks and closes (the file stays: removing it would race with the
  // next taker). A no-op when nothing is held.
  void release();

  bool held() const { return fd_ >= 0; }
  long holder() const { return holder_; }
  // Whether try_lock created the file (it did not exist before).
  bool created_file() const { return created_; }

 private:
  int fd_ = -1;
  long holder_ = 0;
  bool created_ = false;
};

}  // namespace condenser
