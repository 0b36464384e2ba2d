// One GET per iteration, nothing else: the k6-style JavaScript twin of
// benchmarks/bench_get.cpp and flows/one_step.yaml, in k6's synchronous style.
// loadkit rewrites it to await (async VUs, many per thread); with
// LOADKIT_JS_SYNC=threads each VU has a thread and JavaScript context of its
// own, blocked in http.get while the engine serves the request.
// benchmarks/compare_js runs it as
//   loadkit run benchmarks/flows/one_step.js --threads 1 -q -e URL=URL -u 1000 -i N --summary-export FILE
// (-u/-i make shared-iterations: N iterations over 1000 VUs, as
// bench_get --vus 1000 --requests N does). On its own:
//   loadkit run benchmarks/flows/one_step.js -e URL=http://127.0.0.1:8080/
import http from 'k6/http';

export default function () {
  http.get(__ENV.URL);
}
