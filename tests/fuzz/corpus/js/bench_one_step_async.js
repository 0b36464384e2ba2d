// One GET per iteration, as benchmarks/flows/one_step.js, from an async VU:
// the default function is async and awaits http.asyncRequest, so the VU can
// wait on a promise instead of blocking a thread of its own.
// benchmarks/compare_js runs it as
//   loadkit run benchmarks/flows/one_step_async.js --threads 1 -q -e URL=URL -u 1000 -i N --summary-export FILE
// On its own:
//   loadkit run benchmarks/flows/one_step_async.js -e URL=http://127.0.0.1:8080/
import http from 'k6/http';

export default async function () {
  await http.asyncRequest('GET', __ENV.URL);
}
