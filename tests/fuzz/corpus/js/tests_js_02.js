
export const options = { scenarios: { s: { executor: 'constant-vus', vus: 4, duration: '300ms', gracefulStop: '0s' } } };
export default async function () { await http.asyncRequest('GET', `${__ENV.TARGET}/hang`); }
