// As benchmarks/flows/sleeper.js from an async VU: one GET, then a 1 s sleep,
// per iteration, both awaited (no thread blocks). benchmarks/compare_js runs it as
//   loadkit run benchmarks/flows/sleeper_async.js --threads 1 -q -e URL=URL -u V -d 4s --summary-export FILE
import http from 'k6/http';
import { sleep } from 'k6';

export default async function () {
  await http.asyncRequest('GET', __ENV.URL);
  await sleep(1);
}
