
export const options = { scenarios: { spin: { executor: 'constant-vus', vus: 2, duration: '300ms', gracefulStop: '0s' } } };
export default function () { http.get(`${__ENV.TARGET}/json`); for (;;) {} }
