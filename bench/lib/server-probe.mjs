// Preloaded (node --import) into the servers the benchmarks start; it only observes them.
// - Reports over the IPC channel the moment a server listens, with its address: the servers
//   can run with warn-level logs (no log line per request) and still have their start timed
//   to the millisecond.
// - Answers { type: 'memory' } with process.memoryUsage() taken right after a full garbage
//   collection (when the process runs with --expose-gc): memory in use, not garbage not yet
//   collected.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  this.once('listening', () => {
    const address = this.address();
    if (process.send && address && typeof address === 'object') process.send({ listening: { host: address.address, port: address.port } });
  });
  return listen.apply(this, args);
};

process.on('message', (message) => {
  if (message?.type !== 'memory') return;
  globalThis.gc?.();
  process.send?.({ memory: { ...process.memoryUsage(), collected: typeof globalThis.gc === 'function' } });
});
// The channel must not keep a server alive that would otherwise exit.
process.channel?.unref();
