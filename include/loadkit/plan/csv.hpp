#pragma once
// CSV data files for feeders: a flow's `data:` file is parsed once at load time
// into a csv_table, and a feeder shared by every VU of the run hands its rows
// to iterations (`{{ data.COLUMN }}` or a bare `{{ COLUMN }}` in templates).
//
//   auto table = std::make_shared<csv_table>(load_csv("users.csv"));  // or throws: "users.csv:LINE:1: ..."
//   feeder users(table, feed_mode::unique);
//   if (auto* row = users.next()) ... (*row)[table->column("email")]
//
// Parsing follows RFC 4180, with the leniencies real files need:
//  - records end with CRLF, LF or a lone CR; the last one may be unterminated;
//  - a UTF-8 byte order mark (Excel writes one) is skipped;
//  - blank lines are skipped (a trailing empty line is not a ragged row; a
//    record with one empty field is written `""`);
//  - spaces are part of fields, as the RFC says;
//  - a quote inside an unquoted field is kept as text (`5" screen`), as most
//    readers do; after a quoted field's closing quote only ',' or the end of
//    the record may follow, since anything else is almost always a missing "".
// Errors are reported with the 1-based line where they start (for a record
// spanning lines, its first line).
//
// Only the standard library (and core/file.hpp, error.hpp): the loaders and
// the fuzz target include this cheaply.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "../core/config.hpp"
#include "../core/file.hpp"
#include "error.hpp"

namespace loadkit::inline LOADKIT_ABI::yaml {

struct csv_table {
    std::vector<std::string> columns;            // from the header row
    std::vector<std::vector<std::string>> rows;  // each has columns.size() fields

