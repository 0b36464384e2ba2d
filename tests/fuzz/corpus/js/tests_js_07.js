
export const options = {
  scenarios: {
    readers: { executor: 'per-vu-iterations', vus: 2, iterations: 3, exec: 'read', tags: { team: 'a' } },
    writers: { executor: 'shared-iterations', vus: 1, iterations: 4, exec: 'write', env: { WHAT: 'w' } },
  },
  thresholds: { 'http_reqs{scenario:writers}': ['count==4'], http_req_failed: ['rate<0.01'], 'checks{scenario:writers}': ['rate==1'] },
  summaryTrendStats: ['avg'],
};
export function read() { http.get(`${__ENV.TARGET}/json`); }
export function write() { const r = http.post(`${__ENV.TARGET}/status/500`); check(__ENV.WHAT, { 'scenario env': (v) => v === 'w' }); }
