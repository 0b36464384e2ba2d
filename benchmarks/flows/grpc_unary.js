// One unary gRPC call per iteration (benchmarks/compare_grpc): the same
// script for k6 v0.48 and loadkit, against tests/grpc_server.py (over TLS
// when CA names the certificate to trust: compare_grpc --tls).
import grpc from 'k6/net/grpc';

const client = new grpc.Client();
client.load([__ENV.PROTOS], 'grpc_test.proto');
const params = __ENV.CA ? { tls: { cacerts: [open(__ENV.CA)] } } : { plaintext: true };

export default function () {
  if (__ITER === 0) client.connect(__ENV.ADDR, params);
  client.invoke('loadkit.test.Echo/Say', { name: 'bench', bigNum: 7 });
}