    // The index of the column called `name`, -1 if absent. Linear: data files
    // have few columns, and the loader resolves names once, not per request.
    int column(std::string_view name) const {
        for (std::size_t i = 0; i < columns.size(); ++i)
            if (columns[i] == name) return static_cast<int>(i);
        return -1;
    }
};

namespace detail {

inline std::string plural(std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

// A mistake at `line` of a CSV text (column 1: the record's start).
[[noreturn]] inline void csv_fail(std::string msg, std::size_t line) {
    throw load_error("", static_cast<int>(line), 1, std::move(msg));
}

}  // namespace detail

// Parses `text` (a header row, then data rows). A mistake throws load_error
// (no file) at its line (1-based) and column 1, e.g.
// "unterminated quoted field (the quote on line 3 is never closed)" or
// "row has 3 fields, the header has 2".
inline csv_table parse_csv(std::string_view text) {
    csv_table t;
    bool have_header = false;
    std::size_t pos = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
    const std::size_t n = text.size();
    std::size_t cur = 1;  // the physical line at pos
    std::vector<std::string> fields;
    // Consumes the line break at pos (CRLF, LF or CR), if any.
    auto eat_break = [&] {
        if (pos < n && text[pos] == '\r') {
            ++pos;
            if (pos < n && text[pos] == '\n') ++pos;
            ++cur;
        } else if (pos < n && text[pos] == '\n') {
            ++pos;
            ++cur;
        }
    };
    while (pos < n) {
        if (text[pos] == '\n' || text[pos] == '\r') {  // a blank line
            eat_break();
            continue;
        }
        const std::size_t record_line = cur;
        fields.clear();
        for (;;) {
            std::string field;
            if (pos < n && text[pos] == '"') {
                const std::size_t quote_line = cur;
                ++pos;
                for (;;) {
                    if (pos >= n)
                        detail::csv_fail("unterminated quoted field (the quote on line " + std::to_string(quote_line) +
                                             " is never closed)",
                                         quote_line);
                    char c = text[pos];
                    if (c == '"') {
                        if (pos + 1 < n && text[pos + 1] == '"') {
                            field.push_back('"');
                            pos += 2;
                            continue;
                        }
                        ++pos;
                        break;
                    }
                    // Line breaks inside quotes are data, but still lines for error messages.
                    if (c == '\n' || (c == '\r' && !(pos + 1 < n && text[pos + 1] == '\n'))) ++cur;
                    field.push_back(c);
                    ++pos;
                }
                if (pos < n && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r')
                    detail::csv_fail(std::string("expected ',' or the end of the line after a quoted field's closing "
                                                 "quote, found '") +
                                         text[pos] + "' (a quote inside a quoted field is written \"\")",
                                     cur);
            } else {
                std::size_t b = pos;
                while (pos < n && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r') ++pos;
                field.assign(text.substr(b, pos - b));
            }
            fields.push_back(std::move(field));
            if (pos < n && text[pos] == ',') {
                ++pos;
                continue;
            }
            eat_break();  // the end of the record (or of the text)
            break;
        }
        if (!have_header) {
            for (std::size_t i = 0; i < fields.size(); ++i)
                for (std::size_t j = 0; j < i; ++j)
                    if (fields[i] == fields[j])
                        detail::csv_fail("duplicate column name '" + fields[i] + "' in the header (columns " +
                                             std::to_string(j + 1) + " and " + std::to_string(i + 1) + ")",
                                         record_line);
            t.columns = std::move(fields);
            fields = {};
            have_header = true;
        } else {
            if (fields.size() != t.columns.size())
                detail::csv_fail("row has " + detail::plural(fields.size(), "field", "fields") + ", the header has " +
                                     std::to_string(t.columns.size()),
                                 record_line);
            t.rows.push_back(std::move(fields));
            fields = {};
            fields.reserve(t.columns.size());
        }
    }
    if (!have_header) detail::csv_fail("the file is empty: expected a header row", 1);
    return t;
}

// Reads and parses the file at `path` (a regular file of at most
// loadkit::detail::max_data_file_bytes). A file that cannot be read throws a
// config_error with the reason ("cannot open '...': <reason>"), as
// yaml::load_file does; a mistake inside it, a load_error "PATH:LINE:1: ...".
inline csv_table load_csv(const std::string& path) {
    std::string text, error;
    if (!loadkit::detail::read_input_file(path, loadkit::detail::max_data_file_bytes, text, error))
        throw config_error(error);
    try {
        return parse_csv(text);
    } catch (const load_error& e) {
        throw load_error(path, e.line, e.column, e.message);
    }
}

// How iterations take rows (the three k6 and Artillery users expect).
enum class feed_mode {
    sequential,  // rows in order across all VUs, wrapping around
    random,      // a uniformly random row each time
    unique,      // each row at most once in the whole run, then none
};

// "sequential", "random", "unique" (as written in YAML) to a feed_mode.
inline bool parse_feed_mode(std::string_view s, feed_mode& m) noexcept {
    if (s == "sequential") m = feed_mode::sequential;
    else if (s == "random") m = feed_mode::random;
    else if (s == "unique") m = feed_mode::unique;
    else return false;
    return true;
}
inline const char* to_string(feed_mode m) noexcept {
    switch (m) {
        case feed_mode::sequential: return "sequential";
        case feed_mode::random: return "random";
        case feed_mode::unique: return "unique";
    }
    return "?";
}

namespace detail {

// splitmix64: a generator per thread for feed_mode::random. Tiny state (a
// mt19937_64 is 2.5 KB per thread) and good enough to pick rows.
struct feeder_rng {
    using result_type = std::uint64_t;
    std::uint64_t state;
    static constexpr result_type min() noexcept { return 0; }
    static constexpr result_type max() noexcept { return ~result_type{0}; }
    result_type operator()() noexcept {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
};

inline feeder_rng& thread_feeder_rng() {
    thread_local feeder_rng rng = [] {
        std::uint64_t seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
        seed ^= std::hash<std::thread::id>{}(std::this_thread::get_id()) * 0x9e3779b97f4a7c15ull;
        try {
            std::random_device rd;
            seed ^= (std::uint64_t{rd()} << 32) | rd();
        } catch (...) {  // no entropy source: the clock and thread id still differ per thread
        }
        return feeder_rng{seed};
    }();
    return rng;
}

}  // namespace detail

// Hands rows to iterations. Shared by every VU of a run, on any thread: next()
// is one relaxed atomic operation (random: none, a per-thread generator),
// never a lock.
class feeder {
  public:
    feeder(std::shared_ptr<const csv_table> t, feed_mode m) : table_(std::move(t)), mode_(m) {
        if (!table_) throw std::invalid_argument("loadkit::yaml::feeder: null table");
    }
    feeder(const feeder&) = delete;
    feeder& operator=(const feeder&) = delete;

    // The next row, or nullptr when the table has no rows or, in unique mode,
    // when every row has been handed out. The pointer stays valid as long as
    // the table does.
    const std::vector<std::string>* next() {
        const auto& rows = table_->rows;
        const std::size_t n = rows.size();
        if (n == 0) return nullptr;
        switch (mode_) {
            case feed_mode::sequential: return &rows[next_.fetch_add(1, std::memory_order_relaxed) % n];
            case feed_mode::random: {
                std::uniform_int_distribution<std::size_t> pick(0, n - 1);
                return &rows[pick(detail::thread_feeder_rng())];
            }
            case feed_mode::unique: {
                // The load first keeps the counter from creeping on after the
                // rows are used up (every VU keeps asking), so it never wraps,
                // and spares the cache line a write per call.
                if (next_.load(std::memory_order_relaxed) >= n) return nullptr;
                std::size_t i = next_.fetch_add(1, std::memory_order_relaxed);
                return i < n ? &rows[i] : nullptr;
            }
        }
        return nullptr;
    }

    const csv_table& table() const noexcept { return *table_; }
    feed_mode mode() const noexcept { return mode_; }

  private:
    static_assert(std::atomic<std::size_t>::is_always_lock_free);
    std::shared_ptr<const csv_table> table_;
    feed_mode mode_;
    // Its own cache line: every VU writes it, while table_ is only read.
    alignas(64) std::atomic<std::size_t> next_{0};
};

}  // namespace loadkit::inline LOADKIT_ABI::yaml
