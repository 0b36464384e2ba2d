export default function () {
  http.get('/json');
  inner();
}
