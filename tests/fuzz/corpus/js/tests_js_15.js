export default async function () { http.get(`${__ENV.TARGET}/json2`); }
