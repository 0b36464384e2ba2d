export function setup() { return { n: 10n }; }
export default function () {}
