// A mostly idle VU: one GET, then a 1 s sleep, per iteration (synchronous
// k6 style: the VU's thread blocks in http.get and in sleep). For the memory
// a sleeping VU costs; benchmarks/compare_js runs it as
//   loadkit run benchmarks/flows/sleeper.js --threads 1 -q -e URL=URL -u V -d 4s --summary-export FILE
// at V = 100 and 1000 and takes (RSS(1000) - RSS(100)) / 900 per VU, and with
// growing V for the largest VU count the machine sustains.
import http from 'k6/http';
import { sleep } from 'k6';

export default function () {
  http.get(__ENV.URL);
  sleep(1);
}
