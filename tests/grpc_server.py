#!/usr/bin/python3
"""The gRPC server loadkit's tests start on 127.0.0.1 (python3-grpcio).

Debian has neither grpc_tools nor grpc_reflection, so the messages of
tests/grpc_test.proto are built here from a FileDescriptorProto, and the
reflection service (grpc.reflection.v1alpha) is served by hand with generic
handlers. Prints "port N" once listening; runs until killed (or, with
--exit-after S, until S seconds have passed: a test never leaves it behind).
  grpc_server.py [--port N] [--exit-after S] [--no-reflection] [--tls-cert PEM --tls-key PEM]
Tests start it with PR_SET_PDEATHSIG (support.hpp child): it dies with them.
"""
import argparse
import os
import sys
import threading
import time
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool

try:
    from google.protobuf import message_factory

    def message_class(desc):
        if hasattr(message_factory, "GetMessageClass"):
            return message_factory.GetMessageClass(desc)
        return message_factory.MessageFactory(desc.file.pool).GetPrototype(desc)
except ImportError:  # pragma: no cover
    raise

F = descriptor_pb2.FieldDescriptorProto


def field(msg, name, number, ftype, label=F.LABEL_OPTIONAL, type_name=None):
    f = msg.field.add(name=name, number=number, type=ftype, label=label)
    if type_name:
        f.type_name = type_name
    # the JSON name protoc would give (lowerCamelCase)
    parts = name.split("_")
    f.json_name = parts[0] + "".join(p.capitalize() for p in parts[1:])
    return f


def test_file():
    fd = descriptor_pb2.FileDescriptorProto(name="grpc_test.proto", package="loadkit.test", syntax="proto3")
    req = fd.message_type.add(name="Req")
    field(req, "name", 1, F.TYPE_STRING)
    field(req, "count", 2, F.TYPE_INT32)
    field(req, "big_num", 3, F.TYPE_INT64)
    field(req, "sleep_ms", 4, F.TYPE_INT32)
    field(req, "tags", 5, F.TYPE_STRING, F.LABEL_REPEATED)
    rep = fd.message_type.add(name="Reply")
    field(rep, "message", 1, F.TYPE_STRING)
    field(rep, "index", 2, F.TYPE_INT32)
    field(rep, "big_num", 3, F.TYPE_INT64)
    field(rep, "tags", 4, F.TYPE_STRING, F.LABEL_REPEATED)
    field(rep, "echo", 5, F.TYPE_MESSAGE, type_name=".loadkit.test.Req")
    svc = fd.service.add(name="Echo")
    for name, cs, ss in (("Say", False, False), ("List", False, True), ("Chat", True, True), ("Count", True, False)):
        svc.method.add(name=name, input_type=".loadkit.test.Req", output_type=".loadkit.test.Reply",
                       client_streaming=cs, server_streaming=ss)
    return fd


def reflection_file():
    fd = descriptor_pb2.FileDescriptorProto(name="reflection.proto", package="grpc.reflection.v1alpha",
                                            syntax="proto3")
    p = ".grpc.reflection.v1alpha."
    m = fd.message_type.add(name="ServerReflectionRequest")
    field(m, "host", 1, F.TYPE_STRING)
    field(m, "file_by_filename", 3, F.TYPE_STRING)
    field(m, "file_containing_symbol", 4, F.TYPE_STRING)
    field(m, "list_services", 7, F.TYPE_STRING)
    m = fd.message_type.add(name="FileDescriptorResponse")
    field(m, "file_descriptor_proto", 1, F.TYPE_BYTES, F.LABEL_REPEATED)
    m = fd.message_type.add(name="ServiceResponse")
    field(m, "name", 1, F.TYPE_STRING)
    m = fd.message_type.add(name="ListServiceResponse")
    field(m, "service", 1, F.TYPE_MESSAGE, F.LABEL_REPEATED, p + "ServiceResponse")
    m = fd.message_type.add(name="ErrorResponse")
    field(m, "error_code", 1, F.TYPE_INT32)
    field(m, "error_message", 2, F.TYPE_STRING)
    m = fd.message_type.add(name="ServerReflectionResponse")
    field(m, "valid_host", 1, F.TYPE_STRING)
    field(m, "original_request", 2, F.TYPE_MESSAGE, type_name=p + "ServerReflectionRequest")
    field(m, "file_descriptor_response", 4, F.TYPE_MESSAGE, type_name=p + "FileDescriptorResponse")
    field(m, "list_services_response", 6, F.TYPE_MESSAGE, type_name=p + "ListServiceResponse")
    field(m, "error_response", 7, F.TYPE_MESSAGE, type_name=p + "ErrorResponse")
    svc = fd.service.add(name="ServerReflection")
    svc.method.add(name="ServerReflectionInfo", input_type=p + "ServerReflectionRequest",
                   output_type=p + "ServerReflectionResponse", client_streaming=True, server_streaming=True)
    return fd


