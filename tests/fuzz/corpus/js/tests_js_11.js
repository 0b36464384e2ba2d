import { x } from 'https://jslib.k6.io/x.js';
export default function () {}
