#pragma once
// A worker without the run directory's file system sends each finished
// shard to the coordinator over its connection (`condenser worker --upload
// DIR`): chunks of at most msg::kMaxChunkBytes, each checked by its SHA-256
// on arrival, the whole file by the TaskDone's SHA-256 at commit. Resumable:
// the first, empty chunk asks how many bytes the coordinator holds (after a
// dropped connection, what arrived before it), and every acknowledgement
// says where to go on. Memory is one chunk on each side. No LibTorch.
#include <cstdint>
#include <functional>
#include <string>

#include "protocol/frame_client.h"

namespace condenser {

struct UploadOutcome {
  bool accepted = false;  // the coordinator holds the whole file
  int64_t bytes_sent = 0;  // chunk bytes sent by this call (less when resumed)
  std::string reason;     // when not accepted: the coordinator's
};

// Sends `path` as the attempt file of `lease`. `reply` returns the
// coordinator's next frame (the caller's receive with its deadline and
// error handling). RuntimeFailure when `path` cannot be read or the
// connection fails; ProtocolError when the coordinator claims more bytes
// than the file has.
UploadOutcome upload_shard(FrameClient& client, const std::string& path, int64_t lease,
                           const std::function<Frame()>& reply);

}  // namespace condenser
