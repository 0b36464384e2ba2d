export default function () {
  http.get('/');
  let x = ;
}
