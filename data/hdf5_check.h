#pragma once
// One check macro for HDF5 C calls plus RAII handles, so HDF5 code (the
// soft-label shards and the HDF5 datasets) reads straight and never leaks an
// hid_t on an exception path. Lives in data/ so both data/ and data/shards/
// may include it (docs/architecture.md).
//
//   hid_t f = CONDENSER_H5_CHECK(H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open " + p);
//
// A negative return (herr_t/hid_t/htri_t) throws RuntimeFailure with
//   "HDF5 error: <what>: <API-level message>: <root cause> (file.cpp:123)"
// taken from the HDF5 error stack. Callers that know the failure is the
// user's (e.g. a corrupt shard or data file) catch it and rethrow a UsageError.
#include <hdf5.h>

#include <string>
#include <utility>

#include "core/errors.h"

namespace condenser {
namespace h5 {

// HDF5 prints its whole error stack to stderr by default; turn that off for
// the calling thread (the stack is per thread in thread-safe builds) so the
// user sees only our one line. Cheap after the first call on a thread.
inline void quiet_errors() {
  thread_local bool done = false;
  if (!done) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    done = true;
  }
}

namespace detail {
struct StackText {
  std::string outer;  // the API-level description (first entry walking down)
  std::string inner;  // the root cause (last entry walking down)
};
inline herr_t collect(unsigned /*n*/, const H5E_error2_t* e, void* data) {
  auto* text = static_cast<StackText*>(data);
  std::string desc = (e->desc && *e->desc) ? e->desc : "";
  if (desc.empty()) {  // fall back to the minor error class's message
    char buf[256] = {0};
    if (H5Eget_msg(e->min_num, nullptr, buf, sizeof(buf)) > 0) desc = buf;
  }
  if (desc.empty()) return 0;
  if (text->outer.empty()) text->outer = desc;
  text->inner = desc;
  return 0;
}
}  // namespace detail

// The current thread's HDF5 error stack as "outer: inner" and clears it.
inline std::string error_stack_message() {
  detail::StackText text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, &detail::collect, &text);
  H5Eclear2(H5E_DEFAULT);
  if (text.outer.empty()) return "unknown HDF5 failure";
  if (text.inner == text.outer) return text.outer;
  return text.outer + ": " + text.inner;
}

template <typename T>
T check(T result, const std::string& what, const char* file, int line) {
  if (result < 0) {
    std::string where = file;
    const auto slash = where.find_last_of('/');
    if (slash != std::string::npos) where = where.substr(slash + 1);
    throw RuntimeFailure("HDF5 error: " + what + ": " + error_stack_message() + " (" + where + ":" +
                         std::to_string(line) + ")");
  }
  return result;
}

// Owns one hid_t and closes it with `Close`. Move-only.
template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, -1)) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, -1);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }  // NOLINT: lets handles pass straight to H5 calls
  bool valid() const { return id_ >= 0; }
  // Closes now; errors from the close are ignored (use close() to see them).
  void reset() {
    if (id_ >= 0) Close(id_);
    id_ = -1;
  }
  // Closes now and throws RuntimeFailure if HDF5 reports a failure (a file
  // close can flush buffered data, so the writer must see its error).
  void close(const std::string& what) {
    hid_t id = std::exchange(id_, -1);
    if (id >= 0) check(Close(id), what, __FILE__, __LINE__);
  }

 private:
  hid_t id_ = -1;
};

using File = Handle<H5Fclose>;
using Dataset = Handle<H5Dclose>;
using Dataspace = Handle<H5Sclose>;
using Type = Handle<H5Tclose>;
using Attribute = Handle<H5Aclose>;
using Plist = Handle<H5Pclose>;

// IEEE 754 binary16, little-endian. HDF5 1.10 has no predefined half type;
// this is the same definition h5py uses, so h5py reads it as numpy float16.
inline Type make_ieee_half_type() {
  Type t(check(H5Tcopy(H5T_IEEE_F32LE), "copy float type", __FILE__, __LINE__));
  check(H5Tset_fields(t, 15, 10, 5, 0, 10), "set half fields", __FILE__, __LINE__);
  check(H5Tset_size(t, 2), "set half size", __FILE__, __LINE__);
  check(H5Tset_ebias(t, 15), "set half exponent bias", __FILE__, __LINE__);
  return t;
}

}  // namespace h5
}  // namespace condenser

// Evaluates `expr` (an HDF5 call) and returns its value; throws
// condenser::RuntimeFailure with the HDF5 error stack, `what` and file:line
// if it is negative. `what` is any expression convertible to std::string.
#define CONDENSER_H5_CHECK(expr, what) \
  ::condenser::h5::check((::condenser::h5::quiet_errors(), (expr)), (what), __FILE__, __LINE__)
