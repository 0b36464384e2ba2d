#pragma once
// The namespace a test file's code lives in (`namespace LOADKIT_TEST_UNIT {`
// after its includes). The test binaries are unity builds (tests/CMakeLists.txt:
// a binary's files compile as one translation unit, so the library's inline code
// is instantiated and generated once per binary instead of once per file), and
// there CMake defines LOADKIT_TEST_UNIT to a name unique to each file: one
// file's helpers (`agg`, `run`, a `Generic` scenario...) never meet another's.
// In a build without unity it is this one name.
#ifndef LOADKIT_TEST_UNIT
#define LOADKIT_TEST_UNIT loadkit_test_unit
#endif
