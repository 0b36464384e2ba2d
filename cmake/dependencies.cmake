# What loadkit::loadkit needs; the same calls run from loadkitConfig.cmake.
# Boost 1.81 exactly the minor we test with: 1.74 lacks what Asio/Beast need here.
find_package(Boost 1.81 REQUIRED CONFIG)
find_package(OpenSSL 1.1 REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(Threads REQUIRED)