pool = descriptor_pool.DescriptorPool()
TEST_FILE = test_file()
pool.Add(TEST_FILE)
REFLECTION_FILE = reflection_file()
pool.Add(REFLECTION_FILE)
FILES = {f.package: f for f in (TEST_FILE, REFLECTION_FILE)}
BY_NAME = {f.name: f for f in (TEST_FILE, REFLECTION_FILE)}
Req = message_class(pool.FindMessageTypeByName("loadkit.test.Req"))
Reply = message_class(pool.FindMessageTypeByName("loadkit.test.Reply"))
RRequest = message_class(pool.FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionRequest"))
RResponse = message_class(pool.FindMessageTypeByName("grpc.reflection.v1alpha.ServerReflectionResponse"))


def echo_metadata(context):
    md = dict(context.invocation_metadata())
    initial, trailing = [], []
    if "x-echo" in md:
        initial.append(("x-echo", md["x-echo"]))
        trailing.append(("x-echo-trailer", md["x-echo"]))
    if "x-echo-bin" in md:  # binary metadata: grpcio hands it over decoded (bytes) and encodes it again
        initial.append(("x-echo-bin", md["x-echo-bin"]))
        trailing.append(("x-echo-trailer-bin", md["x-echo-bin"] + b"\xff"))
        # what arrived, readable: the bytes in hex
        trailing.append(("x-echo-hex", md["x-echo-bin"].hex()))
    if initial:
        context.send_initial_metadata(tuple(initial))
    if trailing:
        context.set_trailing_metadata(tuple(trailing))


def say(req, context):
    echo_metadata(context)
    if req.sleep_ms > 0:
        time.sleep(req.sleep_ms / 1000.0)
    if req.name == "notfound":
        context.abort(grpc.StatusCode.NOT_FOUND, "no such name: notfound")
    if req.name == "invalid":
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad name ü")
    if req.name == "exit":
        os._exit(0)  # the server goes away mid-call
    return Reply(message="hello " + req.name, big_num=req.big_num, tags=list(req.tags), echo=req)


def list_(req, context):
    echo_metadata(context)
    for i in range(req.count):
        yield Reply(message=req.name, index=i)
    if req.name == "fail":
        context.abort(grpc.StatusCode.INTERNAL, "failed after the messages")


def chat(requests, context):
    echo_metadata(context)
    for i, req in enumerate(requests):
        if req.name == "notfound":
            context.abort(grpc.StatusCode.NOT_FOUND, "no such name: notfound")
        yield Reply(message="hi " + req.name, index=i)


def count(requests, context):
    n = 0
    for _ in requests:
        n += 1
    return Reply(message="count", index=n)


def reflection(requests, context):
    for r in requests:
        out = RResponse(valid_host=r.host, original_request=r)
        if r.list_services:
            for name in ("loadkit.test.Echo", "grpc.reflection.v1alpha.ServerReflection"):
                out.list_services_response.service.add(name=name)
        elif r.file_containing_symbol:
            f = next((f for p, f in FILES.items() if r.file_containing_symbol.startswith(p + ".")), None)
            if f is not None:
                out.file_descriptor_response.file_descriptor_proto.append(f.SerializeToString())
            else:
                out.error_response.error_code = grpc.StatusCode.NOT_FOUND.value[0]
                out.error_response.error_message = "symbol not found"
        elif r.file_by_filename:
            if r.file_by_filename in BY_NAME:
                out.file_descriptor_response.file_descriptor_proto.append(BY_NAME[r.file_by_filename].SerializeToString())
            else:
                out.error_response.error_code = grpc.StatusCode.NOT_FOUND.value[0]
                out.error_response.error_message = "file not found"
        else:
            out.error_response.error_code = grpc.StatusCode.UNIMPLEMENTED.value[0]
            out.error_response.error_message = "unsupported request"
        yield out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--exit-after", type=float, default=120)
    ap.add_argument("--no-reflection", action="store_true")
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--tls-cert", help="serve TLS (ALPN h2) with this PEM certificate ...")
    ap.add_argument("--tls-key", help="... and this PEM private key")
    a = ap.parse_args()
    ser = lambda m: m.SerializeToString()
    handlers = {
        "Say": grpc.unary_unary_rpc_method_handler(say, request_deserializer=Req.FromString, response_serializer=ser),
        "List": grpc.unary_stream_rpc_method_handler(list_, request_deserializer=Req.FromString,
                                                     response_serializer=ser),
        "Chat": grpc.stream_stream_rpc_method_handler(chat, request_deserializer=Req.FromString,
                                                      response_serializer=ser),
        "Count": grpc.stream_unary_rpc_method_handler(count, request_deserializer=Req.FromString,
                                                      response_serializer=ser),
    }
    generic = [grpc.method_handlers_generic_handler("loadkit.test.Echo", handlers)]
    if not a.no_reflection:
        generic.append(grpc.method_handlers_generic_handler(
            "grpc.reflection.v1alpha.ServerReflection",
            {"ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                reflection, request_deserializer=RRequest.FromString, response_serializer=ser)}))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=a.workers), handlers=generic)
    if a.tls_cert:
        with open(a.tls_cert, "rb") as c, open(a.tls_key, "rb") as k:
            creds = grpc.ssl_server_credentials(((k.read(), c.read()),))
        port = server.add_secure_port("127.0.0.1:%d" % a.port, creds)
    else:
        port = server.add_insecure_port("127.0.0.1:%d" % a.port)
    server.start()
    print("port %d" % port, flush=True)
    time.sleep(a.exit_after)
    os._exit(0)


if __name__ == "__main__":
    main()
