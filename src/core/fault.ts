// Fault injection for the crash tests: FREEZEFLOW_FAULT=<point>:<n> kills this process with SIGKILL the
// n-th time it reaches <point> (e.g. checkpoint-swap:2, batch:7). Unset, it does nothing.
const spec = process.env['FREEZEFLOW_FAULT'];
const reached = new Map<string, number>();

export function faultPoint(point: string): void {
  if (!spec) return;
  const [name, nth] = spec.split(':');
  if (name !== point) return;
  const n = (reached.get(point) ?? 0) + 1;
  reached.set(point, n);
  if (n === Number(nth)) process.kill(process.pid, 'SIGKILL');
}
