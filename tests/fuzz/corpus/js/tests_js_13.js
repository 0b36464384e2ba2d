export default function () { http.get('/json'); }
