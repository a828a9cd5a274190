#pragma once
// Typed reads of one JSON object's fields, for the decoders of messages.h
// and label_spec.h (internal to protocol/). Every message field is read
// through here, so a missing or mistyped field is always the same
// ProtocolError naming the message and the field:
//   task: field 'lease' is missing
//   task: field 'lease' must be an integer, not a string
// An optional field (the overloads taking a default) may be absent, but
// when present it must have its type.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace condenser {

class JsonFields {
 public:
  // `where` names the message in errors ("task", "welcome.spec").
  JsonFields(const nlohmann::json& object, std::string where);

  int64_t integer(const char* key) const;
  int64_t integer(const char* key, int64_t absent) const;
  uint64_t unsigned_integer(const char* key) const;
  int int32(const char* key) const;
  double number(const char* key) const;
  bool boolean(const char* key) const;
  bool boolean(const char* key, bool absent) const;
  std::string text(const char* key) const;
  std::string text(const char* key, const std::string& absent) const;
  std::vector<int64_t> integers(const char* key) const;  // an array of integers
  const nlohmann::json& object(const char* key) const;

 private:
  // The field, or null when absent and optional (ProtocolError when required).
  const nlohmann::json* find(const char* key, bool required) const;
  [[noreturn]] void mistyped(const char* key, const char* expected,
                             const nlohmann::json& value) const;
  int64_t as_integer(const char* key, const nlohmann::json& value) const;

  const nlohmann::json& object_;
  std::string where_;
};

}  // namespace condenser
