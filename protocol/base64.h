#pragma once
// Base64 (RFC 4648, standard alphabet, '=' padding) for binary bytes inside
// the protocol's JSON bodies: a shard uploaded over the worker connection
// travels as base64 text in shard_chunk frames. No LibTorch.
#include <string>
#include <string_view>

namespace condenser {

std::string base64_encode(std::string_view bytes);

// ProtocolError (frame.h) naming `where` when `text` is not canonical
// base64: a length that is not a multiple of 4, a character outside the
// alphabet, padding anywhere but the end.
std::string base64_decode(std::string_view text, const std::string& where);

}  // namespace condenser
