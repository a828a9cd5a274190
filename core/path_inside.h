#pragma once
// Containment of paths read from a run directory's own files (manifest,
// task table, checkpoints, shard order). Such a file may have been edited by
// hand or by an attacker: a name in it must never lead condenser to read,
// move or delete anything outside the directory it belongs to, whether by an
// absolute path, a ".." component or a symlink that points out.
#include <string>

namespace condenser {

// True when `name` is one path component: not empty, no '/', no NUL, and
// not "." or "..". Run names and shard file names must be.
bool is_single_component(const std::string& name);

// True when root + "/" + relative stays inside `root` (which must exist):
// `relative` is not absolute, has no ".." component, and every symlink on
// the way (the deepest existing part, resolved with realpath) ends inside
// realpath(root). A dangling symlink counts as leading out. Components that
// do not exist yet are fine (the path may be about to be created).
bool resolves_inside(const std::string& root, const std::string& relative);

// root + "/" + relative when resolves_inside, else UsageError:
// "<what> 'relative' leads outside 'root'; ..." (`what` names the file the
// path came from, e.g. "manifest 'RUN/manifest.json' entry").
std::string path_inside(const std::string& root, const std::string& relative,
                        const std::string& what);

}  // namespace condenser
