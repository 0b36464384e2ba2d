export default async function () { const r = http.get(`${__ENV.TARGET}/json`);
