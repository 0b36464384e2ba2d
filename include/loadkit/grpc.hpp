#pragma once
// gRPC (include <loadkit/grpc.hpp>, CMake target loadkit::grpc): unary and
// streaming calls on loadkit's HTTP/2 client, messages from .proto files,
// protosets or server reflection (libprotobuf and libprotoc), JSON in and
// out as k6's protojson. Not part of <loadkit.hpp>: it needs protobuf.
#include "loadkit.hpp"
#include "loadkit/http2.hpp"  // the transport
#include "loadkit/grpc/call.hpp"
#include "loadkit/grpc/client.hpp"
#include "loadkit/grpc/descriptors.hpp"
#include "loadkit/grpc/frame.hpp"
#include "loadkit/grpc/reflection.hpp"
#include "loadkit/grpc/status.hpp"
#include "loadkit/grpc/wire.hpp"
