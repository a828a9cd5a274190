#include "worker/shard_upload.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/errors.h"
#include "core/sha256.h"

namespace condenser {

UploadOutcome upload_shard(FrameClient& client, const std::string& path, int64_t lease,
                           const std::function<Frame()>& reply) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw RuntimeFailure("worker: cannot read " + path + ": " + std::strerror(errno));
  const auto size = static_cast<int64_t>(in.tellg());
  UploadOutcome out;
  msg::ShardChunk chunk{lease, 0, size, "", sha256_hex("", 0)};
  for (;;) {
    client.send(chunk);
    out.bytes_sent += static_cast<int64_t>(chunk.data.size());
    const msg::ChunkAck ack = msg::decode<msg::ChunkAck>(reply());
    if (!ack.accepted) {
      out.reason = ack.reason;
      return out;
    }
    if (ack.received < 0 || ack.received > size) {
      throw ProtocolError("chunk_ack: the coordinator holds " + std::to_string(ack.received) +
                          " bytes of a " + std::to_string(size) + "-byte shard");
    }
    if (ack.received == size) {
      out.accepted = true;
      return out;
    }
    chunk.offset = ack.received;
    chunk.data.resize(static_cast<size_t>(std::min(msg::kMaxChunkBytes, size - chunk.offset)));
    in.seekg(chunk.offset);
    if (!in.read(chunk.data.data(), static_cast<std::streamsize>(chunk.data.size()))) {
      throw RuntimeFailure("worker: cannot read " + path + " at byte " +
                           std::to_string(chunk.offset));
    }
    chunk.sha256 = sha256_hex(chunk.data.data(), chunk.data.size());
  }
}

}  // namespace condenser
