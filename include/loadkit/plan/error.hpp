#pragma once
// Where something was written, and the mistake found there: the one error
// convention of the loaders and parsers (YAML flows, a script's options, data
// files, templates). A mistake is thrown as a load_error carrying its
// position, never returned as a bool with out-parameters.
#include <string>
#include <utility>

#include "../core/config.hpp"
#include "../core/errors.hpp"

namespace loadkit::inline LOADKIT_ABI::yaml {

// Where something was written (1-based), for messages; {0, 0} when unknown.
struct position {
    int line = 0, column = 0;
};

// A mistake in a file, with where it is. Thrown before any load starts.
// what() is "FILE:LINE:COL: MESSAGE", or "LINE:COL: MESSAGE" for a text
// that has no file (a template or a CSV text parsed on its own: the caller
// knows where that text was written and reports it there).
struct load_error : config_error {
    load_error(std::string file_, int line_, int column_, std::string what_)
        : config_error((file_.empty() ? std::string() : file_ + ":") + std::to_string(line_) + ":" +
                       std::to_string(column_) + ": " + what_),
          file(std::move(file_)),
          line(line_),
          column(column_),
          message(std::move(what_)) {}
    std::string file;
    int line, column;
    std::string message;
};

}  // namespace loadkit::inline LOADKIT_ABI::yaml
