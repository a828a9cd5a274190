#include "protocol/json_fields.h"

#include <limits>

#include "protocol/frame.h"

namespace condenser {
namespace {

// "a string", "an array", "the number 3.5", "null": what was sent instead.
std::string describe(const nlohmann::json& v) {
  if (v.is_number()) return "the number " + v.dump();
  if (v.is_null()) return "null";
  const std::string type = v.type_name();
  return (type == "array" || type == "object" ? "an " : "a ") + type;
}

}  // namespace

JsonFields::JsonFields(const nlohmann::json& object, std::string where)
    : object_(object), where_(std::move(where)) {
  if (!object_.is_object()) {
    throw ProtocolError(where_ + ": expected a JSON object, not " + describe(object_));
  }
}

const nlohmann::json* JsonFields::find(const char* key, bool required) const {
  const auto it = object_.find(key);
  if (it != object_.end()) return &*it;
  if (required) throw ProtocolError(where_ + ": field '" + key + "' is missing");
  return nullptr;
}

void JsonFields::mistyped(const char* key, const char* expected, const nlohmann::json& value) const {
  throw ProtocolError(where_ + ": field '" + key + "' must be " + expected + ", not " +
                      describe(value));
}

int64_t JsonFields::as_integer(const char* key, const nlohmann::json& v) const {
  // JSON parses non-negative integers as unsigned; above int64 they do not fit.
  const bool fits = v.is_number_integer() &&
                    (!v.is_number_unsigned() ||
                     v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
  if (!fits) mistyped(key, "an integer", v);
  return v.get<int64_t>();
}

int64_t JsonFields::integer(const char* key) const { return as_integer(key, *find(key, true)); }

int64_t JsonFields::integer(const char* key, int64_t absent) const {
  const nlohmann::json* v = find(key, false);
  return v ? as_integer(key, *v) : absent;
}

uint64_t JsonFields::unsigned_integer(const char* key) const {
  const nlohmann::json& v = *find(key, true);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    mistyped(key, "a non-negative integer", v);
  }
  return v.get<uint64_t>();
}

int JsonFields::int32(const char* key) const {
  const nlohmann::json& v = *find(key, true);
  const int64_t i = as_integer(key, v);
  if (i < std::numeric_limits<int>::min() || i > std::numeric_limits<int>::max()) {
    mistyped(key, "a 32-bit integer", v);
  }
  return static_cast<int>(i);
}

double JsonFields::number(const char* key) const {
  const nlohmann::json& v = *find(key, true);
  if (!v.is_number()) mistyped(key, "a number", v);
  return v.get<double>();
}

bool JsonFields::boolean(const char* key) const {
  const nlohmann::json& v = *find(key, true);
  if (!v.is_boolean()) mistyped(key, "true or false", v);
  return v.get<bool>();
}

bool JsonFields::boolean(const char* key, bool absent) const {
  const nlohmann::json* v = find(key, false);
  if (v == nullptr) return absent;
  if (!v->is_boolean()) mistyped(key, "true or false", *v);
  return v->get<bool>();
}

std::string JsonFields::text(const char* key) const {
  const nlohmann::json& v = *find(key, true);
  if (!v.is_string()) mistyped(key, "a string", v);
  return v.get<std::string>();
}

std::string JsonFields::text(const char* key, const std::string& absent) const {
  const nlohmann::json* v = find(key, false);
  if (v && !v->is_string()) mistyped(key, "a string", *v);
  return v ? v->get<std::string>() : absent;
}

std::vector<int64_t> JsonFields::integers(const char* key) const {
  const nlohmann::json& v = *find(key, true);
  if (!v.is_array()) mistyped(key, "an array of integers", v);
  std::vector<int64_t> out;
  out.reserve(v.size());
  for (const nlohmann::json& item : v) {
    if (!item.is_number_integer()) mistyped(key, "an array of integers", item);
    out.push_back(as_integer(key, item));
  }
  return out;
}

const nlohmann::json& JsonFields::object(const char* key) const {
  const nlohmann::json& v = *find(key, true);
  if (!v.is_object()) mistyped(key, "an object", v);
  return v;
}

}  // namespace condenser
