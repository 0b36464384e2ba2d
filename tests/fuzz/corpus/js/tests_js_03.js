
import http from 'k6/http';
import { sleep } from 'k6';
export function login(base) {
  const r = http.post(`${base}/auth/login`);
  return r.json().token;
}
export const pause = () => sleep(0.01);
