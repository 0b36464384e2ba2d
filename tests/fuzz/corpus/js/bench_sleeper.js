// A mostly idle VU: one GET, then a 1 s sleep, per iteration (synchronous
// k6 style: rewritten to await by loadkit, or with LOADKIT_JS_SYNC=threads
// the VU's thread blocks in http.get and in sleep). For the memory a
// sleeping VU costs; benchmarks/compare_js runs it as
//   loadkit run benchmarks/flows/sleeper.js --threads 1 -q -e URL=URL -u V -d 4s --summary-export FILE
// at two VU counts and takes the RSS difference per VU, and with growing V
// for the largest VU count the machine sustains.
import http from 'k6/http';
import { sleep } from 'k6';

export default function () {
  http.get(__ENV.URL);
  sleep(1);
}
