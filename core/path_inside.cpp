#include "core/path_inside.h"

#include <sys/stat.h>

#include "core/errors.h"
#include "core/files.h"

namespace condenser {
namespace {

bool is_within(const std::string& real_root, const std::string& real) {
  if (real == real_root) return true;
  const std::string prefix = real_root == "/" ? "/" : real_root + "/";
  return real.compare(0, prefix.size(), prefix) == 0;
}

bool has_dotdot(const std::string& relative) {
  size_t start = 0;
  while (start <= relative.size()) {
    size_t end = relative.find('/', start);
    if (end == std::string::npos) end = relative.size();
    if (relative.compare(start, end - start, "..") == 0 && end - start == 2) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

bool is_single_component(const std::string& name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
}

bool resolves_inside(const std::string& root, const std::string& relative) {
  if (relative.empty() || relative.front() == '/' || has_dotdot(relative) ||
      relative.find('\0') != std::string::npos) {
    return false;
  }
  const std::optional<std::string> real_root = resolved_path(root);
  if (!real_root) return false;
  // The deepest part that exists decides: symlinks can only be there.
  std::string path = root + "/" + relative;
  while (true) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      const std::optional<std::string> real = resolved_path(path);
      if (!real) return false;  // a dangling symlink (or a loop)
      return is_within(*real_root, *real);
    }
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos || path.size() <= root.size()) return false;
    path.resize(slash);
  }
}

std::string path_inside(const std::string& root, const std::string& relative,
                        const std::string& what) {
  if (!resolves_inside(root, relative)) {
    throw UsageError(what + " '" + relative + "' leads outside '" + root +
                     "' (an absolute path, '..' or a symlink pointing out); condenser only "
                     "touches files inside the run directory: fix or remove that entry");
  }
  return root + "/" + relative;
}

}  // namespace condenser
